"""The check before every transfer: may this organization process this person's data?

The hot path of the platform. A check costs one query for the decision (the
caller's token and status, its reference and the person, every candidate consent
with its frozen terms, the counterparty's status) and one statement that stages
its audit event, committed before the answer leaves (`audit.staging`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

import orjson
from django.db import connection
from django.utils import timezone

from audit.actors import Actor
from audit.services import stage_event
from cmp_common.db.cursors import fetch_all
from consents.catalog_cache import CatalogSnapshot, catalog
from consents.decisions import (
    Candidate,
    ConsentDecision,
    Outcome,
    Reason,
    best_outcome,
    evaluate,
)
from consents.errors import (
    CredentialRejectedError,
    NotFoundError,
    OrganizationSuspendedError,
    ValidationError,
)
from consents.models import Organization
from consents.selectors import uses_today
from consents.terms import validate_window


def _known_codes(scopes: Sequence[str], counterparty: str | None) -> CatalogSnapshot:
    """The catalog snapshot, after making sure every code asked about exists."""

    def gaps(snapshot: CatalogSnapshot) -> tuple[list[str], bool]:
        unknown = sorted(set(scopes) - snapshot.scopes)
        stranger = (
            counterparty is not None and counterparty not in snapshot.organizations
        )
        return unknown, stranger

    snapshot = catalog()
    unknown, stranger = gaps(snapshot)
    if unknown or stranger:
        snapshot = catalog(missing=True)
        unknown, stranger = gaps(snapshot)
    if not unknown and not stranger:
        return snapshot
    if unknown:
        raise ValidationError(
            "unknown scopes", fields={"scopes": [f"unknown scope {c}" for c in unknown]}
        )
    raise ValidationError(
        "unknown counterparty", fields={"counterparty": ["unknown organization"]}
    )


# The decision's one query, hand-written because it runs on every check. From the
# caller's organization (its status read fresh) it reaches, all in one round trip:
# the bearer token when the caller presents one (still there, still its own), the
# counterparty's status, the caller's reference and the person, and each consent
# for the purpose in which the caller is the recipient (or a named holder asking
# about the recipient), with its frozen terms. Outer joins keep one row when
# nothing matches, so an unknown person or a revoked token needs no second query.
_DECISION_SQL = """
SELECT o.status, t.scope, t.expires, cp.status, s.pseudonym,
       c.id, c.status, c.starts_at, c.expires_at, c.granted_at, c.data_from,
       c.data_to, c.max_uses_per_day, c.scope_codes, c.holder_codes,
       c.recipient_id, r.code, r.status
FROM consents_organization o
LEFT JOIN oauth2_provider_accesstoken t
       ON t.token_checksum = %s
      AND t.application_id IN (SELECT oc.application_id
                               FROM consents_organizationclient oc
                               WHERE oc.organization_id = o.id)
LEFT JOIN consents_organization cp ON cp.code = %s
LEFT JOIN consents_subjectreference ref
       ON ref.organization_id = o.id AND ref.reference = %s
LEFT JOIN consents_datasubject s ON s.id = ref.subject_id
LEFT JOIN consents_consent c
       ON c.subject_id = ref.subject_id
      AND c.purpose_id = (SELECT p.id FROM consents_purpose p WHERE p.code = %s)
      AND c.status <> 'superseded'
      AND (c.recipient_id = o.id
           OR (c.recipient_id = cp.id AND EXISTS (
               SELECT 1 FROM consents_consentholder h
               WHERE h.consent_id = c.id AND h.organization_id = o.id)))
LEFT JOIN consents_organization r ON r.id = c.recipient_id
WHERE o.id = %s
"""


@dataclass(frozen=True)
class Credential:
    """The bearer token a check arrived with: its stored checksum and the scope it
    must still carry. The decision's query confirms it, so a token revoked a moment
    ago is refused even when the caller's authentication came from a cache."""

    checksum: str
    scope: str


