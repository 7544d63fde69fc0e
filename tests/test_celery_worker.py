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

from audit.models import AuditEvent
from consents.models import Consent
from consents.tasks import expire_due_consents_task
from tests.conftest import requires_postgres
from tests.factories import OrganizationFactory, make_consent, make_subject
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
def test_worker_expires_due_consents_through_the_broker(committed_catalog):
    consent = make_consent(
        subject=make_subject(),
        recipient=OrganizationFactory(code="moneylog"),
        expires_at=timezone.now() + timedelta(seconds=1),
    )
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
    finally:
        stop_process(worker)
