"""Check events buffered in a process reach the staging table, and none is lost
while the process lives: written within the interval, retried after a failed
write, written at a graceful exit, refused (503) rather than dropped when the
buffer is full. PostgreSQL, real commits, a real gunicorn."""

import signal
import subprocess
import sys
import threading
import uuid

import pytest
import requests
from django.db import connection, connections

from audit import staging
from audit.actors import Actor
from audit.models import PendingEvent
from audit.services import _content
from audit.staging import AuditBacklogError, CheckEventBuffer
from tests.api.conftest import OrgClient
from tests.conftest import requires_postgres
from tests.factories import make_consent, make_subject
from tests.processes import free_port, http_answers, stop_process_group, wait_until
from tests.workers import ROOT, worker_env

pytestmark = requires_postgres


def _events(count: int) -> list[dict]:
    return [
        _content(
            action="consent.checked",
            actor=Actor("organization", "moneylog"),
            subject="p",
            recipient="moneylog",
            purpose="spending-analysis",
            consent_id=uuid.uuid4(),
            payload={"allowed": True, "scopes": ["bank.deposit"]},
        )
        for _ in range(count)
    ]


def _staged(events: list[dict]) -> list[uuid.UUID]:
    ids = [event["event_id"] for event in events]
    return list(PendingEvent.objects.filter(event_id__in=ids).values_list("event_id"))


def test_buffered_events_are_staged_within_the_interval(committed_db):
    buffer = CheckEventBuffer(interval=0.05, max_pending=1000)
    events = _events(120)
    try:
        for event in events:
            buffer.add(event)
        assert wait_until(lambda: len(_staged(events)) == 120, timeout=5)
        assert buffer.pending() == 0
    finally:
        buffer.close()


def test_a_failed_write_is_retried_and_nothing_is_lost_or_doubled(committed_db):
    """The buffer's connection is killed mid-write; the events come through."""
    buffer = CheckEventBuffer(interval=0.01, max_pending=1000)
    first, second = _events(10), _events(15)
    locker = connections.create_connection("default")
    try:
        for event in first:
            buffer.add(event)
        assert wait_until(lambda: len(_staged(first)) == 10, timeout=5)
        # Hold the table so the next write waits, then end that write's backend.
        with locker.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE audit_pendingevent IN ACCESS EXCLUSIVE MODE")
            for event in second:
                buffer.add(event)
            blocked: list[int] = []

            def find_blocked() -> bool:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'COPY audit_pendingevent%%'"
                )
                blocked[:] = [row[0] for row in cursor.fetchall()]
                return bool(blocked)

            assert wait_until(find_blocked, timeout=5)
            cursor.execute("SELECT pg_terminate_backend(%s)", [blocked[0]])
            cursor.execute("COMMIT")
        assert wait_until(lambda: len(_staged(second)) == 15, timeout=10)
        assert buffer.pending() == 0
        assert len(_staged(first)) == 10
    finally:
        locker.close()
        buffer.close()


def test_a_full_buffer_refuses_instead_of_dropping(committed_db):
    buffer = CheckEventBuffer(interval=60, max_pending=3)
    events = _events(4)
    try:
        for event in events[:3]:
            buffer.add(event)
        with pytest.raises(AuditBacklogError):
            buffer.add(events[3])
        assert buffer.flush(timeout=5)
        assert len(_staged(events)) == 3
    finally:
        buffer.close()


def test_flush_waits_for_what_was_added_from_other_threads(committed_db):
    buffer = CheckEventBuffer(interval=60, max_pending=1000)
    events = _events(40)
    try:
        threads = [
            threading.Thread(target=lambda chunk=chunk: [buffer.add(e) for e in chunk])
            for chunk in (events[:20], events[20:])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert buffer.flush(timeout=5)
        assert len(_staged(events)) == 40
    finally:
        buffer.close()


@pytest.fixture
def gunicorn_server(committed_catalog):
    """One sync gunicorn worker whose buffer would wait ten minutes to write."""
    port = free_port()
    env = worker_env("memory://", CMP_AUDIT_CHECK_FLUSH_MS="600000")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        "--graceful-timeout=20",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: http_answers(f"{base}/healthz"), timeout=30), (
            "gunicorn did not start"
        )
        yield process, base
    finally:
        stop_process_group(process)


def test_a_graceful_exit_writes_every_buffered_check(gunicorn_server):
    process, base = gunicorn_server
    shop = OrgClient("moneylog", "머니로그")
    subject = make_subject()
    make_consent(
        subject=subject,
        recipient=shop.organization,
        scopes=["bank.deposit"],
        reference="c-1",
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {shop.token()}"
    body = {"subject_ref": "c-1", "purpose": "spending-analysis"}

    def checks(count: int) -> list[uuid.UUID]:
        answers = [
            session.post(
                f"{base}/api/v1/checks/", json={**body, "scopes": ["bank.deposit"]}
            ).json()
            for _ in range(count)
        ]
        assert all(answer["allowed"] for answer in answers)
        return [uuid.UUID(answer["decision_id"]) for answer in answers]

    first = checks(25)
    assert not PendingEvent.objects.filter(event_id__in=first).exists()
    # A transfer finds its decision although the buffer had not written it yet.
    transfer = session.post(
        f"{base}/api/v1/transfers/",
        json={
            "decision_id": str(first[0]),
            "scopes": ["bank.deposit"],
            "record_count": 1,
            "direction": "received",
        },
    )
    assert transfer.status_code == 201, transfer.text
    assert PendingEvent.objects.filter(event_id__in=first).count() == 25
    second = checks(25)
    assert not PendingEvent.objects.filter(event_id__in=second).exists()

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    staged = set(
        PendingEvent.objects.filter(event_id__in=first + second).values_list(
            "event_id", flat=True
        )
    )
    assert staged == set(first + second)
    connection.close()


@pytest.fixture
def process_buffer(settings):
    """This process's own buffer, as in production, with room for one event."""
    settings.CMP_AUDIT_CHECK_FLUSH_MS = 60_000
    settings.CMP_AUDIT_CHECK_MAX_PENDING = 1
    yield
    buffer, staging._buffer = staging._buffer, None
    if buffer is not None:
        buffer.close()


def test_checks_answer_503_while_the_buffer_is_full(committed_catalog, process_buffer):
    shop = OrgClient("moneylog", "머니로그")
    api = shop.api("consents:check")
    body = {"subject_ref": "c-1", "purpose": "spending-analysis", "scopes": ["bank"]}
    assert api.post("/api/v1/checks/", body, format="json").status_code == 200
    refused = api.post("/api/v1/checks/", body, format="json")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert refused["Retry-After"] == "1"
    assert staging.flush_check_events(timeout=5)
    assert PendingEvent.objects.filter(action="consent.checked").count() == 1
