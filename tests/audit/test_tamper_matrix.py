"""The tamper matrix (invariant 3): with the database's guards switched off, as an
attacker with the table owner's rights could, every kind of tampering with a log
of 10,000 events is found at the right sequence number, at random positions."""

import os
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.chain import event_hash
from audit.checkpoints import create_checkpoint
from audit.db_guard import suspend_guards
from audit.models import AuditEvent, Checkpoint
from audit.verification import verify_chain
from tests.factories import bulk_chain

SIZE = 10_000
CHECKPOINT_EVERY = 2_500
# A fresh seed each run unless TAMPER_SEED pins one; failures print it.
SEED = int(os.environ.get("TAMPER_SEED", random.randrange(1 << 32)))


@pytest.fixture
def log(db):
    """10,000 chained events, with a signed checkpoint after every 2,500."""
    for _ in range(SIZE // CHECKPOINT_EVERY):
        bulk_chain(CHECKPOINT_EVERY)
        create_checkpoint()
    assert verify_chain().ok
    return random.Random(SEED)


def _sql(*statements: tuple[str, list]) -> None:
    suspend_guards(connection)  # rolled back with the test's transaction
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _found_at(position: int, *words: str):
    result = verify_chain(batch_size=997)
    context = f"seed {SEED}, position {position}: {result}"
    assert not result.ok, context
    assert result.first_bad_sequence == position, context
    for word in words:
        assert word in result.problem, context
    return result


def test_the_intact_log_verifies_with_its_checkpoints(log):
    result = verify_chain()
    assert result.ok, result.problem
    assert (result.checked, result.checkpoints_checked) == (SIZE, 4)
    assert result.covered_sequence == SIZE


def test_a_modified_event_is_found(log):
    position = log.randrange(1, SIZE + 1)
    _sql(
        (
            "UPDATE audit_auditevent SET payload = %s WHERE sequence = %s",
            ['{"n": -1}', position],
        )
    )
    _found_at(position, "content")
    with pytest.raises(CommandError, match=f"sequence {position}"):
        call_command("verify_audit")


def test_a_deleted_event_is_found(log):
    position = log.randrange(1, SIZE)
    _sql(("DELETE FROM audit_auditevent WHERE sequence = %s", [position]))
    _found_at(position, "missing")


def test_a_deleted_event_with_the_tail_renumbered_is_found(log):
    position = log.randrange(1, SIZE)
    _sql(
        ("DELETE FROM audit_auditevent WHERE sequence = %s", [position]),
        (
            "UPDATE audit_auditevent SET sequence = sequence - 1 + %s "
            "WHERE sequence > %s",
            [10 * SIZE, position],
        ),
        (
            "UPDATE audit_auditevent SET sequence = sequence - %s WHERE sequence > %s",
            [10 * SIZE, 10 * SIZE],
        ),
    )
    _found_at(position)


def test_an_inserted_event_is_found(log):
    position = log.randrange(2, SIZE + 1)
    _sql(
        (
            "UPDATE audit_auditevent SET sequence = sequence + %s WHERE sequence >= %s",
            [10 * SIZE, position],
        ),
        (
            "UPDATE audit_auditevent SET sequence = sequence - %s + 1 "
            "WHERE sequence > %s",
            [10 * SIZE, 10 * SIZE],
        ),
    )
    previous = AuditEvent.objects.get(sequence=position - 1)
    forged = {
        "sequence": position,
        "event_id": "00000000-0000-4000-8000-000000000001",
        "occurred_at": previous.occurred_at,
        "actor": "staff:mallory",
        "action": "consent.revoked",
        "subject": previous.subject,
        "recipient": previous.recipient,
        "purpose": previous.purpose,
        "consent_id": None,
        "payload": {},
        "prev_hash": previous.hash,
    }
    AuditEvent.objects.bulk_create([AuditEvent(**forged, hash=event_hash(**forged))])
    _found_at(position, "inserted")


def test_two_swapped_events_are_found(log):
    position = log.randrange(1, SIZE)
    _sql(
        (
            "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s",
            [10 * SIZE, position],
        ),
        (
            "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s",
            [position, position + 1],
        ),
        (
            "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s",
            [position + 1, 10 * SIZE],
        ),
    )
    _found_at(position)


def test_a_tail_cut_behind_the_last_checkpoint_is_found(log):
    position = log.randrange(2, SIZE + 1)
    _sql(("DELETE FROM audit_auditevent WHERE sequence >= %s", [position]))
    result = _found_at(position, "missing", f"signed size {SIZE}")
    assert result.head_sequence == position - 1


def test_a_rewritten_history_is_found_by_the_checkpoint_after_it(log):
    """Modified and re-hashed to the end: the chain holds; the signed head does not."""
    position = log.randrange(1, SIZE + 1)
    events = list(
        AuditEvent.objects.filter(sequence__gte=position).order_by("sequence")
    )
    prev_hash = events[0].prev_hash
    suspend_guards(connection)
    for event in events:
        fields = {
            f.attname: getattr(event, f.attname)
            for f in AuditEvent._meta.concrete_fields
            if f.attname != "hash"
        }
        fields["prev_hash"] = prev_hash
        if event.sequence == position:
            fields["actor"] = "staff:mallory"
        prev_hash = event_hash(**fields)
        AuditEvent.objects.filter(sequence=event.sequence).update(
            actor=fields["actor"], prev_hash=fields["prev_hash"], hash=prev_hash
        )
    signed_before = (position - 1) // CHECKPOINT_EVERY * CHECKPOINT_EVERY
    _found_at(signed_before + 1, "rewritten")
    assert Checkpoint.objects.count() == SIZE // CHECKPOINT_EVERY
