"""Input serializers validate; output serializers render. Names are unique (schema)."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.export_format import FORMATS
from audit.forms import ExportForm
from consents.decisions import ConsentDecision
from consents.models import (
    Acknowledgement,
    Consent,
    ConsentRequest,
    Purpose,
    PurposeVersion,
    Scope,
    Transfer,
)
from consents.receipts import consent_receipt
from consents.webhooks.models import EVENT_TYPES


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, so nothing is silently ignored or assigned."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field"] for name in unknown}
                )
        return super().to_internal_value(data)


def _codes(
    max_length: int = 100, *, allow_empty: bool = False, **kw
) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=max_length),
        allow_empty=allow_empty,
        max_length=100,
        **kw,
    )


class ConsentTermsInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    purpose = serializers.CharField(max_length=100)
    scopes = _codes()
    holders = _codes(32, allow_empty=True, required=False, default=list)
    duration_days = serializers.IntegerField(
        min_value=1, max_value=36500, required=False
    )
    data_from = serializers.DateField(required=False)
    data_to = serializers.DateField(required=False)
    max_uses_per_day = serializers.IntegerField(
        min_value=1, max_value=10000, required=False
    )


class ConsentCreateInputSerializer(ConsentTermsInputSerializer):
    subject_identifier = serializers.CharField(max_length=254, required=False)
    expires_at = serializers.DateTimeField(required=False)
    evidence = serializers.DictField(allow_empty=False)

    def validate(self, attrs):
        if "expires_at" in attrs and "duration_days" in attrs:
            raise serializers.ValidationError(
                {"expires_at": ["give expires_at or duration_days, not both"]}
            )
        return attrs


class ConsentRequestCreateInputSerializer(ConsentTermsInputSerializer):
    redirect_uri = serializers.URLField(max_length=2000)
    state = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )

    def validate_redirect_uri(self, value: str) -> str:
        if not value.startswith("https://") and not value.startswith(
            "http://localhost"
        ):
            raise serializers.ValidationError("must be https")
        return value


class ReasonInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="")


class SubjectReferenceInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    subject_identifier = serializers.CharField(max_length=254)


class CheckInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    purpose = serializers.CharField(max_length=100)
    scopes = _codes()
    counterparty = serializers.CharField(max_length=32, required=False)
    data_from = serializers.DateField(required=False)
    data_to = serializers.DateField(required=False)


def _plain(value: Any, max_length: int) -> bool:
    """A string any CharField here takes unchanged: printable ASCII, trimmed."""
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    )


_CHECK_FIELDS = frozenset(CheckInputSerializer().fields)


def plain_check_input(data: Any) -> dict[str, Any] | None:
    """What CheckInputSerializer returns for the common body (plain codes, no
    dates), taken as it is; None for any other body."""
    if type(data) is dict and data.keys() <= _CHECK_FIELDS:
        scopes = data.get("scopes")
        if (
            _plain(data.get("subject_ref"), 128)
            and _plain(data.get("purpose"), 100)
            and type(scopes) is list
            and 0 < len(scopes) <= 100
            and all(_plain(code, 100) for code in scopes)
            and ("counterparty" not in data or _plain(data["counterparty"], 32))
            and "data_from" not in data
            and "data_to" not in data
        ):
            return dict(data)
    return None


def valid_check_input(data: Any) -> dict[str, Any]:
    """What CheckInputSerializer returns, without it for the common body; any
    other body, and every error, goes through the serializer itself."""
    plain = plain_check_input(data)
    return plain if plain is not None else CheckInputSerializer().run_validation(data)


class TransferInputSerializer(StrictInputSerializer):
    decision_id = serializers.UUIDField(required=False)
    transfer_token = serializers.CharField(max_length=4000, required=False)
    scopes = _codes()
    record_count = serializers.IntegerField(min_value=0, max_value=10**9)
    direction = serializers.ChoiceField(choices=Transfer.Direction.choices)
    counterparty = serializers.CharField(max_length=32, required=False)
    data_from = serializers.DateField(required=False)
    data_to = serializers.DateField(required=False)

    def validate(self, attrs):
        if ("decision_id" in attrs) == ("transfer_token" in attrs):
            raise serializers.ValidationError(
                {"decision_id": ["give decision_id or transfer_token (one of them)"]}
            )
        return attrs


class ConsentListQuerySerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128, required=False)
    status = serializers.ChoiceField(choices=Consent.Status.choices, required=False)
    purpose = serializers.CharField(max_length=100, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)


class AuditExportQuerySerializer(StrictInputSerializer):
    format = serializers.ChoiceField(choices=FORMATS, default="jsonl")
    since = serializers.CharField(max_length=40, required=False)
    until = serializers.CharField(max_length=40, required=False)
    subject = serializers.CharField(max_length=64, required=False)
    recipient = serializers.CharField(max_length=32, required=False)
    purpose = serializers.CharField(max_length=100, required=False)
    action = serializers.CharField(max_length=64, required=False)

    def validate(self, attrs):
        """Dates and filters are read as the officers' pages read them."""
        form = ExportForm(attrs)
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: [str(e) for e in errors] for name, errors in form.errors.items()}
            )
        return {"format": form.cleaned_data["format"], "filters": form.filters()}


