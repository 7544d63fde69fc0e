"""Organizations confirm they acted on the end of a consent."""

from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.actors import Actor
from consents.errors import ConsentStillLiveError, NotFoundError, ValidationError
from consents.models import Consent, Organization
from consents.services.lifecycle import record_consent_event
from consents.webhooks.models import Acknowledgement

ENDED = (Consent.Status.REVOKED, Consent.Status.EXPIRED)


def _consent_with_role(organization: Organization, consent_id: UUID) -> Consent | None:
    """The consent, if the organization received, holds or moved data under it."""
    role = (
        Q(recipient=organization)
        | Q(holders=organization)
        | Q(transfers__reported_by=organization)
    )
    return (
        Consent.objects.select_related("subject", "recipient", "purpose")
        .filter(role, pk=consent_id)
        .distinct()
        .first()
    )


def acknowledge_consent_end(
    *,
    organization: Organization,
    consent_id: UUID,
    action: str,
    now: datetime | None = None,
) -> tuple[Acknowledgement, bool]:
    """Record that the organization stopped (or erased) after the consent ended.

    Saying it twice is harmless: the first acknowledgement stands and is returned
    with `False` (not new).
    """
    if action not in Acknowledgement.Action.values:
        raise ValidationError(
            "unknown action", fields={"action": ["stopped or erased"]}
        )
    consent = _consent_with_role(organization, consent_id)
    if consent is None:
        raise NotFoundError("consent not found")
    if consent.status not in ENDED:
        raise ConsentStillLiveError(
            f"the consent is {consent.status}: there is no end to acknowledge",
            fields={"status": [consent.status]},
        )
    existing = Acknowledgement.objects.filter(
        consent=consent, organization=organization, action=action
    ).first()
    if existing:
        return existing, False
    now = now or timezone.now()
    try:
        with transaction.atomic():
            acknowledgement = Acknowledgement.objects.create(
                consent=consent,
                organization=organization,
                action=action,
                acknowledged_at=now,
                seconds_after_end=max(
                    0.0, (now - consent.status_changed_at).total_seconds()
                ),
            )
            record_consent_event(
                consent,
                action="consent.acknowledged",
                actor=Actor("organization", organization.code),
                payload={
                    "action": action,
                    "status": consent.status,
                    # The audit log's canonical JSON takes no floats.
                    "seconds_after_end": f"{acknowledgement.seconds_after_end:.3f}",
                },
            )
    except IntegrityError:  # a concurrent, identical acknowledgement won
        return Acknowledgement.objects.get(
            consent=consent, organization=organization, action=action
        ), False
    return acknowledgement, True
