"""Recording that personal data moved under an allowed check."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.selectors import RecordedEvent, find_check_event
from consents.decisions import Reason
from consents.errors import ConsentNotActiveError, NotFoundError, ValidationError
from consents.models import Consent, Organization, Transfer
from consents.selectors import uses_today
from consents.services.lifecycle import record_consent_event


def _allowed_decision(decision_id: UUID, reporter: Organization) -> RecordedEvent:
    """The allowed check this transfer follows; the reporter must be a party to it."""
    event = find_check_event(decision_id)
    parties = set()
    if event is not None:
        parties = {
            event.payload.get("caller"),
            event.recipient,
            event.payload.get("holder"),
        }
    if event is None or reporter.code not in parties:
        raise NotFoundError("decision not found")
    if not event.payload.get("allowed"):
        raise ValidationError(
            "the check denied this transfer", fields={"decision_id": ["not allowed"]}
        )
    return event


def _inactive_reason(consent: Consent, now: datetime) -> str | None:
    if consent.status != Consent.Status.ACTIVE:
        return consent.status
    if now < consent.starts_at:
        return Reason.NOT_STARTED
    if now >= consent.expires_at:
        return Reason.EXPIRED
    return None


def record_transfer(
    *,
    reporter: Organization,
    decision_id: UUID,
    scope_codes: Sequence[str],
    record_count: int,
    direction: str,
    counterparty: str | None = None,
    data_from: date | None = None,
    data_to: date | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Record a transfer; refused when the consent is not active or over its limit."""
    now = now or timezone.now()
    if direction not in Transfer.Direction.values:
        raise ValidationError(
            "bad direction", fields={"direction": ["sent or received"]}
        )
    if record_count < 0:
        raise ValidationError("bad count", fields={"record_count": ["zero or more"]})
    decision = _allowed_decision(decision_id, reporter)
    parties = {decision.recipient, decision.payload.get("holder")} - {reporter.code}
    if counterparty is not None and counterparty not in parties:
        raise ValidationError(
            "the counterparty is not the other party of this decision",
            fields={"counterparty": ["not a party to the decision"]},
        )
    ttl = timedelta(seconds=settings.CMP_DECISION_TTL_SECONDS)
    if now - decision.occurred_at > ttl:
        raise ValidationError(
            "the check is too old; check again before the transfer",
            fields={"decision_id": ["expired"]},
        )
    checked = set(decision.payload.get("scopes", []))
    beyond = sorted(set(scope_codes) - checked)
    if not scope_codes or beyond:
        raise ValidationError(
            "scopes must be among those checked",
            fields={
                "scopes": [f"not checked: {code}" for code in beyond] or ["required"]
            },
        )
    with transaction.atomic():
        # The row lock serialises transfers of one consent against each other and
        # against a revocation, so the daily limit and the status hold.
        consent = (
            Consent.objects.select_for_update(of=("self",))
            .select_related("subject", "recipient", "purpose")
            .get(pk=decision.consent_id)  # type: ignore[misc]  # allowed: it has one
        )
        reason = _inactive_reason(consent, now)
        if reason:
            raise ConsentNotActiveError(f"the consent is {reason}", reason=reason)
        already_counted = Transfer.objects.filter(
            consent=consent, decision_id=decision_id
        ).exists()
        limit = consent.max_uses_per_day
        if (
            limit is not None
            and not already_counted
            and uses_today(consent.id, now=now) >= limit
        ):
            raise ConsentNotActiveError(
                "the daily limit of uses is reached", reason=Reason.FREQUENCY_EXCEEDED
            )
        holder_code = decision.payload.get("holder")
        transfer = Transfer.objects.create(
            consent=consent,
            reported_by=reporter,
            holder=Organization.objects.filter(code=holder_code).first()
            if holder_code
            else None,
            recipient=consent.recipient,
            direction=direction,
            scope_codes=sorted(set(scope_codes)),
            record_count=record_count,
            data_from=data_from,
            data_to=data_to,
            decision_id=decision_id,
            occurred_at=now,
        )
        record_consent_event(
            consent,
            action="transfer.recorded",
            actor=Actor("organization", reporter.code),
            payload={
                "transfer_id": str(transfer.id),
                "decision_id": str(decision_id),
                "direction": direction,
                "holder": holder_code,
                "scopes": transfer.scope_codes,
                "record_count": record_count,
            },
        )
    return transfer
