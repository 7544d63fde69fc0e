"""Serializers every audience shares. Input serializers validate, output serializers
render; names are unique across the API, since they name the OpenAPI schema's
components."""

from rest_framework import serializers

from consents.models import Consent, Scope
from consents.receipts import consent_receipt


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField turns a number into its digits, where the
    schema says string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, so nothing is silently ignored or assigned,
    and a number or a list where the schema says string."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field"] for name in unknown}
                )
            not_text = {
                name: [field.error_messages["invalid"]]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField)
                and data.get(name) is not None
                and not isinstance(data[name], str)
            }
            if not_text:
                raise serializers.ValidationError(not_text)
        return super().to_internal_value(data)


def codes_field(
    max_length: int = 100, *, allow_empty: bool = False, **kw
) -> serializers.ListField:
    """A list of codes; `min_length` says in the schema what `allow_empty` does."""
    return serializers.ListField(
        child=StrictCharField(max_length=max_length),
        allow_empty=allow_empty,
        min_length=None if allow_empty else 1,
        max_length=100,
        **kw,
    )


class ReasonInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="")


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


class CursorPageOutputSerializer(serializers.Serializer):
    """A page of a cursor-paginated list; subclasses say what `results` holds."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class ScopeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scope
        fields = ["code", "name_ko", "name_en", "sensitive"]
