"""The check before every transfer: may this organization process this person's data?

The hot path of the platform. An allowed check costs one query for the decision
(the caller's reference, the person and every candidate consent with its frozen
terms, the counterparty's status) and one statement to stage its audit event.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q, Subquery
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
from consents.models import Consent, ConsentHolder, Organization, SubjectReference
from consents.selectors import uses_today


def _known_codes(scopes: Sequence[str], counterparty: str | None) -> CatalogSnapshot:
    """The catalog snapshot, after making sure every code asked about exists."""
    snapshot = catalog()
    for attempt in (1, 2):
        unknown = sorted(set(scopes) - snapshot.scopes)
        stranger = (
            counterparty is not None and counterparty not in snapshot.organizations
        )
        if not unknown and not stranger:
            return snapshot
        if attempt == 1:
            snapshot = catalog(missing=True)
    if unknown:
        raise ValidationError(
            "unknown scopes", fields={"scopes": [f"unknown scope {c}" for c in unknown]}
        )
    raise ValidationError(
        "unknown counterparty", fields={"counterparty": ["unknown organization"]}
    )


def _candidate_rows(
    *, caller: Organization, subject_ref: str, purpose: str, counterparty: str | None
) -> list[Consent]:
    """Consents for this person and purpose in which the caller has a role."""
    role = Q(recipient=caller)
    if counterparty:
        named = ConsentHolder.objects.filter(
            consent=OuterRef("pk"), organization=caller
        )
        role |= Q(Exists(named), recipient__code=counterparty)
    queryset = (
        Consent.objects.filter(
            role,
            subject__references__organization=caller,
            subject__references__reference=subject_ref,
            purpose__code=purpose,
        )
        .exclude(status=Consent.Status.SUPERSEDED)
        .select_related("recipient", "subject")
        .only(
            "id",
            "status",
            "starts_at",
            "expires_at",
            "granted_at",
            "data_from",
            "data_to",
            "max_uses_per_day",
            "scope_codes",
            "holder_codes",
            "recipient__code",
            "recipient__status",
            "subject__pseudonym",
        )
    )
    if counterparty:
        status = Organization.objects.filter(code=counterparty).values("status")[:1]
        queryset = queryset.annotate(counterparty_status=Subquery(status))
    return list(queryset)


def _candidate(consent: Consent) -> Candidate:
    return Candidate(
        id=consent.id,
        status=consent.status,
        starts_at=consent.starts_at,
        expires_at=consent.expires_at,
        recipient=consent.recipient.code,
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
    pseudonym = rows[0].subject.pseudonym
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
        getattr(row, "counterparty_status", None)
        if row.recipient_id == caller.pk
        else row.recipient.status
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
    if data_from and data_to and data_to < data_from:
        raise ValidationError("bad window", fields={"data_to": ["before data_from"]})
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
