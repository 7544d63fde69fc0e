"""Figures for compliance officers, counted from the audit trail itself."""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from django.db.models import CharField, Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat, TruncDate

from audit.models import AuditEvent

GRANTED, REVOKED, EXPIRED = "consent.granted", "consent.revoked", "consent.expired"
CHECKED, ACKNOWLEDGED = "consent.checked", "consent.acknowledged"

# Each series: its name and the events it counts.
SERIES = {
    "granted": Q(action=GRANTED),
    "revoked": Q(action=REVOKED),
    "expired": Q(action=EXPIRED),
    "allowed": Q(action=CHECKED, payload__allowed=True),
    "denied": Q(action=CHECKED, payload__allowed=False),
}
# Upper bounds (seconds) of the time-to-acknowledge buckets; the last is open.
ACK_BUCKETS = (60, 300, 3600, 86400)


@dataclass(frozen=True)
class Row:
    """One group's count for every series."""

    key: object
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _events(start: datetime, end: datetime):
    return AuditEvent.objects.filter(
        occurred_at__gte=start,
        occurred_at__lt=end,
        action__in=(GRANTED, REVOKED, EXPIRED, CHECKED),
    )


def _tally(start: datetime, end: datetime, group, *, limit: int | None) -> list[Row]:
    counts = {name: Count("pk", filter=condition) for name, condition in SERIES.items()}
    rows = (
        _events(start, end)
        .annotate(key=group)
        .values("key")
        .annotate(**counts)
        .order_by("key")
    )
    result = [
        Row(row["key"], {name: row[name] for name in SERIES})
        for row in rows
        if row["key"] not in (None, "")
    ]
    if limit is not None:
        result = sorted(result, key=lambda r: (-r.total, str(r.key)))[:limit]
    return result


def per_day(start: datetime, end: datetime, tz: tzinfo) -> list[Row]:
    """Every day from start to end (days without events count zero)."""
    found = {
        row.key: row
        for row in _tally(start, end, TruncDate("occurred_at", tzinfo=tz), limit=None)
    }
    first, last = (
        start.astimezone(tz).date(),
        (end - timedelta(microseconds=1)).astimezone(tz).date(),
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    empty = dict.fromkeys(SERIES, 0)
    return [found.get(day, Row(day, empty)) for day in days]


def per_purpose(start: datetime, end: datetime, *, limit: int = 10) -> list[Row]:
    return _tally(start, end, F("purpose"), limit=limit)


def per_recipient(start: datetime, end: datetime, *, limit: int = 10) -> list[Row]:
    return _tally(start, end, F("recipient"), limit=limit)


@dataclass(frozen=True)
class Acknowledgements:
    """How long recipients took to confirm they stopped after a revocation."""

    revoked: int
    pending: int
    buckets: list[int]  # counts per ACK_BUCKETS, then the open bucket
    median_seconds: float | None
    p90_seconds: float | None


def time_to_acknowledge(start: datetime, end: datetime) -> Acknowledgements:
    """For revocations in the period: the first acknowledgement by the recipient."""
    first_ack = (
        AuditEvent.objects.filter(
            action=ACKNOWLEDGED,
            consent_id=OuterRef("consent_id"),
            actor=Concat(
                Value("organization:"), OuterRef("recipient"), output_field=CharField()
            ),
        )
        .order_by("sequence")
        .values("occurred_at")[:1]
    )
    pairs = list(
        AuditEvent.objects.filter(
            action=REVOKED, occurred_at__gte=start, occurred_at__lt=end
        )
        .annotate(acknowledged_at=Subquery(first_ack))
        .values_list("occurred_at", "acknowledged_at")
    )
    waits = sorted(
        max((acked - revoked).total_seconds(), 0.0)
        for revoked, acked in pairs
        if acked is not None
    )
    buckets = [0] * (len(ACK_BUCKETS) + 1)
    for wait in waits:
        buckets[sum(wait >= bound for bound in ACK_BUCKETS)] += 1
    p90 = waits[min(len(waits) - 1, int(len(waits) * 0.9))] if waits else None
    return Acknowledgements(
        revoked=len(pairs),
        pending=len(pairs) - len(waits),
        buckets=buckets,
        median_seconds=statistics.median(waits) if waits else None,
        p90_seconds=p90,
    )


def period(days: int, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The last `days` whole days in `tz`, up to the end of today."""
    today: date = now.astimezone(tz).date()
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
    return end - timedelta(days=days), end
