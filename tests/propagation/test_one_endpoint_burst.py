"""One large recipient, one endpoint, a burst of revocations: the normal case of a
MyData service, and the one where deliveries used to skip each other.

Two real worker processes (one with 8 threads and beat, one solo) deliver 300
notices to one endpoint. Each arrives exactly once per webhook-id, signed, and
the slowest of them arrives within a second of its revocation's commit.
"""

import statistics
import threading
import time

import pytest
from django.db import connection, transaction

from cmp.client.webhooks import verify_webhook
from consents import services
from consents.models import WebhookEndpoint
from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.models import Delivery
from tests.conftest import requires_postgres
from tests.factories import TESTER, OrganizationFactory, make_consent, make_subject
from tests.processes import own_redis
from tests.propagation.conftest import subscribe
from tests.receiver import running_receiver
from tests.workers import celery_worker, requires_worker, use_broker, worker_env

BURST = 300


def _p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(0.99 * len(values)))]


@requires_postgres
def test_a_claim_is_not_skipped_while_another_holds_the_endpoint(committed_catalog):
    """Another transaction locking the endpoint's row (a sibling delivery's claim,
    an operator disabling the endpoint) does not hide this delivery."""
    recipient = OrganizationFactory(code="moneylog")
    with running_receiver() as receiver:
        endpoint, _ = subscribe(recipient, receiver.url("/ok"))
        consent = make_consent(subject=make_subject(), recipient=recipient)
        services.revoke_consent(consent_id=consent.id, actor=TESTER)
        delivery = Delivery.objects.get(consent=consent, event_type="consent.revoked")
        locked, release = threading.Event(), threading.Event()

        def hold_the_endpoint() -> None:
            try:
                with transaction.atomic():
                    WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
                    locked.set()
                    release.wait(timeout=30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_endpoint)
        holder.start()
        try:
            assert locked.wait(timeout=30)
            assert attempt_delivery(delivery.id) == "delivered"
        finally:
            release.set()
            holder.join(timeout=30)
        assert len(receiver.requests("/ok")) == 1


@requires_worker
@pytest.mark.slow
def test_a_burst_to_one_endpoint_arrives_once_each_within_a_second(
    committed_catalog,
):
    recipient = OrganizationFactory(code="moneylog")
    consents = [
        make_consent(subject=make_subject(), recipient=recipient) for _ in range(BURST)
    ]
    with running_receiver() as receiver, own_redis() as broker, use_broker(broker.url):
        _, secret = subscribe(
            recipient, receiver.url("/ok"), event_types=["consent.revoked"]
        )
        env = worker_env(broker.url, CMP_WEBHOOK_RELAY_INTERVAL_SECONDS="1")
        with (
            celery_worker(env, threads=8, name="threads") as first,
            celery_worker(env, beat=False, name="solo") as second,
        ):
            time.sleep(3)  # both workers are consuming
            committed = {}
            for consent in consents:
                services.revoke_consent(consent_id=consent.id, actor=TESTER)
                committed[str(consent.id)] = time.time()
            arrived = receiver.wait_for(
                lambda r: len({q.headers["webhook-id"] for q in r.requests()}) >= BURST,
                timeout=60,
            )
            assert first.poll() is None and second.poll() is None
        received = receiver.requests()

    assert arrived, f"{len(received)} of {BURST} arrived"
    ids = [r.headers["webhook-id"] for r in received]
    assert len(ids) == len(set(ids)) == BURST  # once each
    latencies = [
        r.at
        - committed[verify_webhook(r.headers, r.body, secret)["data"]["consent_id"]]
        for r in received
    ]
    assert _p99(latencies) < 1.0, (
        f"p50 {statistics.median(latencies):.3f} s, p99 {_p99(latencies):.3f} s"
    )
    assert Delivery.objects.filter(status="delivered").count() == BURST
