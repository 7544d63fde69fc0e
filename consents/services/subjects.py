"""Registering, linking and erasing data subjects."""

from typing import cast
from uuid import UUID, uuid4
from zoneinfo import available_timezones

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import record_event
from consents import pii, selectors
from consents.errors import NotFoundError, SubjectErasedError, ValidationError
from consents.models import Consent, DataSubject, Organization, SubjectReference
from consents.services.lifecycle import _apply_transition


def register_subject(
    *,
    identifier: str | None,
    actor: Actor,
    name: str = "",
    contact: str = "",
    user: User | None = None,
) -> DataSubject:
    """Create a subject whose personal fields are sealed under their own data key.

    Without an identifier the person is known only through organizations'
    references until they link a verified identifier.
    """
    if identifier is not None and not pii.normalize_identifier(identifier):
        raise ValidationError("empty identifier", fields={"identifier": ["required"]})
    subject_id = uuid4()
    data_key, wrapped = pii.new_data_key(subject_id)
    normalized = pii.normalize_identifier(identifier) if identifier else None
    subject = DataSubject(
        id=subject_id,
        user=user,
        identifier_hash=pii.identifier_lookup_hash(identifier) if identifier else None,
        identifier_enc=pii.seal(data_key, subject_id, "identifier", normalized)
        if normalized
        else None,
        name_enc=pii.seal(data_key, subject_id, "name", name) if name else None,
        contact_enc=pii.seal(data_key, subject_id, "contact", contact)
        if contact
        else None,
        data_key_id=wrapped.key_id,
        wrapped_key=wrapped.wrapped,
    )
    try:
        with transaction.atomic():
            subject.save(force_insert=True)
            record_event(
                action="subject.registered", actor=actor, subject=subject.pseudonym
            )
    except IntegrityError as exc:
        raise ValidationError(
            "a subject with this identifier exists",
            fields={"identifier": ["already registered"]},
        ) from exc
    return subject


def set_subject_time_zone(*, subject: DataSubject, time_zone: str) -> DataSubject:
    """The zone the person's dates are shown in; empty returns to the default."""
    if time_zone and time_zone not in available_timezones():
        raise ValidationError("unknown time zone", fields={"time_zone": ["unknown"]})
    subject.time_zone = time_zone
    subject.save(update_fields=["time_zone"])
    return subject


def link_subject_reference(
    *, organization: Organization, subject: DataSubject, reference: str, actor: Actor
) -> SubjectReference:
    """Give an organization its own pairwise name for a subject (idempotent)."""
    reference = reference.strip()
    if not reference or len(reference) > 128:
        raise ValidationError("bad reference", fields={"subject_ref": ["1-128 chars"]})
    with transaction.atomic():
        existing = SubjectReference.objects.filter(
            organization=organization, subject=subject
        ).first()
        if existing is not None:
            if existing.reference != reference:
                raise ValidationError(
                    "this organization already names the subject differently",
                    fields={"subject_ref": ["already linked under another reference"]},
                )
            return existing
        if SubjectReference.objects.filter(
            organization=organization, reference=reference
        ).exists():
            raise ValidationError(
                "reference in use", fields={"subject_ref": ["names another person"]}
            )
        link = SubjectReference.objects.create(
            organization=organization, subject=subject, reference=reference
        )
        record_event(
            action="subject_reference.linked",
            actor=actor,
            subject=subject.pseudonym,
            payload={"organization": organization.code},
        )
    return link


def erase_subject(*, subject_id: UUID, actor: Actor, reason: str = "") -> DataSubject:
    """Revoke the subject's live consents and destroy their data key.

    Their encrypted fields become unreadable; consents, references and audit events
    stay, naming only the pseudonym, so the audit chain remains verifiable.
    """
    now = timezone.now()
    with transaction.atomic():
        subject = DataSubject.objects.select_for_update().filter(pk=subject_id).first()
        if subject is None:
            raise NotFoundError("subject not found")
        if subject.is_erased:
            raise SubjectErasedError("the subject was already erased")
        live = (
            Consent.objects.select_for_update(of=("self",))
            .select_related("subject", "recipient", "purpose")
            .filter(subject=subject, status__in=Consent.LIVE_STATUSES)
        )
        for consent in live:
            _apply_transition(
                consent,
                to=Consent.Status.REVOKED,
                actor=actor,
                reason="subject erased",
                now=now,
            )
        subject.wrapped_key = None
        subject.identifier_hash = None
        subject.erased_at = now
        subject.save(update_fields=["wrapped_key", "identifier_hash", "erased_at"])
        record_event(
            action="subject.erased",
            actor=actor,
            subject=subject.pseudonym,
            payload={"reason": reason[:500]},
        )
    return subject


def subject_for_reference(
    *,
    organization: Organization,
    reference: str,
    identifier: str | None,
    actor: Actor,
) -> DataSubject:
    """The person an organization names by `reference`, registering them if new.

    A verified identifier links the reference to the person's existing record
    (and so to their portal account); without one a new pseudonymous subject is
    made the first time.
    """
    with transaction.atomic():
        known = (
            SubjectReference.objects.select_related("subject")
            .filter(organization=organization, reference=reference)
            .first()
        )
        if known is not None:
            if identifier and known.subject.identifier_hash not in (
                None,
                pii.identifier_lookup_hash(identifier),
            ):
                raise ValidationError(
                    "the reference names another person",
                    fields={"subject_identifier": ["does not match subject_ref"]},
                )
            return known.subject
        subject = selectors.subject_by_identifier(identifier) if identifier else None
        if subject is None:
            subject = register_subject(identifier=identifier, actor=actor)
        link_subject_reference(
            organization=organization, subject=subject, reference=reference, actor=actor
        )
    return subject


def link_holder_reference(
    *, holder: Organization, reference: str, identifier: str, actor: Actor
) -> SubjectReference:
    """A holder named in someone's consent links its own reference to them.

    Not found unless a consent names this holder for that person, so the call
    cannot be used to probe who is registered.
    """
    subject = selectors.subject_by_identifier(identifier)
    named = (
        subject is not None
        and Consent.objects.filter(subject=subject, holders=holder).exists()
    )
    if not named:
        raise NotFoundError("no consent names this organization for that person")
    return link_subject_reference(
        organization=holder,
        subject=cast(DataSubject, subject),  # `named`: not None
        reference=reference,
        actor=actor,
    )