class _Row(NamedTuple):
    """One row of `_DECISION_SQL`, in its column order."""

    caller_status: str
    token_scope: str | None
    token_expires: datetime | None
    counterparty_status: str | None
    pseudonym: str | None
    id: UUID | None  # the candidate consent's; None when nothing matched
    status: str | None
    starts_at: datetime | None
    expires_at: datetime | None
    granted_at: datetime | None
    data_from: date | None
    data_to: date | None
    max_uses_per_day: int | None
    scope_codes: list[str] | None
    holder_codes: list[str] | None
    recipient_id: int | None
    recipient_code: str | None
    recipient_status: str | None


class _Candidacy(NamedTuple):
    consent: Candidate
    recipient_id: int
    recipient_status: str


class _Facts(NamedTuple):
    """What `_DECISION_SQL` says about the caller, the person and the candidates."""

    caller_status: str
    token_scope: str | None
    token_expires: datetime | None
    counterparty_status: str | None
    pseudonym: str | None
    candidates: list[_Candidacy]


def _typed(row: Sequence[Any], native: bool) -> _Row:
    """psycopg returns `native` values except jsonb (text under Django); SQLite
    returns naive datetimes, and text for ids and dates."""
    typed = _Row(*row)
    if not native:
        typed = typed._replace(
            token_expires=_aware(typed.token_expires),
            starts_at=_aware(typed.starts_at),
            expires_at=_aware(typed.expires_at),
            granted_at=_aware(typed.granted_at),
            id=UUID(typed.id) if isinstance(typed.id, str) else typed.id,
            data_from=_date(typed.data_from),
            data_to=_date(typed.data_to),
        )
    # Still the jsonb text here: _json makes the lists.
    return typed._replace(
        scope_codes=_json(cast(str | None, typed.scope_codes)),
        holder_codes=_json(cast(str | None, typed.holder_codes)),
    )


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _json(value: str | None) -> Any:
    return orjson.loads(value) if value is not None else None


def _facts(
    *,
    caller: Organization,
    credential: Credential | None,
    subject_ref: str,
    purpose: str,
    counterparty: str | None,
) -> _Facts:
    params = [
        credential.checksum if credential else None,
        counterparty,
        subject_ref,
        purpose,
        caller.pk,
    ]
    native = connection.vendor == "postgresql"
    rows = [_typed(row, native) for row in fetch_all(_DECISION_SQL, params)]
    if not rows:
        raise NotFoundError("no such organization")
    candidates = [
        _Candidacy(
            Candidate(
                id=row.id,
                status=row.status,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
                granted_at=row.granted_at,
                data_from=row.data_from,
                data_to=row.data_to,
                max_uses_per_day=row.max_uses_per_day,
                scopes=frozenset(row.scope_codes),
                holders=frozenset(row.holder_codes),
                recipient=row.recipient_code,
            ),
            row.recipient_id,
            row.recipient_status,
        )
        # A row with a candidate has every candidate column set (NULL: no match).
        for row in cast(list[Any], rows)
        if row.id is not None
    ]
    first = rows[0]
    return _Facts(
        caller_status=first.caller_status,
        token_scope=first.token_scope,
        token_expires=first.token_expires,
        counterparty_status=first.counterparty_status,
        pseudonym=first.pseudonym,
        candidates=candidates,
    )


def _confirm_token(facts: _Facts, credential: Credential, *, now: datetime) -> None:
    """The token is still the caller's, unexpired and scoped; the caller is active."""
    valid = (
        facts.token_scope is not None
        and facts.token_expires is not None
        and facts.token_expires > now
        and credential.scope in facts.token_scope.split()
    )
    if not valid:
        raise CredentialRejectedError("the access token is not valid")
    if facts.caller_status != Organization.Status.ACTIVE:
        raise OrganizationSuspendedError("the organization is suspended")


