"""A real Celery worker process, on Redis and PostgreSQL, runs the expiry task."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent, PendingEvent
from audit.tasks import seal_pending_events_task
from consents.models import Consent
from consents.services import check_consent
from consents.tasks import expire_due_consents_task
from tests.conftest import requires_postgres
from tests.factories import OrganizationFactory, make_consent, make_subject, ref
from tests.processes import stop_process

ROOT = Path(__file__).resolve().parent.parent
requires_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (required under CI=true)"
)


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    return env


@requires_postgres
@requires_redis
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
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cmp",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=_worker_env(),
    )
    try:
        time.sleep(1.2)
        expire_due_consents_task.apply_async(queue=queue)
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

        seal_pending_events_task.apply_async(queue=queue)
        for _ in range(240):
            if not PendingEvent.objects.exists() or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert AuditEvent.objects.filter(event_id=decision.decision_id).exists()
    finally:
        stop_process(worker)
