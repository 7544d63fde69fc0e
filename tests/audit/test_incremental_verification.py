"""The hourly verification walks only what was appended since the checkpoint up
to which the last successful verification verified the chain; a full walk stays
available and still sees what an incremental one, by design, does not."""

import pytest
from django.db import connection, transaction

from audit.actors import SYSTEM
from audit.checkpoints import create_checkpoint
from audit.db_guard import suspend_guards
from audit.models import AuditEvent
from audit.services import record_event, verify_audit_log
from audit.tasks import verify_audit_log_task

pytestmark = pytest.mark.django_db


def _append(count: int) -> None:
    with transaction.atomic():
        for n in range(count):
            record_event(action="test.event", actor=SYSTEM, payload={"n": n})


def _tamper(sequence: int) -> None:
    suspend_guards(connection)  # rolled back with the test's transaction
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor = 'someone' WHERE sequence = %s",
            [sequence],
        )


@pytest.fixture
def verified_once() -> int:
    """100 events under a checkpoint, verified in full; the checkpoint's size."""
    _append(100)
    checkpoint = create_checkpoint()
    first = verify_audit_log(actor=SYSTEM)
    assert first.ok and first.since_sequence == 0
    assert first.covered_sequence == checkpoint.size == 100
    return checkpoint.size


def test_the_next_run_walks_only_what_came_after(verified_once):
    _append(7)
    create_checkpoint()

    result = verify_audit_log(actor=SYSTEM, incremental=True)

    assert result.ok, result.problem
    assert result.since_sequence == verified_once
    # The 7 events and the first run's own audit.verified event.
    assert result.checked == 8
    assert result.covered_sequence == result.head_sequence == 108
    assert result.checkpoints_checked == 1


def test_the_task_runs_incrementally_and_records_its_outcome(verified_once):
    _append(3)
    assert verify_audit_log_task()
    recorded = AuditEvent.objects.filter(action="audit.verified").last()
    assert recorded.payload["since_sequence"] == verified_once
    assert recorded.payload["checked"] == 4


def test_a_change_after_the_anchor_is_found(verified_once):
    _append(5)
    _tamper(103)
    result = verify_audit_log(actor=SYSTEM, incremental=True)
    assert not result.ok
    assert result.first_bad_sequence == 103


def test_a_changed_anchor_is_found(verified_once):
    suspend_guards(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET hash = %s WHERE sequence = %s",
            ["f" * 64, verified_once],
        )
    result = verify_audit_log(actor=SYSTEM, incremental=True)
    assert not result.ok
    assert "no longer has the hash its checkpoint signed" in result.problem


def test_a_change_before_the_anchor_needs_the_full_walk(verified_once):
    _tamper(50)
    assert verify_audit_log(actor=SYSTEM, incremental=True).ok
    full = verify_audit_log(actor=SYSTEM)
    assert not full.ok and full.first_bad_sequence == 50


def test_after_a_failed_verification_the_next_one_walks_everything(verified_once):
    _tamper(101)  # the first run's audit.verified event
    assert not verify_audit_log(actor=SYSTEM, incremental=True).ok
    again = verify_audit_log(actor=SYSTEM, incremental=True)
    assert again.since_sequence == 0 and not again.ok


def test_without_an_earlier_verification_it_walks_everything():
    _append(10)
    result = verify_audit_log(actor=SYSTEM, incremental=True)
    assert result.ok and result.since_sequence == 0 and result.checked == 10


def test_the_command_verifies_incrementally_on_request(verified_once):
    import json
    from io import StringIO

    from django.core.management import call_command

    _append(2)
    out = StringIO()
    call_command("verify_audit", "--incremental", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["ok"] and result["since_sequence"] == verified_once
    assert result["checked"] == 3
