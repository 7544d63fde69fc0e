"""Input serializers validate; output serializers render. Names are unique (schema)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.export_format import FORMATS
from audit.forms import ExportForm
from consents.models import (
    Consent,
    ConsentRequest,
    Purpose,
    PurposeVersion,
    Scope,
    Transfer,
)
from consents.receipts import consent_receipt


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


class ConsentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    subject_ref = serializers.SerializerMethodField()
    recipient = serializers.CharField(source="recipient.code")
    holders = serializers.SerializerMethodField()
    purpose = serializers.CharField(source="purpose.code")
    purpose_version = serializers.IntegerField(source="purpose_version.version")
    scopes = serializers.SerializerMethodField()
    granted_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    data_from = serializers.DateField(allow_null=True)
    data_to = serializers.DateField(allow_null=True)
    max_uses_per_day = serializers.IntegerField(allow_null=True)
    retention_days = serializers.IntegerField()
    collection_method = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    status_reason = serializers.CharField()
    receipt = serializers.SerializerMethodField()

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

    def get_receipt(self, consent: Consent) -> str:
        return consent_receipt(consent)


class ConsentPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
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


class ConsentAcknowledgementOutputSerializer(serializers.Serializer):
    consent_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Consent.Status.choices)
    acknowledged_at = serializers.DateTimeField()


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
