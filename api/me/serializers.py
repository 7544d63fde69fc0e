"""What apps acting for one person send and get back under `/me/`."""

from rest_framework import serializers

from api.serializers import (
    ConsentTermsOutputSerializer,
    CursorPageOutputSerializer,
    ScopeOutputSerializer,
    StrictInputSerializer,
)
from consents.models import (
    Consent,
)


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