def _decide(
    facts: _Facts,
    *,
    caller: Organization,
    purpose: str,
    scopes: Sequence[str],
    counterparty: str | None,
    data_from: date | None,
    data_to: date | None,
    now: datetime,
    snapshot: CatalogSnapshot,
) -> ConsentDecision:
    if facts.caller_status != Organization.Status.ACTIVE:
        return ConsentDecision(False, Reason.ORGANIZATION_SUSPENDED)
    if facts.pseudonym is None:
        return ConsentDecision(False, Reason.UNKNOWN_SUBJECT)
    if not facts.candidates:
        known = (
            purpose in snapshot.purposes or purpose in catalog(missing=True).purposes
        )
        return ConsentDecision(
            False, Reason.NO_CONSENT if known else Reason.UNKNOWN_PURPOSE
        )
    outcomes = [
        evaluate(
            entry.consent,
            now=now,
            holder=counterparty if entry.recipient_id == caller.pk else caller.code,
            scopes=scopes,
            sensitive=snapshot.sensitive,
            data_from=data_from,
            data_to=data_to,
        )
        for entry in facts.candidates
    ]
    best = cast(Outcome, best_outcome(outcomes))  # one outcome per candidate
    consent = best.candidate
    chosen = next(entry for entry in facts.candidates if entry.consent is consent)
    caller_is_recipient = chosen.recipient_id == caller.pk
    other_status = (
        facts.counterparty_status if caller_is_recipient else chosen.recipient_status
    )
    reason = best.reason
    if counterparty and other_status != Organization.Status.ACTIVE:
        reason = Reason.ORGANIZATION_SUSPENDED
    limit = consent.max_uses_per_day
    if (
        reason is None
        and limit is not None
        and uses_today(consent.id, now=now) >= limit
    ):
        reason = Reason.FREQUENCY_EXCEEDED
    return ConsentDecision(
        allowed=reason is None,
        reason=reason,
        consent_id=consent.id,
        expires_at=consent.expires_at,
        missing_scopes=best.missing if reason == Reason.SCOPE_NOT_GRANTED else [],
        recipient=consent.recipient,
        holder=(counterparty if caller_is_recipient else caller.code) or "",
    )


def check_consent(
    *,
    caller: Organization,
    subject_ref: str,
    purpose_code: str,
    scope_codes: Sequence[str],
    counterparty: str | None = None,
    data_from: date | None = None,
    data_to: date | None = None,
    now: datetime | None = None,
    credential: Credential | None = None,
) -> ConsentDecision:
    """Decide and audit one check; `decision_id` names its audit event.

    One query, outside any transaction, sees what was committed when it started:
    once a revocation commits, the next check reads it and denies. With a
    `credential`, the same query refuses a token revoked or an organization
    suspended since (nothing is audited then: it was never a check).
    """
    now = now or timezone.now()
    scopes = sorted(set(scope_codes))
    if not scopes:
        raise ValidationError("no scopes", fields={"scopes": ["at least one scope"]})
    validate_window(data_from, data_to)
    if counterparty == caller.code:
        raise ValidationError(
            "counterparty is the caller",
            fields={"counterparty": ["another organization"]},
        )
    snapshot = _known_codes(scopes, counterparty)
    facts = _facts(
        caller=caller,
        credential=credential,
        subject_ref=subject_ref,
        purpose=purpose_code,
        counterparty=counterparty,
    )
    if credential is not None:
        _confirm_token(facts, credential, now=now)
    decision = _decide(
        facts,
        caller=caller,
        purpose=purpose_code,
        scopes=scopes,
        counterparty=counterparty,
        data_from=data_from,
        data_to=data_to,
        now=now,
        snapshot=snapshot,
    )
    event_id = stage_event(
        action="consent.checked",
        actor=Actor("organization", caller.code),
        subject=facts.pseudonym or "",
        recipient=decision.recipient or caller.code,
        purpose=purpose_code if decision.reason != Reason.UNKNOWN_PURPOSE else "",
        consent_id=decision.consent_id,
        payload={
            "allowed": decision.allowed,
            "reason": decision.reason.value if decision.reason else None,
            "caller": caller.code,
            "counterparty": counterparty,
            "holder": decision.holder or None,
            "scopes": scopes,
            "missing_scopes": decision.missing_scopes,
            "data_from": data_from.isoformat() if data_from else None,
            "data_to": data_to.isoformat() if data_to else None,
        },
    )
    return replace(decision, decision_id=event_id)
