from django.db import migrations


def fill(apps, schema_editor):
    Consent = apps.get_model("consents", "Consent")
    ConsentScope = apps.get_model("consents", "ConsentScope")
    ConsentHolder = apps.get_model("consents", "ConsentHolder")
    for consent in Consent.objects.filter(scope_codes=[]).iterator(chunk_size=1000):
        scopes = ConsentScope.objects.filter(consent_id=consent.pk)
        holders = ConsentHolder.objects.filter(consent_id=consent.pk)
        # The historical model has a plain manager, so update() is allowed here.
        Consent.objects.filter(pk=consent.pk).update(
            scope_codes=sorted(scopes.values_list("scope__code", flat=True)),
            holder_codes=sorted(holders.values_list("organization__code", flat=True)),
        )


class Migration(migrations.Migration):
    """Copy each consent's scopes and holders into its frozen code lists."""

    dependencies = [("consents", "0002_consent_frozen_codes")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
