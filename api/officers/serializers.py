"""The audit API's queries and answers, for compliance officers."""

from rest_framework import serializers

from api.serializers import StrictInputSerializer
from audit.export_format import FORMATS
from audit.forms import InvalidQuery, parse_export_query


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
        try:
            export_format, filters = parse_export_query(attrs)
        except InvalidQuery as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return {"format": export_format, "filters": filters}


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


class OrganizationStatusOutputSerializer(serializers.Serializer):
    """An organization's status after a suspension or a reactivation, and the
    job that pauses or resumes its consents in the background."""

    code = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "suspended"])
    mass_change_id = serializers.UUIDField(allow_null=True)
    consents_to_change = serializers.IntegerField()
