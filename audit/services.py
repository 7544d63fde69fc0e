"""Writes to the audit trail. Every state change records its event through here."""

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.chain import GENESIS_HASH, check_payload, event_hash
from audit.models import AuditEvent, PendingEvent

# Arbitrary constant naming the one advisory lock that serialises appends.
_APPEND_LOCK_KEY = 0x434D50_41554454


def _lock_head() -> None:
    """Hold the append lock until the surrounding transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, so sequence numbers are given
    out in commit order and a rolled-back append leaves no gap. SQLite: the
    connection opens IMMEDIATE transactions, which already hold the write lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_KEY])


def record_event(
    *,
    action: str,
    actor: Actor,
    subject: str = "",
    recipient: str = "",
    purpose: str = "",
    consent_id: UUID | None = None,
    payload: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the change's transaction")
    body = dict(payload or {})
    check_payload(body)
    _lock_head()
    head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash")
    last = head.first()
    sequence, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    fields = {
        "sequence": sequence,
        "event_id": uuid.uuid4(),
        "occurred_at": occurred_at or timezone.now(),
        "actor": str(actor),
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": consent_id,
        "payload": body,
        "prev_hash": prev_hash,
    }
    return AuditEvent.objects.create(**fields, hash=event_hash(**fields))


_STAGE_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO audit_pendingevent
    (event_id, occurred_at, actor, action, subject, recipient, purpose, consent_id,
     payload)
SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb FROM relaxed
"""


def stage_event(
    *,
    action: str,
    actor: Actor,
    subject: str = "",
    recipient: str = "",
    purpose: str = "",
    consent_id: UUID | None = None,
    payload: Mapping[str, Any] | None = None,
) -> UUID:
    """Record a hot-path event (a check) for sealing into the chain shortly.

    One statement, no lock. On PostgreSQL its commit does not wait for the WAL
    flush (`synchronous_commit = off` for this transaction only): the event is
    durable within the WAL writer's delay (200 ms by default) and survives any
    crash of the web process; only a crash of the database server inside that
    window could lose it. Grants, revocations and transfers never come here.
    """
    body = dict(payload or {})
    check_payload(body)
    fields = {
        "event_id": uuid.uuid4(),
        "occurred_at": timezone.now(),
        "actor": str(actor),
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": consent_id,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STAGE_SQL, [*fields.values(), json.dumps(body)])
    else:
        PendingEvent.objects.create(**fields, payload=body)
    return fields["event_id"]


def seal_pending_events(*, batch_size: int = 2000, max_batches: int = 100) -> int:
    """Append staged events to the chain in staging order; safe to run concurrently."""
    sealed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            _lock_head()
            batch = list(
                PendingEvent.objects.select_for_update(skip_locked=True).order_by("id")[
                    :batch_size
                ]
            )
            if not batch:
                return sealed
            last = (
                AuditEvent.objects.order_by("-sequence")
                .values_list("sequence", "hash")
                .first()
            )
            sequence, prev_hash = last if last else (0, GENESIS_HASH)
            events = []
            for pending in batch:
                sequence += 1
                fields = {
                    "sequence": sequence,
                    "event_id": pending.event_id,
                    "occurred_at": pending.occurred_at,
                    "actor": pending.actor,
                    "action": pending.action,
                    "subject": pending.subject,
                    "recipient": pending.recipient,
                    "purpose": pending.purpose,
                    "consent_id": pending.consent_id,
                    "payload": pending.payload,
                    "prev_hash": prev_hash,
                }
                prev_hash = event_hash(**fields)
                events.append(AuditEvent(**fields, hash=prev_hash))
            AuditEvent.objects.bulk_create(events)
            PendingEvent.objects.filter(pk__in=[p.pk for p in batch]).delete()
        sealed += len(batch)
    return sealed
