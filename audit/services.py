"""Writes to the audit trail. Every state change records its event through here."""

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from audit.actors import SYSTEM, Actor
from audit.chain import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    STORED_FIELDS,
    canonical_json,
    check_payload,
    document_hash,
    event_hash,
    format_time,
    parse_json,
    stored_document,
)
from audit.integrity import ChainVerification
from audit.models import AuditEvent, PendingEvent
from audit.selectors import EventFilters, verified_through
from audit.staging import stage_now
from audit.verification import verify_chain
from cmp_common.db.cursors import copy_rows, fetch_all

__all__ = [
    "SYSTEM",
    "record_event",
    "record_events",
    "record_search",
    "seal_pending_events",
    "stage_event",
    "verify_audit_log",
]

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


def _content(
    *,
    action: str,
    actor: Actor,
    subject: str,
    recipient: str,
    purpose: str,
    consent_id: UUID | None,
    payload: Mapping[str, Any] | None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """A new event's content, with its id and time; payload values are checked."""
    body = dict(payload or {})
    check_payload(body)
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": occurred_at or timezone.now(),
        "actor": str(actor),
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": consent_id,
        "payload": body,
    }


def _chained(content: dict[str, Any], sequence: int, prev_hash: str) -> dict[str, Any]:
    """An event's stored fields (`STORED_FIELDS`) at `sequence`, after `prev_hash`."""
    fields = {"sequence": sequence, **content, "prev_hash": prev_hash}
    return {**fields, "hash": event_hash(**fields)}


def _head() -> tuple[int, str]:
    """The last sequence number and hash; call with the append lock held."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash")
    return last.first() or (0, GENESIS_HASH)


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
    content = _content(
        action=action,
        actor=actor,
        subject=subject,
        recipient=recipient,
        purpose=purpose,
        consent_id=consent_id,
        payload=payload,
        occurred_at=occurred_at,
    )
    _lock_head()
    sequence, prev_hash = _head()
    event = AuditEvent(**_chained(content, sequence + 1, prev_hash))
    event.save(force_insert=True)
    return event


def record_events(events: Sequence[Mapping[str, Any]]) -> int:
    """Append many events in order, inside the caller's transaction: one hold of
    the append lock and one COPY for all (a mass change's batch).

    Each mapping has `record_event`'s arguments; the chain is the same as if each
    had been recorded on its own."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_events must run inside the change's transaction")
    if not events:
        return 0
    now = timezone.now()
    rows = [
        _text_row(None, *(content[name] for name in CONTENT_FIELDS))
        for content in (
            _content(
                **{
                    "subject": "",
                    "recipient": "",
                    "purpose": "",
                    "consent_id": None,
                    "payload": None,
                    "occurred_at": now,
                    **event,
                }
            )
            for event in events
        )
    ]
    _lock_head()
    _append(_chain_rows(rows, *_head()))
    return len(rows)


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
    """Record a hot-path event (a check), durable at once, chained shortly.

    It is staged, committed without waiting for the disk, before this returns
    (`audit.staging`), so an answer sent afterwards always has its event; the
    sealer appends it to the chain a moment later. Grants, revocations and
    transfers never come here.
    """
    content = _content(
        action=action,
        actor=actor,
        subject=subject,
        recipient=recipient,
        purpose=purpose,
        consent_id=consent_id,
        payload=payload,
    )
    if connection.vendor == "postgresql":
        stage_now(content)
    else:
        PendingEvent.objects.create(**content)
    return content["event_id"]


# The oldest staged events, taken out of staging in the statement that reads
# them. Sealers hold the append lock, so one takes at a time; the rows come back
# in no particular order and are sorted by staging id.
# Ids and the time come back as the canonical text the hash covers (the UUID's
# lowercase form, UTC with microseconds, as `audit.chain.format_time` writes it),
# so they are neither parsed nor formatted again here, and COPY takes them as is.
# The ids as an array: with `IN (subquery)` the planner may join against a scan
# of the whole staging table, once per batch.
_TAKE_SQL = """
DELETE FROM audit_pendingevent WHERE id = ANY(ARRAY(
    SELECT id FROM audit_pendingevent ORDER BY id LIMIT %s
)) RETURNING id, event_id::text,
    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    actor, action, subject, recipient, purpose, consent_id::text, payload
"""
_APPEND_SQL = f"COPY audit_auditevent ({', '.join(STORED_FIELDS)}) FROM STDIN"


