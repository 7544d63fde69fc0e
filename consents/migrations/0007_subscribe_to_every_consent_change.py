"""Endpoints that subscribed to every event type then also get the new ones:
a consent paused, resumed or superseded. An endpoint that chose some types keeps
its choice."""

from django.db import migrations

EARLIER = {
    "consent.granted",
    "consent.revoked",
    "consent.expired",
    "consent_request.approved",
    "consent_request.denied",
}
ADDED = ["consent.paused", "consent.resumed", "consent.superseded"]


def subscribe_to_new_types(apps, schema_editor):
    WebhookEndpoint = apps.get_model("consents", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.all().only("id", "event_types"):
        if EARLIER <= set(endpoint.event_types):
            endpoint.event_types = sorted({*endpoint.event_types, *ADDED})
            endpoint.save(update_fields=["event_types"])


def unsubscribe(apps, schema_editor):
    WebhookEndpoint = apps.get_model("consents", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.all().only("id", "event_types"):
        kept = [name for name in endpoint.event_types if name not in ADDED]
        if kept != endpoint.event_types:
            endpoint.event_types = kept
            endpoint.save(update_fields=["event_types"])


class Migration(migrations.Migration):
    dependencies = [("consents", "0006_covering_lookups_for_checks")]

    operations = [migrations.RunPython(subscribe_to_new_types, unsubscribe)]
