"""Writes to the audit trail. Every state change records its event through here."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone

from audit.actors import Actor
from audit.chain import GENESIS_HASH, check_payload, event_hash
from audit.models import AuditEvent

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
