"""The database itself refuses to change or remove audit rows (invariant 2)."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.actors import SYSTEM
from audit.models import AuditEvent
from audit.services import record_event


@pytest.fixture
def events(db):
    with transaction.atomic():
        for n in range(3):
            record_event(action="test.event", actor=SYSTEM, payload={"n": n})
    return AuditEvent.objects.count()


def _raw_fails(sql: str) -> str:
    with (
        pytest.raises(DatabaseError) as error,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    return str(error.value)


def test_raw_update_is_rejected(events):
    message = _raw_fails("UPDATE audit_auditevent SET action = 'forged'")
    assert "append-only" in message
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_raw_delete_is_rejected(events):
    assert "append-only" in _raw_fails(
        "DELETE FROM audit_auditevent WHERE sequence = 2"
    )
    assert AuditEvent.objects.count() == events


def test_raw_delete_of_everything_is_rejected(events):
    assert "append-only" in _raw_fails("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == events


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's"
)
def test_raw_truncate_is_rejected(events):
    assert "append-only" in _raw_fails("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == events


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")
def test_triggers_fire_always_even_for_replication_sessions(events):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid = 'audit_auditevent'::regclass AND NOT tgisinternal"
        )
        enabled = dict(cursor.fetchall())
    assert set(enabled.values()) == {"A"}  # ENABLE ALWAYS
    assert len(enabled) == 2


def test_orm_update_and_delete_are_rejected(events):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).delete()
    assert AuditEvent.objects.count() == events
