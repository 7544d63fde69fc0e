"""Reads shared by the portal, the API and the services; each avoids N+1 queries."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from statistics import median
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from audit.selectors import subject_events
from consents import pii
from consents.models import (
    Acknowledgement,
    Consent,
    ConsentRequest,
    DataSubject,
    Delivery,
    MassChange,
    Organization,
    Purpose,
    PurposeVersion,
    Scope,
    SubjectReference,
    Transfer,
    WebhookEndpoint,
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
    subject: DataSubject,
    *,
    status: str | None = None,
    recipient: str | None = None,
) -> QuerySet[Consent]:
    """The person's own consents, grouped by recipient, newest first in each."""
    queryset = Consent.objects.filter(subject=subject)
    if status:
        queryset = queryset.filter(status=status)
    if recipient:
        queryset = queryset.filter(recipient__code=recipient)
    return _with_terms(queryset).order_by(
        "recipient__name", "recipient_id", "-granted_at"
    )


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

    def field(name: str, sealed: bytes | memoryview | None) -> str:
        return pii.unseal(data_key, subject.id, name, sealed) if sealed else ""

    return SubjectPersonalData(
        identifier=field("identifier", subject.identifier_enc),
        name=field("name", subject.name_enc),
        contact=field("contact", subject.contact_enc),
    )


# What the person's activity timeline shows: who checked and who moved their data.
TIMELINE_ACTIONS = ("consent.checked", "transfer.recorded")


@dataclass(frozen=True)
class TimelineEvent:
    """One audit event about a person, with the catalog entries it names."""

    event_id: UUID
    sequence: int | None  # None while a check's event waits to be sealed
    occurred_at: datetime
    action: str
    actor_kind: str
    actor: Organization | None  # the organization that acted, if one did
    recipient: Organization | None
    holder: Organization | None
    purpose: Purpose | None
    scopes: list[Scope]
    consent_id: UUID | None
    payload: dict[str, Any]

    @property
    def allowed(self) -> bool | None:
        return self.payload.get("allowed")

    @property
    def reason(self) -> str | None:
        return self.payload.get("reason")

    @property
    def record_count(self) -> int | None:
        return self.payload.get("record_count")


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]  # newest first
    older: int | None  # pass as `before` for the next page; None on the last


def _resolve(rows: list[dict[str, Any]]) -> list[TimelineEvent]:
    """Attach organizations, purposes and scopes: three queries for any page."""
    org_codes, purpose_codes, scope_codes = set(), set(), set()
    for row in rows:
        kind, _, actor = row["actor"].partition(":")
        payload = row["payload"]
        org_codes |= {row["recipient"], payload.get("holder")}
        if kind == "organization":
            org_codes.add(actor)
        purpose_codes.add(row["purpose"])
        scope_codes |= set(payload.get("scopes") or ())
    org_codes.discard(None)

    def by_code(model, codes: set) -> dict[str, Any]:
        codes.discard("")
        return model.objects.in_bulk(codes, field_name="code") if codes else {}

    orgs = by_code(Organization, org_codes)
    purposes = by_code(Purpose, purpose_codes)
    scopes = by_code(Scope, scope_codes)
    events = []
    for row in rows:
        kind, _, actor = row["actor"].partition(":")
        payload = row["payload"]
        events.append(
            TimelineEvent(
                event_id=row["event_id"],
                sequence=row["sequence"],
                occurred_at=row["occurred_at"],
                action=row["action"],
                actor_kind=kind,
                actor=orgs.get(actor) if kind == "organization" else None,
                recipient=orgs.get(row["recipient"]),
                holder=orgs.get(payload.get("holder") or ""),
                purpose=purposes.get(row["purpose"]),
                scopes=[scopes[c] for c in payload.get("scopes") or () if c in scopes],
                consent_id=row["consent_id"],
                payload=payload,
            )
        )
    return events


def subject_timeline(
    subject: DataSubject,
    *,
    actions: Sequence[str] | None = TIMELINE_ACTIONS,
    recipient: str | None = None,
    consent_id: UUID | None = None,
    before: int | None = None,
    limit: int = 50,
) -> TimelinePage:
    """Audit events about the person, newest first, a page at a time.

    The first page also shows the person's staged events, so a check made a
    second ago is there (`audit.selectors.subject_events`).
    """
    rows, older = subject_events(
        subject.pseudonym,
        actions=actions,
        recipient=recipient,
        consent_id=consent_id,
        before=before,
        limit=limit,
    )
    return TimelinePage(events=_resolve(rows), older=older)


def consent_request_for_subject(
    subject: DataSubject, request_id: UUID
) -> ConsentRequest | None:
    """A request the person answered, or one they may answer; otherwise None.

    Whoever signs in may answer an open request, unless the recipient already
    knows a person by the request's reference, or this person by another
    reference: then the request is someone else's.
    """
    request = (
        ConsentRequest.objects.select_related("recipient", "purpose_version__purpose")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return None
    if request.subject_id is not None:
        return request if request.subject_id == subject.pk else None
    links = SubjectReference.objects.filter(
        Q(reference=request.subject_reference) | Q(subject=subject),
        organization=request.recipient_id,
    ).values_list("subject_id", "reference")
    for subject_id, reference in links:
        if (subject_id == subject.pk) != (reference == request.subject_reference):
            return None
    return request


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


def endpoints_of(organization: Organization) -> QuerySet[WebhookEndpoint]:
    """The organization's endpoints, but those it deleted; nobody else's are
    ever in reach."""
    return WebhookEndpoint.objects.filter(
        organization=organization, deleted_at__isnull=True
    )


@dataclass(frozen=True)
class NoticeHealth:
    """Notices waiting and given up on, the longest a due one has waited past
    its time, and mass changes still running."""

    pending: int
    failed: int
    oldest_due_at: datetime | None
    running_mass_changes: int


def notice_health() -> NoticeHealth:
    # Each from a partial index: a scrape never walks the delivery history.
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    return NoticeHealth(
        pending=pending.count(),
        failed=Delivery.objects.filter(status=Delivery.Status.FAILED).count(),
        oldest_due_at=pending.order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first(),
        running_mass_changes=MassChange.objects.filter(
            status=MassChange.Status.RUNNING
        ).count(),
    )


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


# Hand-written because it runs on every API call: one indexed lookup read with a
# plain cursor, no ORM query compilation and no model building.
_TOKEN_OWNER_SQL = """
SELECT t.id, t.token_checksum, t.expires, t.scope, t.application_id,
       o.id AS org_id, o.code AS org_code, o.name AS org_name, o.status AS org_status
FROM oauth2_provider_accesstoken t
LEFT JOIN consents_organizationclient c ON c.application_id = t.application_id
LEFT JOIN consents_organization o ON o.id = c.organization_id
WHERE t.token_checksum = %s
"""


@dataclass(frozen=True)
class TokenOwner:
    """An access token and the organization its client belongs to (None: none)."""

    token_id: int
    token_checksum: str
    expires: datetime
    scope: str
    application_id: int
    organization: Organization | None


def token_owner(checksum: str) -> TokenOwner | None:
    """An OAuth access token by its checksum, with its client's organization
    (unsaved, with id, code, name and status); None for an unknown token."""
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_OWNER_SQL, [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, token_checksum, expires, scope, application_id, *org = row
    if timezone.is_naive(expires):  # SQLite keeps UTC without an offset
        expires = timezone.make_aware(expires, UTC)
    organization = None
    if org[0] is not None:
        organization = Organization(id=org[0], code=org[1], name=org[2], status=org[3])
    return TokenOwner(
        token_id, token_checksum, expires, scope, application_id, organization
    )
