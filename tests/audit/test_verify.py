"""verify_audit recomputes the chain and names the first bad sequence number."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit.actors import SYSTEM
from audit.chain import event_hash
from audit.db_guard import suspend_guards
from audit.models import AuditEvent
from audit.services import record_event
from audit.verification import verify_chain

COUNT = 40


@pytest.fixture
def log(db):
    for n in range(COUNT):
        with transaction.atomic():
            record_event(
                action="test.event",
                actor=SYSTEM,
                subject=f"sub_{n % 3}",
                payload={"n": n},
            )


def _tamper(*statements: tuple[str, list]) -> None:
    suspend_guards(connection)  # rolled back with the test's transaction
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def test_intact_log_verifies(log):
    result = verify_chain(batch_size=7)
    assert (result.ok, result.checked, result.head_sequence) == (True, COUNT, COUNT)
    assert result.head_hash == AuditEvent.objects.get(sequence=COUNT).hash


def test_command_reports_an_intact_chain(log, capsys):
    call_command("verify_audit")
    assert f"intact: {COUNT} events" in capsys.readouterr().out


def test_modified_event_is_found(log):
    _tamper(
        (
            "UPDATE audit_auditevent SET payload = %s WHERE sequence = 17",
            ['{"n": 999}'],
        )
    )
    result = verify_chain(batch_size=7)
    assert (result.ok, result.first_bad_sequence) == (False, 17)
    assert "hash" in result.problem
    with pytest.raises(CommandError, match="sequence 17"):
        call_command("verify_audit")


def test_modified_hash_chain_is_found_at_the_next_event(log):
    row = AuditEvent.objects.get(sequence=9)
    forged = {
        f.attname: getattr(row, f.attname)
        for f in AuditEvent._meta.concrete_fields
        if f.attname != "hash"
    }
    forged["actor"] = "staff:mallory"
    _tamper(
        (
            "UPDATE audit_auditevent SET actor = %s, hash = %s WHERE sequence = 9",
            ["staff:mallory", event_hash(**forged)],
        )
    )
    assert verify_chain().first_bad_sequence == 10


def test_deleted_event_is_found(log):
    _tamper(("DELETE FROM audit_auditevent WHERE sequence = 23", []))
    result = verify_chain(batch_size=5)
    assert (result.ok, result.first_bad_sequence) == (False, 23)
    assert "missing" in result.problem


def test_inserted_event_is_found(log):
    # Make room at 12 by renumbering the tail, then slip a forged event in.
    shift = "UPDATE audit_auditevent SET sequence = sequence + %s WHERE sequence {} %s"
    _tamper((shift.format(">="), [1000, 12]), (shift.format(">"), [-999, 1000]))
    previous = AuditEvent.objects.get(sequence=11)
    fields = {
        "sequence": 12,
        "event_id": "00000000-0000-0000-0000-000000000012",
        "occurred_at": previous.occurred_at,
        "actor": "staff:mallory",
        "action": "consent.granted",
        "subject": "sub_0",
        "recipient": "",
        "purpose": "",
        "consent_id": None,
        "payload": {},
        "prev_hash": previous.hash,
    }
    with transaction.atomic():
        AuditEvent.objects.bulk_create(
            [AuditEvent(**fields, hash=event_hash(**fields))]
        )
    result = verify_chain()
    assert (result.ok, result.first_bad_sequence) == (False, 12)
    assert "inserted" in result.problem


def test_swapped_events_are_found(log):
    _tamper(
        ("UPDATE audit_auditevent SET sequence = 1000 WHERE sequence = 30", []),
        ("UPDATE audit_auditevent SET sequence = 30 WHERE sequence = 31", []),
        ("UPDATE audit_auditevent SET sequence = 31 WHERE sequence = 1000", []),
    )
    result = verify_chain()
    assert (result.ok, result.first_bad_sequence) == (False, 30)


def test_empty_log_verifies(db):
    result = verify_chain()
    assert (result.ok, result.checked) == (True, 0)
