"""The rule of the check, as pure functions over a snapshot of candidate consents."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from consents.scopes import missing_scopes


class Reason(StrEnum):
    NO_CONSENT = "no_consent"
    PAUSED = "paused"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_STARTED = "not_started"
    SCOPE_NOT_GRANTED = "scope_not_granted"
    HOLDER_NOT_ALLOWED = "holder_not_allowed"
    OUTSIDE_DATA_WINDOW = "outside_data_window"
    FREQUENCY_EXCEEDED = "frequency_exceeded"
    UNKNOWN_SUBJECT = "unknown_subject"
    UNKNOWN_PURPOSE = "unknown_purpose"
    ORGANIZATION_SUSPENDED = "organization_suspended"


# When several consents deny, the answer names the one that came closest to
# allowing: a later entry here got further through the rule.
_PROGRESS = [
    Reason.REVOKED,
    Reason.EXPIRED,
    Reason.PAUSED,
    Reason.NOT_STARTED,
    Reason.HOLDER_NOT_ALLOWED,
    Reason.SCOPE_NOT_GRANTED,
    Reason.OUTSIDE_DATA_WINDOW,
    Reason.FREQUENCY_EXCEEDED,
]


@dataclass(frozen=True)
class ConsentDecision:
    allowed: bool
    reason: Reason | None
    consent_id: UUID | None = None
    expires_at: datetime | None = None
    missing_scopes: list[str] = field(default_factory=list)
    decision_id: UUID | None = None
    recipient: str = ""
    holder: str = ""


@dataclass(frozen=True)
class Candidate:
    """What the check needs to know of one consent."""

    id: UUID
    status: str
    starts_at: datetime
    expires_at: datetime
    recipient: str
    holders: frozenset[str]
    scopes: frozenset[str]
    data_from: date | None
    data_to: date | None
    max_uses_per_day: int | None
    granted_at: datetime


@dataclass(frozen=True)
class Outcome:
    candidate: Candidate
    reason: Reason | None
    missing: list[str]


def evaluate(
    candidate: Candidate,
    *,
    now: datetime,
    holder: str | None,
    scopes: Sequence[str],
    sensitive: Collection[str],
    data_from: date | None,
    data_to: date | None,
) -> Outcome:
    """Every rule except the frequency budget, which needs a count from the database."""

    def deny(reason: Reason, missing: list[str] | None = None) -> Outcome:
        return Outcome(candidate, reason, missing or [])

    if candidate.status in ("revoked", "expired", "paused"):
        return deny(Reason(candidate.status))
    if now >= candidate.expires_at:
        return deny(Reason.EXPIRED)
    if now < candidate.starts_at:
        return deny(Reason.NOT_STARTED)
    if holder is not None and candidate.holders and holder not in candidate.holders:
        return deny(Reason.HOLDER_NOT_ALLOWED)
    missing = missing_scopes(scopes, candidate.scopes, sensitive)
    if missing:
        return deny(Reason.SCOPE_NOT_GRANTED, missing)
    if not within_window(candidate, data_from, data_to):
        return deny(Reason.OUTSIDE_DATA_WINDOW)
    return Outcome(candidate, None, [])


def within_window(
    candidate: Candidate, data_from: date | None, data_to: date | None
) -> bool:
    if candidate.data_from and data_from and data_from < candidate.data_from:
        return False
    if candidate.data_to and data_to and data_to > candidate.data_to:
        return False
    if candidate.data_from and data_to and data_to < candidate.data_from:
        return False
    return not (candidate.data_to and data_from and data_from > candidate.data_to)


def best_outcome(outcomes: Sequence[Outcome]) -> Outcome | None:
    """An allowing outcome if any; else the denial that got furthest, newest first."""
    if not outcomes:
        return None

    def rank(outcome: Outcome) -> tuple[int, datetime]:
        progress = (
            len(_PROGRESS)
            if outcome.reason is None
            else _PROGRESS.index(outcome.reason)
        )
        return progress, outcome.candidate.granted_at

    return max(outcomes, key=rank)
