"""Granting consents and moving them through their states."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import record_event
from consents.errors import InvalidTransitionError, NotFoundError, ValidationError
from consents.models import (
    Consent,
    ConsentHolder,
    ConsentScope,
    DataSubject,
    Organization,
    PurposeVersion,
)
from consents.terms import validate_period, validate_terms, validate_window
from consents.webhooks.outbox import queue_consent_notices

Status = Consent.Status

# The only moves a consent may make; terminal states have no way out.
TRANSITIONS: dict[str, set[str]] = {
    Status.ACTIVE: {Status.PAUSED, Status.REVOKED, Status.EXPIRED, Status.SUPERSEDED},
    Status.PAUSED: {Status.ACTIVE, Status.REVOKED, Status.EXPIRED, Status.SUPERSEDED},
    Status.REVOKED: set(),
    Status.EXPIRED: set(),
    Status.SUPERSEDED: set(),
}


def record_consent_event(
    consent: Consent, *, action: str, actor: Actor, payload: Mapping[str, Any]
) -> AuditEvent:
    return record_event(
        action=action,
        actor=actor,
        subject=consent.subject.pseudonym,
        recipient=consent.recipient.code,
        purpose=consent.purpose.code,
        consent_id=consent.id,
        payload=payload,
    )


def transition_action(to: str) -> str:
    """The audit action and notice type of a move to `to`."""
    return f"consent.{to}" if to != Status.ACTIVE else "consent.resumed"


def transition_payload(previous: str, to: str, reason: str) -> dict[str, str]:
    return {"from": previous, "to": to, "reason": reason[:500]}


def _apply_transition(
    consent: Consent, *, to: str, actor: Actor, reason: str, now: datetime, **extra: Any
) -> AuditEvent:
    """Move a locked consent and record it; refuses any move not in TRANSITIONS."""
    if to not in TRANSITIONS[consent.status]:
        raise InvalidTransitionError(
            f"a {consent.status} consent cannot become {to}",
            fields={"status": [consent.status]},
        )
    previous = consent.status
    consent.status = to
    consent.status_changed_at = now
    consent.status_changed_by = str(actor)
    consent.status_reason = reason[:500]
    for name, value in extra.items():
        setattr(consent, name, value)
    update_fields = [
        "status",
        "status_changed_at",
        "status_changed_by",
        "status_reason",
    ]
    consent.save(update_fields=[*update_fields, *extra], _service=True)
    action = transition_action(to)
    event = record_consent_event(
        consent,
        action=action,
        actor=actor,
        payload=transition_payload(previous, to, reason),
    )
    # Every move is news to every party: a pause or a replacement stops their
    # sends as surely as a revocation, and a resumption lets them start again.
    queue_consent_notices(consent, event_type=action, now=now)
    return event


def _lock(consent_id: UUID) -> Consent:
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("subject", "recipient", "purpose")
        .filter(pk=consent_id)
        .first()
    )
    if consent is None:
        raise NotFoundError("consent not found")
    return consent


def _change_status(
    consent_id: UUID, *, to: str, actor: Actor, reason: str, now: datetime | None
) -> Consent:
    now = now or timezone.now()
    with transaction.atomic():
        consent = _lock(consent_id)
        if to == Status.ACTIVE and now >= consent.expires_at:
            raise InvalidTransitionError("the consent has expired and cannot resume")
        _apply_transition(consent, to=to, actor=actor, reason=reason, now=now)
    return consent


def pause_consent(
    *, consent_id: UUID, actor: Actor, reason: str = "", now: datetime | None = None
) -> Consent:
    """Suspend an active consent; checks deny until it is resumed."""
    return _change_status(
        consent_id, to=Status.PAUSED, actor=actor, reason=reason, now=now
    )


def resume_consent(
    *, consent_id: UUID, actor: Actor, reason: str = "", now: datetime | None = None
) -> Consent:
    """Reactivate a paused consent that has not yet expired."""
    return _change_status(
        consent_id, to=Status.ACTIVE, actor=actor, reason=reason, now=now
    )


def revoke_consent(
    *, consent_id: UUID, actor: Actor, reason: str = "", now: datetime | None = None
) -> Consent:
    """End a live consent for good; every check that starts after the commit denies."""
    return _change_status(
        consent_id, to=Status.REVOKED, actor=actor, reason=reason, now=now
    )


def revoke_recipient_consents(
    *,
    subject: DataSubject,
    recipient: Organization,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> list[Consent]:
    """End every live consent the person gave one recipient, all or none at once."""
    now = now or timezone.now()
    with transaction.atomic():
        live = list(
            Consent.objects.select_for_update(of=("self",))
            .select_related("subject", "recipient", "purpose")
            .filter(
                subject=subject, recipient=recipient, status__in=Consent.LIVE_STATUSES
            )
            .order_by("granted_at")
        )
        for consent in live:
            _apply_transition(
                consent, to=Status.REVOKED, actor=actor, reason=reason, now=now
            )
    return live


def grant_consent(
    *,
    subject: DataSubject,
    recipient: Organization,
    purpose_code: str,
    scope_codes: Sequence[str],
    actor: Actor,
    collection_method: str,
    holder_codes: Sequence[str] = (),
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    duration_days: int | None = None,
    data_from: date | None = None,
    data_to: date | None = None,
    max_uses_per_day: int | None = None,
    retention_days: int | None = None,
    evidence: Mapping[str, Any] | None = None,
    purpose_version: PurposeVersion | None = None,
    now: datetime | None = None,
) -> Consent:
    """Record a consent under the purpose's current version; supersede the live one.

    `purpose_version` pins the version a person was shown (an answered request).
    """
    now = now or timezone.now()
    if subject.is_erased:
        raise ValidationError("the subject was erased", fields={"subject": ["erased"]})
    if not recipient.is_active:
        raise ValidationError(
            "recipient suspended", fields={"recipient": ["suspended"]}
        )
    if collection_method not in Consent.CollectionMethod.values:
        raise ValidationError("bad method", fields={"collection_method": ["unknown"]})
    if collection_method == Consent.CollectionMethod.ORGANIZATION and not evidence:
        raise ValidationError(
            "evidence required", fields={"evidence": ["say where and how it was given"]}
        )
    validate_window(data_from, data_to)
    if max_uses_per_day is not None and max_uses_per_day < 1:
        raise ValidationError("bad limit", fields={"max_uses_per_day": ["at least 1"]})
    version, scopes, holders = validate_terms(
        purpose_code=purpose_code,
        scope_codes=scope_codes,
        holder_codes=holder_codes,
        recipient=recipient,
        pinned_version=purpose_version,
    )
    starts, expires = validate_period(
        version=version,
        now=now,
        starts_at=starts_at,
        expires_at=expires_at,
        duration_days=duration_days,
    )
    consent = Consent(
        id=uuid.uuid4(),
        subject=subject,
        recipient=recipient,
        purpose=version.purpose,
        purpose_version=version,
        scope_codes=sorted(scope.code for scope in scopes),
        holder_codes=sorted(holder.code for holder in holders),
        status=Status.ACTIVE,
        granted_at=now,
        starts_at=starts,
        expires_at=expires,
        data_from=data_from,
        data_to=data_to,
        max_uses_per_day=max_uses_per_day,
        retention_days=version.retention_days
        if retention_days is None
        else retention_days,
        collection_method=collection_method,
        evidence=dict(evidence or {}),
        granted_by=str(actor),
        status_changed_at=now,
        status_changed_by=str(actor),
    )
    with transaction.atomic():
        live = (
            Consent.objects.select_for_update(of=("self",))
            .select_related("subject", "recipient", "purpose")
            .filter(
                subject=subject,
                recipient=recipient,
                purpose=version.purpose,
                status__in=Consent.LIVE_STATUSES,
            )
        )
        # The old consent names its successor before the successor exists: the
        # foreign key is checked at commit, the one-live-consent rule at once.
        for old in live:
            _apply_transition(
                old,
                to=Status.SUPERSEDED,
                actor=actor,
                reason=f"superseded by {consent.id}",
                now=now,
                superseded_by_id=consent.id,
            )
        consent.save(force_insert=True, _service=True)
        ConsentScope.objects.bulk_create(
            ConsentScope(consent=consent, scope=scope) for scope in scopes
        )
        ConsentHolder.objects.bulk_create(
            ConsentHolder(consent=consent, organization=holder) for holder in holders
        )
        record_consent_event(
            consent,
            action="consent.granted",
            actor=actor,
            payload={
                "purpose_version": version.version,
                "scopes": [scope.code for scope in scopes],
                "holders": [holder.code for holder in holders],
                "starts_at": starts.isoformat(),
                "expires_at": expires.isoformat(),
                "data_from": data_from.isoformat() if data_from else None,
                "data_to": data_to.isoformat() if data_to else None,
                "max_uses_per_day": max_uses_per_day,
                "collection_method": collection_method,
            },
        )
        queue_consent_notices(consent, event_type="consent.granted", now=now)
    return consent
