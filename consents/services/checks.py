"""The check before every transfer: may this organization process this person's data?

The hot path of the platform. An allowed check costs one query for the decision
(the caller's reference, the person and every candidate consent with its frozen
terms, the counterparty's status) and one statement to stage its audit event.
"""

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import NamedTuple
from uuid import UUID

from django.db import connection
from django.utils import timezone

from audit.actors import Actor
from audit.services import stage_event
from consents.catalog_cache import CatalogSnapshot, catalog
from consents.decisions import (
    Candidate,
    ConsentDecision,
    Reason,
    best_outcome,
    evaluate,
)
from consents.errors import ValidationError
from consents.models import Consent, Organization, SubjectReference
from consents.selectors import uses_today
from consents.services.lifecycle import validate_window


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


# The decision's one query, hand-written because it runs on every check: the
# caller's reference, the person, each consent for the purpose in which the caller
# is the recipient (or a named holder asking about the recipient), with its frozen
# terms and both organizations' status. Manager.raw still applies field converters.
_CANDIDATES_SQL = """
SELECT c.id, c.status, c.starts_at, c.expires_at, c.granted_at, c.data_from,
       c.data_to, c.max_uses_per_day, c.scope_codes, c.holder_codes, c.recipient_id,
       r.code AS recipient_code, r.status AS recipient_status,
       s.pseudonym AS subject_pseudonym,
       (SELECT o.status FROM consents_organization o WHERE o.code = %s)
           AS counterparty_status
FROM consents_subjectreference ref
JOIN consents_datasubject s ON s.id = ref.subject_id
JOIN consents_consent c ON c.subject_id = ref.subject_id
JOIN consents_purpose p ON p.id = c.purpose_id
JOIN consents_organization r ON r.id = c.recipient_id
WHERE ref.organization_id = %s AND ref.reference = %s AND p.code = %s
  AND c.status <> 'superseded'
  AND (c.recipient_id = %s
       OR (r.code = %s AND EXISTS (
           SELECT 1 FROM consents_consentholder h
           WHERE h.consent_id = c.id AND h.organization_id = %s)))
"""


class _Row(NamedTuple):
    """One row of `_CANDIDATES_SQL`, in its column order."""

    id: UUID
    status: str
    starts_at: datetime
    expires_at: datetime
    granted_at: datetime
    data_from: date | None
    data_to: date | None
    max_uses_per_day: int | None
    scope_codes: list[str]
    holder_codes: list[str]
    recipient_id: int
    recipient_code: str
    recipient_status: str
    subject_pseudonym: str
    counterparty_status: str | None


def _candidate_rows(
    *, caller: Organization, subject_ref: str, purpose: str, counterparty: str | None
) -> list[_Row]:
    """Consents for this person and purpose in which the caller has a role."""
    params = [
        counterparty,
        caller.pk,
        subject_ref,
        purpose,
        caller.pk,
        counterparty,
        caller.pk,
    ]
    if connection.vendor != "postgresql":
        # Other backends return text for dates and ids: let the model convert.
        consents = Consent.objects.raw(_CANDIDATES_SQL, params)
        return [_Row(*(getattr(c, name) for name in _Row._fields)) for c in consents]
    # psycopg already returns ids, aware datetimes and dates; Django loads jsonb
    # as text. A plain cursor skips building model instances on every check.
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        rows = cursor.fetchall()
    return [
        _Row(*row[:8], json.loads(row[8]), json.loads(row[9]), *row[10:])
        for row in rows
    ]


def _candidate(consent: _Row) -> Candidate:
    return Candidate(
        id=consent.id,
        status=consent.status,
        starts_at=consent.starts_at,
        expires_at=consent.expires_at,
        recipient=consent.recipient_code,
        holders=frozenset(consent.holder_codes),
        scopes=frozenset(consent.scope_codes),
        data_from=consent.data_from,
        data_to=consent.data_to,
        max_uses_per_day=consent.max_uses_per_day,
        granted_at=consent.granted_at,
    )


def _without_consent(
    caller: Organization, subject_ref: str, purpose: str, snapshot: CatalogSnapshot
) -> tuple[Reason, str]:
    """Why nothing matched: the reference, the purpose, or simply no consent."""
    reference = (
        SubjectReference.objects.filter(organization=caller, reference=subject_ref)
        .values_list("subject__pseudonym", flat=True)
        .first()
    )
    if reference is None:
        return Reason.UNKNOWN_SUBJECT, ""
    if (
        purpose not in snapshot.purposes
        and purpose not in catalog(missing=True).purposes
    ):
        return Reason.UNKNOWN_PURPOSE, reference
    return Reason.NO_CONSENT, reference


def _decide(
    *,
    caller: Organization,
    subject_ref: str,
    purpose: str,
    scopes: Sequence[str],
    counterparty: str | None,
    data_from: date | None,
    data_to: date | None,
    now: datetime,
    snapshot: CatalogSnapshot,
) -> tuple[ConsentDecision, str]:
    """The decision and the person's pseudonym (empty when unresolved)."""
    if not caller.is_active:
        return ConsentDecision(False, Reason.ORGANIZATION_SUSPENDED), ""
    rows = _candidate_rows(
        caller=caller,
        subject_ref=subject_ref,
        purpose=purpose,
        counterparty=counterparty,
    )
    if not rows:
        reason, pseudonym = _without_consent(caller, subject_ref, purpose, snapshot)
        return ConsentDecision(False, reason), pseudonym
    pseudonym = rows[0].subject_pseudonym
    by_id = {row.id: row for row in rows}
    outcomes = []
    for row in rows:
        caller_is_recipient = row.recipient_id == caller.pk
        outcomes.append(
            evaluate(
                _candidate(row),
                now=now,
                holder=counterparty if caller_is_recipient else caller.code,
                scopes=scopes,
                sensitive=snapshot.sensitive,
                data_from=data_from,
                data_to=data_to,
            )
        )
    best = best_outcome(outcomes)
    consent, row = best.candidate, by_id[best.candidate.id]
    other_status = (
        row.counterparty_status
        if row.recipient_id == caller.pk
        else row.recipient_status
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
    holder = counterparty if consent.recipient == caller.code else caller.code
    decision = ConsentDecision(
        allowed=reason is None,
        reason=reason,
        consent_id=consent.id,
        expires_at=consent.expires_at,
        missing_scopes=best.missing if reason == Reason.SCOPE_NOT_GRANTED else [],
        recipient=consent.recipient,
        holder=holder or "",
    )
    return decision, pseudonym


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
) -> ConsentDecision:
    """Decide and audit one check; `decision_id` names its audit event.

    Reads run outside any transaction, each seeing what was committed when it
    started: once a revocation commits, the next check reads it and denies.
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
    decision, pseudonym = _decide(
        caller=caller,
        subject_ref=subject_ref,
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
        subject=pseudonym,
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
