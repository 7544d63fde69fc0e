"""Delivery attempts against a real HTTP receiver on loopback."""

import itertools
import json
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.signing import jwks
from cmp.client.webhooks import verify_webhook
from consents import services
from consents.errors import ValidationError
from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.models import Delivery, WebhookEndpoint
from consents.webhooks.relay import claim_due_deliveries
from tests.factories import TESTER
from tests.propagation.conftest import subscribe

pytestmark = pytest.mark.usefixtures("catalog")


def _until_done(delivery: Delivery, *, limit: int = 20) -> list[float]:
    """Attempt each time it is due, until it leaves pending; attempt times."""
    times = []
    deadline = time.monotonic() + 20
    for _ in range(limit * 50):
        delivery.refresh_from_db()
        if delivery.status != "pending" or time.monotonic() > deadline:
            break
        if delivery.next_attempt_at <= timezone.now():
            times.append(time.monotonic())
            attempt_delivery(delivery.id)
        else:
            time.sleep(0.02)
    delivery.refresh_from_db()
    return times


def test_a_2xx_delivers_a_notice_the_receiver_can_verify(receiver, recipient, revoke):
    _, secret = subscribe(recipient, receiver.url("/ok"))
    delivery = revoke()

    assert attempt_delivery(delivery.id) == "delivered"

    [received] = receiver.requests("/ok")
    payload = verify_webhook(received.headers, received.body, secret)
    assert payload["type"] == "consent.revoked"
    assert payload["data"]["consent_id"] == str(delivery.consent_id)
    assert received.headers["webhook-id"] == delivery.webhook_id
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 204


def test_a_delivered_notice_is_never_sent_again(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/ok"))
    delivery = revoke()
    attempt_delivery(delivery.id)

    assert attempt_delivery(delivery.id) is None  # a duplicate task
    assert len(receiver.requests("/ok")) == 1


def test_a_500_is_retried_on_the_schedule_then_fails(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/fail"))
    delivery = revoke()

    times = _until_done(delivery)

    assert delivery.status == "failed"
    assert delivery.attempts == 3  # the schedule in the test settings: 0, 0.2, 0.4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4
    ids = {r.headers["webhook-id"] for r in receiver.requests("/fail")}
    assert ids == {delivery.webhook_id}  # one id on every retry
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 500, 500]


def test_a_failed_delivery_can_be_replayed_with_the_same_id(
    receiver, recipient, revoke
):
    endpoint, _ = subscribe(recipient, receiver.url("/fail"))
    delivery = revoke()
    _until_done(delivery)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url("/ok"))

    services.replay_delivery(
        delivery_id=delivery.id, actor=TESTER, organization=recipient
    )
    assert attempt_delivery(delivery.id) == "delivered"
    assert receiver.requests("/ok")[0].headers["webhook-id"] == delivery.webhook_id


def test_a_410_disables_the_endpoint_and_cancels_what_waits(
    receiver, recipient, revoke
):
    endpoint, _ = subscribe(recipient, receiver.url("/gone"))
    first, second = revoke(), revoke()

    assert attempt_delivery(first.id) == "cancelled"

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert not Delivery.objects.filter(endpoint=endpoint, status="pending").exists()


def test_a_429_waits_as_long_as_retry_after_says(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/busy"))
    delivery = revoke()
    before = timezone.now()

    attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert delivery.status == "pending"
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 7 <= wait < 9  # Retry-After: 7


def test_a_receiver_that_hangs_is_cut_at_the_timeout(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/hang"))
    delivery = revoke()
    started = time.monotonic()

    attempt_delivery(delivery.id)

    assert time.monotonic() - started < 3  # timeout 1 s in the test settings
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.last_error == "timed out"
    assert delivery.attempt_log.get().status_code is None


def test_a_delivery_whose_task_keeps_dying_gives_up(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/ok"))
    delivery = revoke()
    Delivery.objects.filter(pk=delivery.pk).update(dispatches=20)

    assert attempt_delivery(delivery.id) is None

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "kept dying" in delivery.last_error
    assert receiver.requests() == []


def test_a_task_in_flight_is_not_doubled_and_the_relay_waits_for_its_lease(
    receiver, recipient, revoke
):
    subscribe(recipient, receiver.url("/ok"))
    delivery = revoke()
    now = timezone.now()

    assert delivery.id in claim_due_deliveries(now=now, limit=10)
    assert claim_due_deliveries(now=now, limit=10) == []  # leased
    later = now + timedelta(seconds=dispatch_lease() + 1)
    assert delivery.id in claim_due_deliveries(now=later, limit=10)  # lease over

    assert attempt_delivery(delivery.id) == "delivered"
    # A second task for the same delivery (the relay's, or a redelivered one).
    assert attempt_delivery(delivery.id) is None
    assert len(receiver.requests("/ok")) == 1


def dispatch_lease() -> float:
    from django.conf import settings

    return settings.CMP_WEBHOOK_DISPATCH_LEASE_SECONDS


def test_v1a_signatures_verify_against_the_jwks(receiver, recipient, revoke):
    subscribe(recipient, receiver.url("/ok"), sign_ed25519=True)
    attempt_delivery(revoke().id)

    [received] = receiver.requests("/ok")
    assert "v1a," in received.headers["webhook-signature"]
    assert verify_webhook(received.headers, received.body, jwks=jwks())


@override_settings(
    CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False, CMP_WEBHOOK_REQUIRE_HTTPS=True
)
@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://192.168.0.10/x",
        "https://user:pw@8.8.8.8/x",
    ],
)
def test_insecure_or_private_urls_are_refused(recipient, url):
    with pytest.raises(ValidationError) as refused:
        subscribe(recipient, url)
    assert "url" in refused.value.fields


@override_settings(CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
def test_an_endpoint_now_resolving_to_a_private_address_is_not_called(
    receiver, recipient, revoke
):
    endpoint, _ = subscribe(recipient, "https://8.8.8.8/hooks")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url("/ok"))
    delivery = revoke()

    attempt_delivery(delivery.id)

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused")
    assert receiver.requests() == []
    assert json.loads(delivery.body)["type"] == "consent.revoked"
