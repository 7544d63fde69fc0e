"""Webhook endpoints, delivery history and acknowledgements over the API."""

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.models import Delivery, WebhookEndpoint
from tests.api.conftest import post_ok, record_consent
from tests.receiver import running_receiver

pytestmark = pytest.mark.django_db


def test_an_endpoint_gets_its_secret_once_and_lists_without_it(moneylog):
    api = moneylog.api()
    created = post_ok(
        api,
        "/api/v1/webhook-endpoints/",
        {"url": "https://moneylog.example/hooks", "event_types": ["consent.revoked"]},
    )
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["consent.revoked"]

    listed = api.get("/api/v1/webhook-endpoints/").json()
    shown = api.get(f"/api/v1/webhook-endpoints/{created['id']}/").json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0] and "secret" not in shown
    assert created["secret"] not in str(listed) + str(shown)


def test_a_deleted_endpoint_is_gone_and_gets_no_more_notices(moneylog):
    api = moneylog.api()
    created = post_ok(api, "/api/v1/webhook-endpoints/", {"url": "https://a.example/h"})
    path = f"/api/v1/webhook-endpoints/{created['id']}/"

    gone = api.delete(path)

    assert gone.status_code == 204 and not gone.content
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.get("/api/v1/webhook-endpoints/").json() == []
    kept = WebhookEndpoint.objects.get(pk=created["id"])
    assert kept.status == "disabled" and kept.deleted_at is not None
    assert AuditEvent.objects.filter(action="webhook_endpoint.deleted").count() == 1


@override_settings(CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://127.0.0.1/hooks"}, "url"),
        ({"url": "https://10.0.0.8/hooks"}, "url"),
        ({"url": "not a url"}, "url"),
        (
            {"url": "https://a.example/h", "event_types": ["consent.eaten"]},
            "event_types",
        ),
        ({"url": "https://a.example/h", "secret": "mine"}, "secret"),
    ],
)
def test_bad_endpoints_are_refused_with_the_field_named(moneylog, body, field):
    response = moneylog.api().post("/api/v1/webhook-endpoints/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_delivery_history_shows_each_attempt(moneylog):
    api = moneylog.api()
    with running_receiver() as receiver:
        post_ok(api, "/api/v1/webhook-endpoints/", {"url": receiver.url("/fail")})
        consent = record_consent(api)
        delivery = Delivery.objects.get(consent_id=consent["id"])
        attempt_delivery(delivery.id)

    [shown] = api.get(f"/api/v1/consents/{consent['id']}/deliveries/").json()

    assert shown["webhook_id"] == delivery.webhook_id
    assert shown["event_type"] == "consent.granted"
    assert shown["status"] == "pending"
    [attempt] = shown["attempt_log"]
    assert attempt["status_code"] == 500
    assert attempt["latency_ms"] >= 0
    replay = api.post(f"/api/v1/deliveries/{delivery.id}/replay/")
    assert replay.status_code == 409  # only failed deliveries are replayed


def test_acknowledging_an_ended_consent_records_the_time_once(moneylog):
    api = moneylog.api()
    consent = record_consent(api)
    path = f"/api/v1/consents/{consent['id']}/acknowledge/"

    live = api.post(path, {"action": "stopped"}, format="json")
    assert live.status_code == 409
    assert live.json()["error"]["code"] == "consent_live"

    api.post(f"/api/v1/consents/{consent['id']}/revoke/", {}, format="json")
    first = api.post(path, {"action": "stopped"}, format="json")
    again = api.post(path, {"action": "stopped"}, format="json")
    erased = api.post(path, {"action": "erased"}, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["seconds_after_end"] >= 0
    assert erased.status_code == 201
    bad = api.post(path, {"action": "ignored"}, format="json")
    assert bad.status_code == 400
