"""Organizations confirm they acted on a notice; how long that took, per recipient."""

from dataclasses import dataclass
from datetime import datetime
from statistics import median
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.actors import Actor
from consents.errors import ConsentStillLiveError, NotFoundError, ValidationError
from consents.models import Consent, Organization
from consents.propagation.models import Acknowledgement

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
    from consents.services.lifecycle import record_consent_event

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


@dataclass(frozen=True)
class AcknowledgementTimes:
    organization: str
    count: int
    median_seconds: float
    slowest_seconds: float


def acknowledgement_times(
    organization: Organization | None = None,
) -> list[AcknowledgementTimes]:
    """Per organization: how soon after a consent ended it confirmed it stopped."""
    rows = Acknowledgement.objects.filter(action=Acknowledgement.Action.STOPPED)
    if organization is not None:
        rows = rows.filter(organization=organization)
    by_org: dict[str, list[float]] = {}
    for code, seconds in rows.values_list("organization__code", "seconds_after_end"):
        by_org.setdefault(code, []).append(seconds)
    return [
        AcknowledgementTimes(code, len(times), median(times), max(times))
        for code, times in sorted(by_org.items())
    ]
