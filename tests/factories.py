"""Factories for the tests, in one place. Writes go through the services."""

from datetime import timedelta
from itertools import count
from uuid import uuid4

import factory
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from consents import services
from consents.models import Consent, DataSubject, Organization

TESTER = Actor("staff", "tests")
_identifiers = count(1)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"org-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Organization {o.code}")


def make_subject(*, name: str = "홍길동", user=None) -> DataSubject:
    identifier = f"person{next(_identifiers)}@example.kr"
    return services.register_subject(
        identifier=identifier,
        name=name,
        contact="010-0000-0000",
        user=user,
        actor=TESTER,
    )


class Person:
    """A data subject with a portal login, signed in to `browser` (English pages)."""

    def __init__(self, username: str):
        self.user = get_user_model().objects.create_user(username, password="pw")
        self.subject = make_subject(user=self.user)
        self.browser = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.browser.force_login(self.user)


def make_consent(
    *,
    subject: DataSubject,
    recipient: Organization,
    purpose: str = "spending-analysis",
    scopes: list[str] | None = None,
    holders: list[Organization] | None = None,
    days: int = 30,
    reference: str | None = None,
    **terms,
) -> Consent:
    """Grant a consent and give the recipient and each holder a reference."""
    for org in [recipient, *(holders or [])]:
        if not org.subject_references.filter(subject=subject).exists():
            services.link_subject_reference(
                organization=org,
                subject=subject,
                reference=reference or f"{org.code}:{subject.pseudonym}",
                actor=TESTER,
            )
    terms.setdefault("expires_at", timezone.now() + timedelta(days=days))
    return services.grant_consent(
        subject=subject,
        recipient=recipient,
        purpose_code=purpose,
        scope_codes=scopes or ["bank.deposit"],
        holder_codes=[h.code for h in holders or []],
        actor=Actor("subject", subject.pseudonym),
        collection_method=Consent.CollectionMethod.PORTAL,
        **terms,
    )


def make_check(caller: Organization, subject: DataSubject, **terms):
    """A check by `caller` for its default purpose and scope, through the service."""
    terms.setdefault("purpose_code", "spending-analysis")
    terms.setdefault("scope_codes", ["bank.deposit"])
    return services.check_consent(
        caller=caller, subject_ref=ref(caller, subject), **terms
    )


def ref(org: Organization, subject: DataSubject) -> str:
    return org.subject_references.get(subject=subject).reference


def send_data(holder: Organization, recipient: Organization, subject: DataSubject):
    """The holder checks, then records sending one batch of `bank.deposit` data."""
    decision = services.check_consent(
        caller=holder,
        subject_ref=ref(holder, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
        counterparty=recipient.code,
    )
    assert decision.allowed, decision
    return services.record_transfer(
        reporter=holder,
        decision_id=decision.decision_id,
        scope_codes=["bank.deposit"],
        record_count=1,
        direction="sent",
    )


ACTIONS = ("consent.granted", "consent.checked", "consent.revoked", "transfer.recorded")


def bulk_chain(count: int, *, batch_size: int = 2500) -> int:
    """Append `count` chained events straight to the table, fast (big test logs).

    They vary in action, subject, recipient and purpose; returns the new head.
    """
    from audit.chain import event_hash
    from audit.models import AuditEvent
    from audit.selectors import chain_head

    sequence, prev_hash = chain_head()
    prev_hash = prev_hash or "0" * 64
    start = timezone.now() - timedelta(seconds=count)
    batch = []
    for n in range(count):
        sequence += 1
        fields = {
            "sequence": sequence,
            "event_id": uuid4(),
            "occurred_at": start + timedelta(seconds=n),
            "actor": f"organization:org-{n % 7}",
            "action": ACTIONS[n % len(ACTIONS)],
            "subject": f"sub_{n % 101:04d}",
            "recipient": f"org-{n % 7}",
            "purpose": ("spending-analysis", "credit-scoring")[n % 2],
            "consent_id": None,
            "payload": {"n": n, "allowed": n % 3 != 0, "note": "한국어 ✓"},
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(**fields)
        batch.append(AuditEvent(**fields, hash=prev_hash))
        if len(batch) == batch_size:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    return sequence
