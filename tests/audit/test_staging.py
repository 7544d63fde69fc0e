"""A check's event is durable in PostgreSQL before its answer leaves: committed
(without waiting for the disk) by the answering process, so killing that process
with SIGKILL right after its answers loses none of them. PostgreSQL, real
commits, a real gunicorn."""

import os
import signal
import uuid

import pytest
import requests
from django.db import connection, transaction

from audit.actors import Actor
from audit.models import PendingEvent
from audit.services import stage_event
from tests.api.conftest import OrgClient
from tests.conftest import requires_postgres, run_in_threads
from tests.factories import make_consent, make_subject
from tests.processes import stop_process_group
from tests.workers import start_gunicorn, worker_env

pytestmark = requires_postgres
CHECKER = Actor("organization", "moneylog")


def _stage() -> uuid.UUID:
    return stage_event(
        action="consent.checked",
        actor=CHECKER,
        subject="p",
        recipient="moneylog",
        purpose="spending-analysis",
        payload={"allowed": True, "scopes": ["bank.deposit"]},
    )


def _seen_from_another_connection(event_id: uuid.UUID) -> bool:
    seen: list[bool] = []
    run_in_threads(
        lambda: seen.append(PendingEvent.objects.filter(event_id=event_id).exists())
    )
    return seen == [True]


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_staged_event_is_committed_when_staging_returns(committed_db):
    event_id = _stage()
    assert _seen_from_another_connection(event_id)
    # Only that commit skipped the wait for the disk: the session's later writes
    # (a revocation, say) still wait for it.
    assert _synchronous_commit() == "on"


def test_inside_a_transaction_the_event_is_one_more_row_of_it(committed_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        event_id = _stage()
        assert _synchronous_commit() == "on"  # the enclosing commit decides
        raise RuntimeError("roll back")
    assert not PendingEvent.objects.filter(event_id=event_id).exists()


@pytest.fixture
def gunicorn_server(committed_catalog):
    """Two sync gunicorn workers, killed with SIGKILL by the test."""
    process, base = start_gunicorn(worker_env("memory://"))
    try:
        yield process, base
    finally:
        stop_process_group(process)


def test_no_answered_check_is_lost_when_the_web_server_is_killed(gunicorn_server):
    process, base = gunicorn_server
    shop = OrgClient("moneylog", "머니로그")
    make_consent(
        subject=make_subject(),
        recipient=shop.organization,
        scopes=["bank.deposit"],
        reference="c-1",
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {shop.token()}"
    body = {"subject_ref": "c-1", "purpose": "spending-analysis"}
    answered = []
    for _ in range(60):
        answer = session.post(
            f"{base}/api/v1/checks/", json={**body, "scopes": ["bank.deposit"]}
        ).json()
        assert answer["allowed"], answer
        answered.append(uuid.UUID(answer["decision_id"]))

    # At once, with no chance to write anything more: master and workers alike.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    staged = set(
        PendingEvent.objects.filter(event_id__in=answered).values_list(
            "event_id", flat=True
        )
    )
    assert staged == set(answered)
