"""Reads of the audit trail that more than one caller needs."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Max, Min, OuterRef, Subquery
from psycopg import sql

from audit.chain import STORED_FIELDS, event_document, stored_document
from audit.models import AuditEvent, Checkpoint, PendingEvent

_FIELDS = ("event_id", "occurred_at", "action", "actor", "recipient", "consent_id")
_SUBJECT_FIELDS = (*_FIELDS, "purpose", "payload")


def subject_events(
    pseudonym: str,
    *,
    actions: Sequence[str] | None = None,
    recipient: str | None = None,
    consent_id: UUID | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """Events about one person, newest first, and the sequence of the next page.

    Checks are chained a moment after they happen (`seal_pending_events`), so the
    first page also has the person's staged events (their `sequence` is None).
    Staging is read before the chain, as in `find_event`: an event sealed between
    the two reads appears twice (and is kept once), never not at all. Older pages
    (`before`, a sequence number) read the chain alone, backwards along the
    (subject, sequence) index. The second value is None on the last page.
    """
    criteria: dict[str, Any] = {"subject": pseudonym}
    if actions is not None:
        criteria["action__in"] = list(actions)
    if recipient:
        criteria["recipient"] = recipient
    if consent_id:
        criteria["consent_id"] = consent_id
    staged = []
    if before is None:
        staged = [
            {**row, "sequence": None}
            for row in PendingEvent.objects.filter(**criteria)
            .order_by("-id")
            .values(*_SUBJECT_FIELDS)[:limit]
        ]
    chain = AuditEvent.objects.filter(**criteria)
    if before is not None:
        chain = chain.filter(sequence__lt=before)
    sealed = list(
        chain.order_by("-sequence").values("sequence", *_SUBJECT_FIELDS)[: limit + 1]
    )
    older = sealed[limit - 1]["sequence"] if len(sealed) > limit else None
    sealed = sealed[:limit]
    chained_ids = {row["event_id"] for row in sealed}
    rows = [row for row in staged if row["event_id"] not in chained_ids] + sealed
    rows.sort(key=lambda row: row["occurred_at"], reverse=True)
    return rows, older


@dataclass(frozen=True)
class RecordedEvent:
    event_id: UUID
    occurred_at: datetime
    action: str
    actor: str
    recipient: str
    consent_id: UUID | None
    payload: dict[str, Any]


def find_event(event_id: UUID, *, action: str) -> RecordedEvent | None:
    """An event by id, sealed or still waiting to be sealed.

    The staging table is read first: the sealer moves a row in one transaction,
    so a row missed there has already committed to the chain.
    """
    for model in (PendingEvent, AuditEvent):
        row = (
            model.objects.filter(event_id=event_id, action=action)
            .values(*_FIELDS, "payload")
            .first()
        )
        if row is not None:
            return RecordedEvent(**row)
    return None


def find_check_event(event_id: UUID) -> RecordedEvent | None:
    """A check's event: staged before its answer was sent, so it is there."""
    return find_event(event_id, action="consent.checked")


@dataclass(frozen=True)
class EventFilters:
    """What an officer searches or exports by. Times: `since` ≤ t < `until`."""

    since: datetime | None = None
    until: datetime | None = None
    subject: str = ""
    recipient: str = ""
    purpose: str = ""
    action: str = ""

    @property
    def fields(self) -> dict[str, str]:
        """The exact-match field filters that are set."""
        named = {
            "subject": self.subject,
            "recipient": self.recipient,
            "purpose": self.purpose,
            "action": self.action,
        }
        return {name: value for name, value in named.items() if value}

    def as_dict(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            **{name: getattr(self, name) or None for name in _FIELD_NAMES},
        }


_FIELD_NAMES = ("subject", "recipient", "purpose", "action")


