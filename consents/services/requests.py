"""Consent requests: a recipient asks, the person approves (all or some) or denies."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import SYSTEM, Actor
from audit.services import record_event
from consents.errors import InvalidTransitionError, NotFoundError, ValidationError
from consents.models import Consent, ConsentRequest, DataSubject, Organization
from consents.services.lifecycle import grant_consent
from consents.services.subjects import link_subject_reference
from consents.terms import validate_period, validate_terms, validate_window
from consents.webhooks.outbox import queue_request_notices

Status = ConsentRequest.Status


def _record_request_event(
    request: ConsentRequest, *, action: str, actor: Actor, **payload
) -> None:
    record_event(
        action=action,
        actor=actor,
        subject=request.subject.pseudonym if request.subject else "",
        recipient=request.recipient.code,
        purpose=request.purpose_version.purpose.code,
        consent_id=request.consent_id,
        payload={"request_id": str(request.id), **payload},
    )


def create_consent_request(
    *,
    recipient: Organization,
    subject_ref: str,
    purpose_code: str,
    scope_codes: Sequence[str],
    redirect_uri: str,
    state: str = "",
    holder_codes: Sequence[str] = (),
    duration_days: int | None = None,
    data_from: date | None = None,
    data_to: date | None = None,
    max_uses_per_day: int | None = None,
    now: datetime | None = None,
) -> ConsentRequest:
    """Store what the recipient asks for, validated now so the person sees it."""
    now = now or timezone.now()
    if not recipient.is_active:
        raise ValidationError(
            "recipient suspended", fields={"recipient": ["suspended"]}
        )
    version, scopes, holders = validate_terms(
        purpose_code=purpose_code,
        scope_codes=scope_codes,
        holder_codes=holder_codes,
        recipient=recipient,
    )
    starts, expires = validate_period(
        version=version,
        now=now,
        starts_at=None,
        expires_at=None,
        duration_days=duration_days,
    )
    validate_window(data_from, data_to)
    if not subject_ref.strip():
        raise ValidationError("no subject", fields={"subject_ref": ["required"]})
    with transaction.atomic():
        request = ConsentRequest.objects.create(
            recipient=recipient,
            subject_reference=subject_ref.strip(),
            purpose_version=version,
            scope_codes=[scope.code for scope in scopes],
            holder_codes=[holder.code for holder in holders],
            duration_days=(expires - starts).days,
            data_from=data_from,
            data_to=data_to,
            max_uses_per_day=max_uses_per_day,
            redirect_uri=redirect_uri,
            state=state,
            created_at=now,
            expires_at=now + timedelta(hours=settings.CMP_CONSENT_REQUEST_TTL_HOURS),
        )
        _record_request_event(
            request,
            action="consent_request.created",
            actor=Actor("organization", recipient.code),
            scopes=request.scope_codes,
        )
    return request


def _lock_pending(request_id: UUID, now: datetime) -> ConsentRequest:
    request = (
        ConsentRequest.objects.select_for_update(of=("self",))
        .select_related("recipient", "purpose_version__purpose", "subject")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFoundError("consent request not found")
    if request.status != Status.PENDING:
        raise InvalidTransitionError(f"the request is already {request.status}")
    if now >= request.expires_at:
        raise InvalidTransitionError("the request has expired")
    return request


def approve_consent_request(
    *,
    request_id: UUID,
    subject: DataSubject,
    scope_codes: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Consent:
    """Grant the requested consent, for all scopes or the subset the person chose."""
    now = now or timezone.now()
    actor = Actor("subject", subject.pseudonym)
    with transaction.atomic():
        request = _lock_pending(request_id, now)
        chosen = list(request.scope_codes if scope_codes is None else scope_codes)
        extra = sorted(set(chosen) - set(request.scope_codes))
        if not chosen or extra:
            raise ValidationError(
                "choose among the requested scopes",
                fields={
                    "scopes": [f"not requested: {c}" for c in extra] or ["required"]
                },
            )
        link_subject_reference(
            organization=request.recipient,
            subject=subject,
            reference=request.subject_reference,
            actor=actor,
        )
        consent = grant_consent(
            subject=subject,
            recipient=request.recipient,
            purpose_code=request.purpose_version.purpose.code,
            scope_codes=chosen,
            holder_codes=request.holder_codes,
            duration_days=request.duration_days,
            data_from=request.data_from,
            data_to=request.data_to,
            max_uses_per_day=request.max_uses_per_day,
            actor=actor,
            collection_method=Consent.CollectionMethod.CONSENT_REQUEST,
            evidence={"consent_request": str(request.id)},
            purpose_version=request.purpose_version,
            now=now,
        )
        request.status, request.subject, request.consent = (
            Status.APPROVED,
            subject,
            consent,
        )
        request.decided_at = now
        request.save(update_fields=["status", "subject", "consent", "decided_at"])
        _record_request_event(
            request,
            action="consent_request.approved",
            actor=actor,
            scopes=sorted(chosen),
        )
        queue_request_notices(request, event_type="consent_request.approved", now=now)
    return consent


def deny_consent_request(
    *, request_id: UUID, subject: DataSubject, now: datetime | None = None
) -> ConsentRequest:
    """The person says no; nothing is granted and the recipient learns the outcome."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock_pending(request_id, now)
        request.status, request.subject, request.decided_at = (
            Status.DENIED,
            subject,
            now,
        )
        request.save(update_fields=["status", "subject", "decided_at"])
        _record_request_event(
            request,
            action="consent_request.denied",
            actor=Actor("subject", subject.pseudonym),
        )
        queue_request_notices(request, event_type="consent_request.denied", now=now)
    return request


def expire_stale_consent_requests(*, now: datetime | None = None) -> int:
    """Close pending requests nobody answered in time."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            ConsentRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "purpose_version__purpose", "subject")
            .filter(status=Status.PENDING, expires_at__lte=now)[:1000]
        )
        for request in stale:
            request.status, request.decided_at = Status.EXPIRED, now
            request.save(update_fields=["status", "decided_at"])
            _record_request_event(
                request, action="consent_request.expired", actor=SYSTEM
            )
    return len(stale)
