"""Reads shared by the portal, the API and the services; each avoids N+1 queries."""

from dataclasses import dataclass
from datetime import datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from audit.models import AuditEvent
from consents import pii
from consents.models import (
    Consent,
    ConsentRequest,
    DataSubject,
    Organization,
    Purpose,
    PurposeVersion,
    SubjectReference,
    Transfer,
)


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s day in the service's time zone (limits are daily)."""
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def uses_today(consent_id: UUID, *, now: datetime) -> int:
    """Distinct allowed checks that led to a recorded transfer today.

    Both parties may report the same movement of data; they share a decision id,
    so it counts once against the consent's daily limit.
    """
    return (
        Transfer.objects.filter(consent_id=consent_id, occurred_at__gte=day_start(now))
        .values("decision_id")
        .distinct()
        .count()
    )


def _with_terms(queryset: QuerySet[Consent]) -> QuerySet[Consent]:
    return queryset.select_related(
        "recipient", "purpose", "purpose_version", "subject"
    ).prefetch_related("holders", "scopes")


def consents_for_subject(
    subject: DataSubject, *, status: str | None = None
) -> QuerySet[Consent]:
    queryset = Consent.objects.filter(subject=subject)
    if status:
        queryset = queryset.filter(status=status)
    return _with_terms(queryset).order_by("recipient__name", "-granted_at")


def consent_for_subject(subject: DataSubject, consent_id: UUID) -> Consent | None:
    """The subject's own consent, or None (another person's looks like no consent)."""
    return _with_terms(Consent.objects.filter(subject=subject, pk=consent_id)).first()


def consents_for_organization(
    organization: Organization,
    *,
    subject_ref: str | None = None,
    status: str | None = None,
    purpose: str | None = None,
) -> QuerySet[Consent]:
    """Consents in which the organization is the recipient or a named holder."""
    recipient_side = Consent.objects.filter(recipient=organization)
    holder_side = Consent.objects.filter(holders=organization)
    # Two index-friendly halves instead of an OR across a join; order_by() drops
    # the default ordering, which compound statements do not allow in subqueries.
    queryset = Consent.objects.filter(
        pk__in=recipient_side.values("pk")
        .order_by()
        .union(holder_side.values("pk").order_by())
    )
    if subject_ref is not None:
        queryset = queryset.filter(
            subject__references__organization=organization,
            subject__references__reference=subject_ref,
        )
    if status:
        queryset = queryset.filter(status=status)
    if purpose:
        queryset = queryset.filter(purpose__code=purpose)
    own_references = Prefetch(
        "subject__references",
        queryset=SubjectReference.objects.filter(organization=organization),
    )
    return (
        _with_terms(queryset)
        .prefetch_related(own_references)
        .order_by("-granted_at", "id")
    )


def consent_for_organization(
    organization: Organization, consent_id: UUID
) -> Consent | None:
    """A consent the organization has a role in, or None: outsiders learn nothing."""
    return consents_for_organization(organization).filter(pk=consent_id).first()


def subject_by_identifier(identifier: str) -> DataSubject | None:
    lookup = pii.identifier_lookup_hash(identifier)
    return DataSubject.objects.filter(identifier_hash=lookup).first()


@dataclass(frozen=True)
class SubjectPersonalData:
    identifier: str
    name: str
    contact: str


def subject_personal_data(subject: DataSubject) -> SubjectPersonalData:
    """Decrypt the subject's fields; raises `pii.KeyErasedError` after erasure."""
    wrapped = (
        pii.WrappedKey(subject.data_key_id, bytes(subject.wrapped_key))
        if subject.wrapped_key is not None
        else None
    )
    data_key = pii.unwrap_data_key(subject.id, wrapped)

    def field(name: str, sealed: bytes | None) -> str:
        return pii.unseal(data_key, subject.id, name, sealed) if sealed else ""

    return SubjectPersonalData(
        identifier=field("identifier", subject.identifier_enc),
        name=field("name", subject.name_enc),
        contact=field("contact", subject.contact_enc),
    )


def consent_history(consent_id: UUID) -> QuerySet[AuditEvent]:
    """Every audit event about one consent, oldest first."""
    return AuditEvent.objects.filter(consent_id=consent_id).order_by("sequence")


def subject_activity(
    subject: DataSubject, *, recipient: str | None = None
) -> QuerySet[AuditEvent]:
    """Checks and transfers on the subject's data, newest first."""
    queryset = AuditEvent.objects.filter(
        subject=subject.pseudonym, action__in=["consent.checked", "transfer.recorded"]
    )
    if recipient:
        queryset = queryset.filter(recipient=recipient)
    return queryset.order_by("-sequence")


def current_catalog() -> QuerySet[Purpose]:
    """Purposes that have a published version, each with `current_versions[0]`."""
    newest_first = PurposeVersion.objects.order_by("-version")
    return (
        Purpose.objects.filter(versions__isnull=False)
        .distinct()
        .prefetch_related(
            Prefetch("versions", queryset=newest_first, to_attr="current_versions")
        )
        .order_by("code")
    )


def consent_request_for_recipient(
    organization: Organization, request_id: UUID
) -> ConsentRequest | None:
    return (
        ConsentRequest.objects.select_related("purpose_version__purpose")
        .filter(recipient=organization, pk=request_id)
        .first()
    )