def chain_head() -> tuple[int, str]:
    """The last sealed sequence number and its hash (0 and "" when empty)."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash")
    return last.first() or (0, "")


def sequence_window(
    since: datetime | None, until: datetime | None, *, upto: int
) -> tuple[int, int]:
    """The chain slice (after, upto] from the first event at or after `since` to
    the last before `until`, within the first `upto` events.

    Staged check events are sealed a moment after they happened, so a slice may
    hold a few whose time lies just outside the window; it never has a hole.
    """
    events = AuditEvent.objects.filter(sequence__lte=upto)
    after = 0
    if since is not None:
        first = events.filter(occurred_at__gte=since).aggregate(n=Min("sequence"))
        after = first["n"] - 1 if first["n"] is not None else upto
    if until is not None:
        last = events.filter(occurred_at__lt=until).aggregate(n=Max("sequence"))
        upto = last["n"] or 0
    return after, upto


# The hot path of verification and export: one COPY streams the rows, so the
# database produces them while Python hashes and encodes (two cores busy, no
# round trip per batch), as text already in the canonical form of ids and times.
_DOCUMENTS_COPY = """
COPY (
    SELECT e.sequence, e.event_id::text,
           to_char(e.occurred_at AT TIME ZONE 'UTC',
                   'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
           e.actor, e.action, e.subject, e.recipient, e.purpose, e.consent_id::text,
           e.payload::text, e.prev_hash, e.hash {checkpoint_columns}
    FROM audit_auditevent e {checkpoint_join}
    WHERE e.sequence > {after} AND e.sequence <= {upto} {filters}
    ORDER BY e.sequence
) TO STDOUT
"""
_CHECKPOINT_COLUMNS = ", c.id, c.jws"
_CHECKPOINT_JOIN = "LEFT JOIN audit_checkpoint c ON c.size = e.sequence"
_DOCUMENTS_TYPES = ["int8", *["text"] * 11]


def _with_checkpoint(document: dict[str, Any], row: tuple) -> dict[str, Any]:
    """Attach the (id, JWS) of the checkpoint signed at this event, if any."""
    if len(row) > len(STORED_FIELDS):
        signed = row[len(STORED_FIELDS) :]
        document["checkpoint"] = signed if signed[0] is not None else None
    return document


def _copied_documents(
    after: int, upto: int, fields: dict[str, str], with_checkpoints: bool
) -> Iterator[dict[str, Any]]:
    filters = sql.SQL("").join(
        sql.SQL(" AND e.{} = {}").format(sql.Identifier(name), sql.Literal(value))
        for name, value in fields.items()
    )
    query = sql.SQL(_DOCUMENTS_COPY).format(
        after=sql.Literal(after),
        upto=sql.Literal(upto),
        filters=filters,
        checkpoint_columns=sql.SQL(_CHECKPOINT_COLUMNS if with_checkpoints else ""),
        checkpoint_join=sql.SQL(_CHECKPOINT_JOIN if with_checkpoints else ""),
    )
    types = _DOCUMENTS_TYPES + (["int8", "text"] if with_checkpoints else [])
    width = len(STORED_FIELDS)
    # A reader that stops early (verification at the first bad event) leaves the
    # COPY unfinished; the server then fails the transaction it ran in. A savepoint
    # of its own keeps that failure from spoiling the caller's transaction.
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(query) as copy,
    ):
        copy.set_types(types)
        for row in copy.rows():
            yield _with_checkpoint(stored_document(row[:width]), row)


def _batched_documents(
    after: int,
    upto: int,
    fields: dict[str, str],
    with_checkpoints: bool,
    batch_size: int,
) -> Iterator[dict[str, Any]]:
    """Keyset batches through the ORM, for databases without COPY (SQLite)."""
    events = AuditEvent.objects.filter(sequence__lte=upto, **fields).order_by(
        "sequence"
    )
    columns: tuple[str, ...] = STORED_FIELDS
    if with_checkpoints:
        signed = Checkpoint.objects.filter(size=OuterRef("sequence"))
        events = events.annotate(
            checkpoint_id=Subquery(signed.values("id")[:1]),
            checkpoint_jws=Subquery(signed.values("jws")[:1]),
        )
        columns = (*STORED_FIELDS, "checkpoint_id", "checkpoint_jws")
    while rows := list(
        events.filter(sequence__gt=after).values_list(*columns)[:batch_size]
    ):
        for row in rows:
            fields = dict(zip(STORED_FIELDS, row, strict=False))
            stored = fields.pop("hash")
            # The loop reuses the name of the `fields` parameter (a dict[str, str]).
            document = event_document(**fields) | {"hash": stored}  # type: ignore[arg-type]
            yield _with_checkpoint(document, row)
        after = rows[-1][0]


def chain_documents(
    *,
    after: int = 0,
    upto: int | None = None,
    fields: dict[str, str] | None = None,
    with_checkpoints: bool = False,
    batch_size: int = 5000,
) -> Iterator[dict[str, Any]]:
    """Events after `after` up to `upto`, in order, as their hashed documents plus
    the stored `hash` (and with `with_checkpoints`, the `checkpoint` signed at
    each, if any); streamed, so memory stays flat however long the log."""
    if upto is None:
        upto = chain_head()[0]
    if after >= upto:
        return
    if connection.vendor == "postgresql":
        yield from _copied_documents(after, upto, fields or {}, with_checkpoints)
    else:
        yield from _batched_documents(
            after, upto, fields or {}, with_checkpoints, batch_size
        )


def latest_verification() -> dict[str, Any] | None:
    """The outcome of the last recorded verification, with its time."""
    event = (
        AuditEvent.objects.filter(action="audit.verified")
        .order_by("-occurred_at")
        .values("occurred_at", "payload")
        .first()
    )
    return {**event["payload"], "verified_at": event["occurred_at"]} if event else None


@dataclass(frozen=True)
class TrailHealth:
    """What an operator watches of the trail: the staged backlog and how old its
    oldest event is (the seal lag), the last checkpoint and verification."""

    staged: int
    oldest_staged_at: datetime | None
    last_checkpoint_at: datetime | None
    last_verification: dict[str, Any] | None


def oldest_staged_at() -> datetime | None:
    """When the oldest event still waiting to be sealed happened."""
    oldest = PendingEvent.objects.order_by("id").values_list("occurred_at", flat=True)
    return oldest.first()


def trail_health() -> TrailHealth:
    checkpoint = Checkpoint.objects.order_by("-size").values_list(
        "signed_at", flat=True
    )
    return TrailHealth(
        staged=PendingEvent.objects.count(),
        oldest_staged_at=oldest_staged_at(),
        last_checkpoint_at=checkpoint.first(),
        last_verification=latest_verification(),
    )


def verified_through() -> int:
    """The checkpoint size up to which the last verification, if it succeeded,
    verified the chain; 0 when it failed or there was none."""
    last = latest_verification()
    if last is None or not last.get("ok"):
        return 0
    return int(last.get("covered_sequence") or 0)


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    newer: int | None  # pass as `after` for the page of newer events
    older: int | None  # pass as `before` for the page of older events


def search_events(
    filters: EventFilters,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = 50,
) -> EventPage:
    """Newest first, a page at a time by sequence number (stable while the log
    grows, and as fast on the last page as on the first)."""
    events = AuditEvent.objects.filter(**filters.fields).defer("payload")
    if filters.since:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until:
        events = events.filter(occurred_at__lt=filters.until)
    if after is not None:
        rows = list(events.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        more_newer, rows = len(rows) > size, rows[:size][::-1]
        more_older = (
            bool(rows) and events.filter(sequence__lt=rows[-1].sequence).exists()
        )
    else:
        if before is not None:
            events_page = events.filter(sequence__lt=before)
        else:
            events_page = events
        rows = list(events_page.order_by("-sequence")[: size + 1])
        more_older, rows = len(rows) > size, rows[:size]
        more_newer = before is not None and bool(rows)
    return EventPage(
        rows,
        newer=rows[0].sequence if rows and more_newer else None,
        older=rows[-1].sequence if rows and more_older else None,
    )