# --- Output ----------------------------------------------------------------------


class ConsentTermsOutputSerializer(serializers.Serializer):
    """What every reader of a consent sees; subclasses add who and what it names."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    granted_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    data_from = serializers.DateField(allow_null=True)
    data_to = serializers.DateField(allow_null=True)
    max_uses_per_day = serializers.IntegerField(allow_null=True)
    retention_days = serializers.IntegerField()
    collection_method = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    receipt = serializers.SerializerMethodField()

    def get_receipt(self, consent: Consent) -> str:
        return consent_receipt(consent)


class ConsentOutputSerializer(ConsentTermsOutputSerializer):
    subject_ref = serializers.SerializerMethodField()
    recipient = serializers.CharField(source="recipient.code")
    holders = serializers.SerializerMethodField()
    purpose = serializers.CharField(source="purpose.code")
    purpose_version = serializers.IntegerField(source="purpose_version.version")
    scopes = serializers.SerializerMethodField()
    status_reason = serializers.CharField()

    def get_subject_ref(self, consent: Consent) -> str | None:
        """The caller's own reference for the person, never another party's."""
        organization = self.context["organization"]
        for reference in consent.subject.references.all():
            if reference.organization_id == organization.pk:
                return reference.reference
        return None

    def get_holders(self, consent: Consent) -> list[str]:
        return sorted(h.code for h in consent.holders.all())

    def get_scopes(self, consent: Consent) -> list[str]:
        return sorted(s.code for s in consent.scopes.all())


class CursorPageOutputSerializer(serializers.Serializer):
    """A page of a cursor-paginated list; subclasses say what `results` holds."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class ConsentPageOutputSerializer(CursorPageOutputSerializer):
    results = ConsentOutputSerializer(many=True)


class ConsentRequestOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    subject_ref = serializers.CharField(source="subject_reference")
    purpose = serializers.CharField(source="purpose_version.purpose.code")
    scopes = serializers.ListField(source="scope_codes", child=serializers.CharField())
    holders = serializers.ListField(
        source="holder_codes", child=serializers.CharField()
    )
    duration_days = serializers.IntegerField()
    redirect_uri = serializers.URLField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    consent_id = serializers.UUIDField(allow_null=True)
    approve_url = serializers.SerializerMethodField()

    def get_approve_url(self, request_: ConsentRequest) -> str:
        http_request = self.context["request"]
        return http_request.build_absolute_uri(f"/consent-requests/{request_.id}/")


class CheckOutputSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    consent_id = serializers.UUIDField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    missing_scopes = serializers.ListField(child=serializers.CharField())
    decision_id = serializers.UUIDField()
    transfer_token = serializers.CharField(allow_null=True)


def check_answer(decision: ConsentDecision, transfer_token: str | None) -> dict:
    """CheckOutputSerializer's rendering of a decision, written out for the hot
    path (a test holds the two equal)."""
    expires_at = decision.expires_at
    if expires_at is not None:
        expires_at = timezone.localtime(expires_at).isoformat()
        if expires_at.endswith("+00:00"):
            expires_at = expires_at[:-6] + "Z"
    return {
        "allowed": decision.allowed,
        "reason": decision.reason.value if decision.reason else None,
        "consent_id": str(decision.consent_id) if decision.consent_id else None,
        "expires_at": expires_at,
        "missing_scopes": list(decision.missing_scopes),
        "decision_id": str(decision.decision_id),
        "transfer_token": transfer_token,
    }


class TransferOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    consent_id = serializers.UUIDField()
    decision_id = serializers.UUIDField()
    direction = serializers.CharField()
    holder = serializers.CharField(source="holder.code", allow_null=True, default=None)
    recipient = serializers.CharField(source="recipient.code")
    scopes = serializers.ListField(source="scope_codes", child=serializers.CharField())
    record_count = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()


class SubjectReferenceOutputSerializer(serializers.Serializer):
    subject_ref = serializers.CharField(source="reference")
    created_at = serializers.DateTimeField()


class PurposeVersionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PurposeVersion
        fields = [
            "version",
            "legal_basis",
            "max_duration_days",
            "retention_days",
            "notice_ko",
            "notice_en",
            "published_at",
        ]