def _take_pending(batch_size: int) -> list[Sequence[Any]]:
    """The oldest staged events, removed from staging: rows of staging id and
    `CONTENT_FIELDS` as canonical text (the payload its JSON), in staging order.

    Call it holding the append lock: a rollback puts them back."""
    if connection.vendor == "postgresql":
        return sorted(fetch_all(_TAKE_SQL, [batch_size]), key=lambda row: row[0])
    staged = list(
        PendingEvent.objects.order_by("id").values_list("id", *CONTENT_FIELDS)[
            :batch_size
        ]
    )
    PendingEvent.objects.filter(pk__in=[row[0] for row in staged]).delete()
    return [_text_row(pk, *content) for pk, *content in staged]


def _text_row(
    key: Any,
    event_id: UUID,
    occurred_at: datetime,
    *middle: Any,
) -> tuple[Any, ...]:
    """An event's `CONTENT_FIELDS` (after `key`) as the canonical text the hash
    covers and COPY takes: what `_TAKE_SQL` returns for a staged row."""
    *texts, consent_id, payload = middle
    return (
        key,
        str(event_id),
        format_time(occurred_at),
        *texts,
        str(consent_id) if consent_id else None,
        canonical_json(payload).decode(),
    )


def _chain_rows(
    staged: Sequence[Sequence[Any]], sequence: int, prev_hash: str
) -> Iterator[list[Any]]:
    """Each staged row as a chained row (`STORED_FIELDS`), after `sequence`.

    The values are already canonical text, so the hashed document is built as
    verification builds it (`stored_document`), and the row is stored as read."""
    for row in staged:
        sequence += 1
        values = [sequence, *row[1:], prev_hash, ""]
        document = stored_document(values)
        del document["hash"]
        values[-1] = prev_hash = document_hash(document)
        yield values


def _append(rows: Iterable[list[Any]]) -> None:
    """Insert chained rows (`STORED_FIELDS`); on PostgreSQL one COPY, fed as each
    row is hashed, so the server writes while the next ones are hashed."""
    if connection.vendor != "postgresql":
        events = []
        for row in rows:
            fields = dict(zip(STORED_FIELDS, row, strict=True))
            # Parsed: the model's JSONField encodes it again.
            fields["payload"] = parse_json(fields["payload"])
            events.append(AuditEvent(**fields))
        AuditEvent.objects.bulk_create(events)
        return
    copy_rows(_APPEND_SQL, rows)


def seal_pending_events(*, batch_size: int = 5000, max_batches: int = 100) -> int:
    """Append staged events to the chain in staging order; safe to run concurrently."""
    sealed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            _lock_head()
            batch = _take_pending(batch_size)
            if not batch:
                return sealed
            _append(_chain_rows(batch, *_head()))
        sealed += len(batch)
    return sealed


def verify_audit_log(*, actor: Actor, incremental: bool = False) -> ChainVerification:
    """Verify the log and its checkpoints; the outcome is itself an event.

    `incremental` walks only what came after the checkpoint up to which the last
    successful verification verified the chain (the whole log if there is none):
    each run trusts the one before it, back to a full one.
    """
    result = verify_chain(since=verified_through() if incremental else 0)
    with transaction.atomic():
        record_event(action="audit.verified", actor=actor, payload=result.as_dict())
    return result


def record_search(
    *, actor: Actor, filters: EventFilters, page: Mapping[str, Any]
) -> AuditEvent:
    """An officer looked at the trail: who, with which filters, which page."""
    with transaction.atomic():
        return record_event(
            action="audit.searched",
            actor=actor,
            payload={"filters": filters.as_dict(), "page": dict(page)},
        )
