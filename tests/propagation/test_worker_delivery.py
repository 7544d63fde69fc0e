"""Notices through real Celery workers, a Redis of the test's own and a receiver.

Nothing is lost when the worker is killed with SIGKILL in the middle of a batch
or when Redis stops and comes back empty: PostgreSQL holds every delivery, the
relay hands out again what a dead worker or broker dropped, and repeats carry
the same webhook-id.
"""

import json
import time
from unittest import mock

import pytest

from cmp.client.webhooks import verify_webhook
from consents import services
from consents.webhooks.models import Delivery
from tests.factories import (
    TESTER,
    OrganizationFactory,
    make_consent,
    make_subject,
    ref,
    send_data,
)
from tests.processes import OwnRedis, own_redis, wait_until
from tests.propagation.conftest import subscribe
from tests.receiver import running_receiver
from tests.workers import celery_worker, requires_worker, use_broker, worker_env

pytestmark = [requires_worker, pytest.mark.slow]

FAST = {
    "CMP_WEBHOOK_RELAY_INTERVAL_SECONDS": "0.3",
    "CMP_WEBHOOK_LEASE_SECONDS": "3",
    "CMP_SEAL_INTERVAL_SECONDS": "5",
}


def _revoked(receiver) -> list:
    return [
        r
        for r in receiver.requests()
        if json.loads(r.body)["type"] == "consent.revoked"
    ]


def _all_delivered(count: int) -> bool:
    delivered = Delivery.objects.filter(
        event_type="consent.revoked", status="delivered"
    ).count()
    return delivered >= count


def test_a_revoke_reaches_every_party_with_a_signature_each_verifies(
    committed_catalog,
):
    recipient = OrganizationFactory(code="moneylog")
    bank, card = (
        OrganizationFactory(code="hanbit-bank"),
        OrganizationFactory(code="byeol-card"),
    )
    subject = make_subject()
    with running_receiver() as receiver, own_redis() as broker, use_broker(broker.url):
        secrets = {
            org.code: subscribe(org, receiver.url(f"/ok/{org.code}"))[1]
            for org in (recipient, bank, card)
        }
        consent = make_consent(
            subject=subject, recipient=recipient, holders=[bank, card]
        )
        send_data(card, recipient, subject)
        with celery_worker(worker_env(broker.url, **FAST)) as worker:
            services.revoke_consent(consent_id=consent.id, actor=TESTER, reason="bye")
            arrived = receiver.wait_for(lambda r: len(_revoked(r)) >= 3, timeout=30)
            assert worker.poll() is None, "the worker died"
        assert arrived, receiver.requests()

    for received in _revoked(receiver):
        code = received.path.rsplit("/", 1)[-1]
        payload = verify_webhook(received.headers, received.body, secrets[code])
        assert payload["data"]["organization"] == code
        assert payload["data"]["subject_ref"] == ref(
            {"moneylog": recipient, "hanbit-bank": bank, "byeol-card": card}[code],
            subject,
        )
    assert {r.path for r in _revoked(receiver)} == {
        "/ok/moneylog",
        "/ok/hanbit-bank",
        "/ok/byeol-card",
    }


def test_a_crash_right_after_commit_still_delivers(committed_catalog):
    """The commit's nudge never leaves (the process died): the relay finds the row."""
    recipient = OrganizationFactory(code="moneylog")
    consent = make_consent(subject=make_subject(), recipient=recipient)
    with running_receiver() as receiver, own_redis() as broker, use_broker(broker.url):
        subscribe(recipient, receiver.url("/ok"), event_types=["consent.revoked"])
        with mock.patch("consents.webhooks.outbox.nudge_relay") as nudge:
            services.revoke_consent(consent_id=consent.id, actor=TESTER)
        assert nudge.called
        with celery_worker(worker_env(broker.url, **FAST)):
            assert receiver.wait_for(lambda r: len(_revoked(r)) == 1, timeout=30)


def test_nothing_is_lost_when_the_worker_is_killed_and_redis_restarts_empty(
    committed_catalog,
):
    recipient = OrganizationFactory(code="moneylog")
    subject_consents = [
        make_consent(subject=make_subject(), recipient=recipient) for _ in range(24)
    ]
    batches = [subject_consents[:12], subject_consents[12:18], subject_consents[18:]]
    broker = OwnRedis()
    broker.start()
    try:
        with running_receiver() as receiver, use_broker(broker.url):
            receiver.hang_seconds = 0.15  # slow enough to be killed mid-batch
            _, secret = subscribe(
                recipient, receiver.url("/hang"), event_types=["consent.revoked"]
            )
            env = worker_env(broker.url, **FAST)
            with celery_worker(env) as first:
                for consent in batches[0]:
                    services.revoke_consent(consent_id=consent.id, actor=TESTER)
                assert receiver.wait_for(lambda r: len(r.requests()) >= 2, timeout=30)
                first.kill()  # SIGKILL, in the middle of the batch
                first.wait(timeout=10)
            for consent in batches[1]:  # nobody consumes: they wait in Redis
                services.revoke_consent(consent_id=consent.id, actor=TESTER)

            broker.stop()  # Redis gone: revocations still answer, at once
            for consent in batches[2]:
                started = time.monotonic()
                services.revoke_consent(consent_id=consent.id, actor=TESTER)
                assert time.monotonic() - started < 3
            broker.start()  # back on the same port, empty

            with celery_worker(env) as second:
                done = wait_until(lambda: _all_delivered(24), timeout=90, interval=0.25)
                assert second.poll() is None, "the worker died"
            assert done, list(Delivery.objects.values_list("status", "last_error"))

        received = receiver.requests("/hang")
        expected = {
            d.webhook_id for d in Delivery.objects.filter(event_type="consent.revoked")
        }
        assert {r.headers["webhook-id"] for r in received} == expected
        for request in received:  # repeats are byte-identical, and all authentic
            payload = verify_webhook(request.headers, request.body, secret)
            assert (
                f"msg_{request.headers['webhook-id'][4:]}"
                == request.headers["webhook-id"]
            )
            assert payload["type"] == "consent.revoked"
    finally:
        broker.stop()