class PurposeOutputSerializer(serializers.ModelSerializer):
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Purpose
        fields = ["code", "name_ko", "name_en", "current_version"]

    @extend_schema_field(PurposeVersionOutputSerializer)
    def get_current_version(self, purpose: Purpose) -> dict:
        """The newest version: the terms a new consent is granted under."""
        return PurposeVersionOutputSerializer(purpose.current_versions[0]).data


class ScopeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scope
        fields = ["code", "name_ko", "name_en", "sensitive"]


class WebhookEndpointInputSerializer(StrictInputSerializer):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        allow_empty=False,
        required=False,
        help_text="Event types to receive; all of them when omitted.",
    )
    sign_ed25519 = serializers.BooleanField(
        default=False,
        help_text="Also sign with the platform's Ed25519 key (v1a), see the JWKS.",
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    sign_ed25519 = serializers.BooleanField()
    status = serializers.CharField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedOutputSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_…). Shown only in this answer."
    )


class DeliveryAttemptOutputSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    error = serializers.CharField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    webhook_id = serializers.CharField()
    endpoint = serializers.UUIDField(source="endpoint_id")
    event_type = serializers.CharField()
    consent_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    attempt_log = DeliveryAttemptOutputSerializer(many=True)


class AcknowledgementInputSerializer(StrictInputSerializer):
    action = serializers.ChoiceField(choices=Acknowledgement.Action.choices)


class AcknowledgementOutputSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    organization = serializers.CharField(source="organization.code")
    action = serializers.CharField()
    acknowledged_at = serializers.DateTimeField()
    seconds_after_end = serializers.FloatField()


# --- The person's API (/api/v1/me/) ------------------------------------------------


class PersonConsentListQuerySerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=Consent.Status.choices, required=False)
    recipient = serializers.CharField(max_length=32, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)


class PersonActivityQuerySerializer(StrictInputSerializer):
    recipient = serializers.CharField(max_length=32, required=False)
    before = serializers.IntegerField(min_value=1, required=False)


class OrganizationOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class PurposeNameOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_ko = serializers.CharField()
    name_en = serializers.CharField()


class PurposeTermsOutputSerializer(serializers.Serializer):
    """The purpose version the person agreed to, with its notice text."""

    code = serializers.CharField(source="purpose.code")
    name_ko = serializers.CharField(source="purpose.name_ko")
    name_en = serializers.CharField(source="purpose.name_en")
    version = serializers.IntegerField()
    notice_ko = serializers.CharField()
    notice_en = serializers.CharField()
    legal_basis = serializers.CharField()


class PersonConsentOutputSerializer(ConsentTermsOutputSerializer):
    recipient = OrganizationOutputSerializer()
    holders = OrganizationOutputSerializer(many=True)
    purpose = PurposeTermsOutputSerializer(source="purpose_version")
    scopes = ScopeOutputSerializer(many=True)


class PersonConsentPageOutputSerializer(CursorPageOutputSerializer):
    results = PersonConsentOutputSerializer(many=True)


class PersonActivityOutputSerializer(serializers.Serializer):
    """A check (`consent.checked`) or a transfer (`transfer.recorded`)."""

    event_id = serializers.UUIDField()
    action = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    by = OrganizationOutputSerializer(source="actor", allow_null=True)
    recipient = OrganizationOutputSerializer(allow_null=True)
    holder = OrganizationOutputSerializer(allow_null=True)
    purpose = PurposeNameOutputSerializer(allow_null=True)
    scopes = ScopeOutputSerializer(many=True)
    consent_id = serializers.UUIDField(allow_null=True)
    allowed = serializers.BooleanField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    record_count = serializers.IntegerField(allow_null=True)
    sequence = serializers.IntegerField(
        allow_null=True, help_text="Position in the audit chain; null until sealed."
    )


class PersonActivityPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = PersonActivityOutputSerializer(many=True)


class AuditVerificationOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="the chain and every checkpoint hold")
    checked = serializers.IntegerField(help_text="events verified")
    head_sequence = serializers.IntegerField(help_text="the last good event")
    head_hash = serializers.CharField()
    first_bad_sequence = serializers.IntegerField(
        allow_null=True, help_text="where the chain breaks; null if intact"
    )
    problem = serializers.CharField(
        allow_blank=True, help_text="what is wrong there, in words"
    )
    checkpoints_checked = serializers.IntegerField()
    covered_sequence = serializers.IntegerField(
        help_text="events up to here are bound by a signed checkpoint"
    )
    verified_at = serializers.DateTimeField(
        required=False, help_text="when the recorded verification ran"
    )


class AuditCheckpointOutputSerializer(serializers.Serializer):
    origin = serializers.CharField()
    size = serializers.IntegerField()
    head_hash = serializers.CharField()
    signed_at = serializers.DateTimeField()
    key_id = serializers.CharField()
    jws = serializers.CharField(help_text="compact JWS; verify with the JWKS")
