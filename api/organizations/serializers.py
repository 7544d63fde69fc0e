"""Organizations' requests and answers: consents, requests, references, transfers,
the catalog, webhook endpoints, deliveries and acknowledgements."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import (
    ConsentTermsOutputSerializer,
    CursorPageOutputSerializer,
    StrictInputSerializer,
    codes_field,
)
from consents.models import (
    Acknowledgement,
    Consent,
    ConsentRequest,
    Purpose,
    PurposeVersion,
    Transfer,
)
from consents.webhooks.models import EVENT_TYPES


class ConsentTermsInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    purpose = serializers.CharField(max_length=100)
    scopes = codes_field()
    holders = codes_field(32, allow_empty=True, required=False, default=list)
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


class SubjectReferenceInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    subject_identifier = serializers.CharField(max_length=254)


class TransferInputSerializer(StrictInputSerializer):
    decision_id = serializers.UUIDField(required=False)
    transfer_token = serializers.CharField(max_length=4000, required=False)
    scopes = codes_field()
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
        # Prefetched by selectors.current_catalog (to_attr).
        return PurposeVersionOutputSerializer(purpose.current_versions[0]).data  # type: ignore[attr-defined]


class WebhookEndpointInputSerializer(StrictInputSerializer):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        allow_empty=False,
        min_length=1,
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
