"""A real Celery worker process, on Redis and PostgreSQL, runs the expiry task."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, PendingEvent
from audit.tasks import seal_pending_events_task
from consents.models import Consent
from consents.services import check_consent
from consents.tasks import expire_due_consents_task
from tests.factories import OrganizationFactory, make_consent, make_subject, ref
from tests.processes import own_redis
from tests.workers import celery_worker, requires_worker, use_broker, worker_env


@requires_worker
@pytest.mark.slow
def test_worker_expires_and_seals_through_the_broker(committed_catalog):
    recipient = OrganizationFactory(code="moneylog")
    subject = make_subject()
    consent = make_consent(
        subject=subject,
        recipient=recipient,
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    decision = check_consent(
        caller=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    assert decision.allowed
    with (
        own_redis() as broker,
        use_broker(broker.url),
        celery_worker(worker_env(broker.url), beat=False) as worker,
    ):
        time.sleep(1.2)
        expire_due_consents_task.apply_async()
        deadline = time.monotonic() + 60
        status = None
        for _ in range(240):
            status = Consent.objects.get(pk=consent.pk).status
            if status == "expired" or time.monotonic() > deadline:
                break
            assert worker.poll() is None, "the worker died"
            time.sleep(0.25)
        assert status == "expired"
        event = AuditEvent.objects.get(action="consent.expired", consent_id=consent.id)
        assert event.actor == "system:cmp"

        seal_pending_events_task.apply_async()
        for _ in range(240):
            if not PendingEvent.objects.exists() or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert AuditEvent.objects.filter(event_id=decision.decision_id).exists()
