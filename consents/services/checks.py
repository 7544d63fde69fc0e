"""The check before every transfer: may this organization process this person's data?"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actors import Actor
from audit.services import record_event
from consents.decisions import (
    Candidate,
    ConsentDecision,
    Outcome,
    Reason,
    best_outcome,
    evaluate,
)
from consents.errors import ValidationError
from consents.models import Consent, Organization, Purpose, Scope, SubjectReference
from consents.scopes import ancestors_and_self
from consents.selectors import uses_today


def _sensitive_scopes(codes: Sequence[str]) -> set[str]:
    lineage = {ancestor for code in codes for ancestor in ancestors_and_self(code)}
    known = dict(
        Scope.objects.filter(code__in=lineage).values_list("code", "sensitive")
    )
    unknown = sorted(set(codes) - known.keys())
    if unknown:
        raise ValidationError(
            "unknown scopes", fields={"scopes": [f"unknown scope {c}" for c in unknown]}
        )
    return {code for code, sensitive in known.items() if sensitive}


def _candidates(
    *, caller: Organization, subject_id, purpose: Purpose, counterparty: str | None
) -> list[tuple[Candidate, str | None]]:
    """Consents in which the caller has a role, each with the holder to test."""
    as_recipient = Q(recipient=caller)
    as_holder = Q(holders=caller, recipient__code=counterparty) if counterparty else Q()
    role = as_recipient | as_holder if counterparty else as_recipient
    consents = (
        Consent.objects.filter(role, subject_id=subject_id, purpose=purpose)
        .exclude(status=Consent.Status.SUPERSEDED)
        .select_related("recipient")
        .prefetch_related("holders", "scopes")
        .distinct()
    )
    result = []
    for consent in consents:
        caller_is_recipient = consent.recipient_id == caller.pk
        candidate = Candidate(
            id=consent.id,
            status=consent.status,
            starts_at=consent.starts_at,
            expires_at=consent.expires_at,
            recipient=consent.recipient.code,
            holders=frozenset(h.code for h in consent.holders.all()),
            scopes=frozenset(s.code for s in consent.scopes.all()),
            data_from=consent.data_from,
            data_to=consent.data_to,
            max_uses_per_day=consent.max_uses_per_day,
            granted_at=consent.granted_at,
        )
        result.append((candidate, counterparty if caller_is_recipient else caller.code))
    return result


def _decide(
    *,
    caller: Organization,
    reference: SubjectReference | None,
    purpose: Purpose | None,
    scopes: Sequence[str],
    counterparty: Organization | None,
    counterparty_code: str | None,
    data_from: date | None,
    data_to: date | None,
    now: datetime,
) -> tuple[ConsentDecision, Outcome | None]:
    if not caller.is_active or (
        counterparty is not None and not counterparty.is_active
    ):
        return ConsentDecision(False, Reason.ORGANIZATION_SUSPENDED), None
    if reference is None:
        return ConsentDecision(False, Reason.UNKNOWN_SUBJECT), None
    if purpose is None:
        return ConsentDecision(False, Reason.UNKNOWN_PURPOSE), None
    sensitive = _sensitive_scopes(scopes)
    outcomes = [
        evaluate(
            candidate,
            now=now,
            holder=holder,
            scopes=scopes,
            sensitive=sensitive,
            data_from=data_from,
            data_to=data_to,
        )
        for candidate, holder in _candidates(
            caller=caller,
            subject_id=reference.subject_id,
            purpose=purpose,
            counterparty=counterparty_code,
        )
    ]
    best = best_outcome(outcomes)
    if best is None:
        return ConsentDecision(False, Reason.NO_CONSENT), None
    consent = best.candidate
    reason = best.reason
    limit = consent.max_uses_per_day
    if (
        reason is None
        and limit is not None
        and uses_today(consent.id, now=now) >= limit
    ):
        reason = Reason.FREQUENCY_EXCEEDED
    holder = counterparty_code if consent.recipient == caller.code else caller.code
    decision = ConsentDecision(
        allowed=reason is None,
        reason=reason,
        consent_id=consent.id,
        expires_at=consent.expires_at,
        missing_scopes=best.missing,
        recipient=consent.recipient,
        holder=holder or "",
    )
    return decision, best


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
    """Decide and audit one check; `decision_id` names the audit event."""
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
    reference = (
        SubjectReference.objects.select_related("subject")
        .filter(organization=caller, reference=subject_ref)
        .first()
    )
    purpose = Purpose.objects.filter(code=purpose_code).first()
    other = (
        Organization.objects.filter(code=counterparty).first() if counterparty else None
    )
    if counterparty and other is None:
        raise ValidationError(
            "unknown counterparty", fields={"counterparty": ["unknown organization"]}
        )
    with transaction.atomic():
        decision, _ = _decide(
            caller=caller,
            reference=reference,
            purpose=purpose,
            scopes=scopes,
            counterparty=other,
            counterparty_code=counterparty,
            data_from=data_from,
            data_to=data_to,
            now=now,
        )
        event = record_event(
            action="consent.checked",
            actor=Actor("organization", caller.code),
            subject=reference.subject.pseudonym if reference else "",
            recipient=decision.recipient or caller.code,
            purpose=purpose_code if purpose else "",
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
    return replace(decision, decision_id=event.event_id)
