"""One delivery attempt: claim, POST with Standard Webhooks headers, record.

Safe to run twice for the same delivery: the claim moves `next_attempt_at` past
the attempt's lease, so a duplicate task (a redelivered message, a second relay)
finds nothing due and returns; a finished delivery is never sent again. The same
`webhook-id` goes with every attempt, so a receiver that got a notice whose
answer was lost can recognise the repeat.
"""

import base64
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.signing import signing_keys
from cmp_common.wire.webhooks import sign_v1, signed_content
from consents import pii
from consents.errors import ValidationError
from consents.webhooks.addresses import vet_webhook_url
from consents.webhooks.http import PostFailed, post_to
from consents.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

USER_AGENT = "cmp-webhooks/1"
GONE = "the endpoint answered 410 Gone"


@dataclass(frozen=True)
class Answer:
    """What one POST came back with: a status code, or an error and no code."""

    status_code: int | None
    latency_ms: int
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    wrapped = pii.WrappedKey(endpoint.secret_key_id, bytes(endpoint.secret_enc))
    return pii.unwrap_secret(endpoint.id, wrapped)


def signature_header(delivery: Delivery, timestamp: int) -> str:
    """`v1` with the endpoint's secret, and `v1a` (Ed25519) when it asked."""
    body = delivery.body.encode()
    endpoint = delivery.endpoint
    signatures = [
        sign_v1(endpoint_secret(endpoint), delivery.webhook_id, timestamp, body)
    ]
    if endpoint.sign_ed25519:
        key = signing_keys()[0].private
        content = signed_content(delivery.webhook_id, timestamp, body)
        signatures.append("v1a," + base64.b64encode(key.sign(content)).decode())
    return " ".join(signatures)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the schedule
    return max(0.0, min(seconds, settings.CMP_WEBHOOK_MAX_RETRY_AFTER_SECONDS))


def post(delivery: Delivery) -> Answer:
    """POST the notice once; never raises for what the network or receiver does."""
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(delivery, timestamp),
    }
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = vet_webhook_url(delivery.endpoint.url)
        reply = post_to(
            target,
            delivery.body.encode(),
            headers,
            connect_timeout=min(3.0, settings.CMP_WEBHOOK_TIMEOUT_SECONDS),
            read_timeout=settings.CMP_WEBHOOK_TIMEOUT_SECONDS,
        )
    except ValidationError as exc:
        return Answer(None, elapsed(), f"refused: {exc.message}")
    except PostFailed as exc:
        return Answer(None, elapsed(), str(exc)[:500])
    ok = 200 <= reply.status < 300
    return Answer(
        reply.status,
        elapsed(),
        "" if ok else f"HTTP {reply.status}",
        _retry_after(reply.retry_after),
    )


def _claim(delivery_id: UUID, now: datetime) -> Delivery | None:
    """The delivery, if it is due and nobody else is attempting it."""
    with transaction.atomic():
        # Lock the delivery's row alone: locking the joined endpoint too would make
        # every other claim for the same endpoint skip its own, unlocked delivery.
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(
                pk=delivery_id,
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if delivery is None:
            return None
        delivery.dispatches += 1
        if delivery.dispatches > settings.CMP_WEBHOOK_MAX_DISPATCHES:
            delivery.status = Delivery.Status.FAILED
            delivery.last_error = "gave up: its task kept dying with the worker"
            delivery.leased_until = None
            delivery.save()
            return None
        if delivery.endpoint.status != WebhookEndpoint.Status.ACTIVE:
            delivery.status = Delivery.Status.CANCELLED
            delivery.last_error = "the endpoint is disabled"
            delivery.leased_until = None
            delivery.save()
            return None
        # In flight: a duplicate task finds it not due until the lease runs out,
        # and the relay hands it out again then if this worker dies mid-attempt.
        lease = timedelta(seconds=settings.CMP_WEBHOOK_LEASE_SECONDS)
        delivery.next_attempt_at = now + lease
        delivery.leased_until = now + lease
        delivery.save(update_fields=["dispatches", "next_attempt_at", "leased_until"])
    return delivery


def next_delay(attempts: int, answer: Answer) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None: no more."""
    schedule = settings.CMP_WEBHOOK_RETRY_SCHEDULE
    if attempts >= len(schedule):
        return None
    if answer.status_code == 429 and answer.retry_after is not None:
        return answer.retry_after
    delay = schedule[attempts]
    return delay + random.uniform(0, delay / 10)


def disable_endpoint(endpoint: WebhookEndpoint, *, reason: str, now: datetime) -> None:
    """Stop calling an endpoint and cancel what still waits for it."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        status=WebhookEndpoint.Status.DISABLED, disabled_reason=reason, disabled_at=now
    )
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.CANCELLED, last_error=reason, leased_until=None
    )


def _record(delivery: Delivery, answer: Answer, *, attempted_at: datetime) -> None:
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            error=answer.error,
        )
        delivery.attempts += 1
        delivery.last_status_code = answer.status_code
        delivery.last_error = answer.error
        delivery.leased_until = None
        if answer.ok:
            delivery.status = Delivery.Status.DELIVERED
            delivery.delivered_at = now
        elif answer.status_code == 410:
            delivery.status = Delivery.Status.CANCELLED
        else:
            delay = next_delay(delivery.attempts, answer)
            if delay is None:
                delivery.status = Delivery.Status.FAILED
            else:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
        # Only the claimed, still pending row: never overwrite a finished one.
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            leased_until=None,
            status=delivery.status,
            delivered_at=delivery.delivered_at,
            next_attempt_at=delivery.next_attempt_at,
        )
        if answer.status_code == 410:
            disable_endpoint(delivery.endpoint, reason=GONE, now=now)


def attempt_delivery(delivery_id: UUID) -> str | None:
    """Make the delivery's next attempt if it is due; its status afterwards."""
    attempted_at = timezone.now()
    delivery = _claim(delivery_id, attempted_at)
    if delivery is None:
        return None
    answer = post(delivery)
    _record(delivery, answer, attempted_at=attempted_at)
    return delivery.status
