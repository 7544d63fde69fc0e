"""Reads are scoped: an organization or a person sees only what they have a role in."""

from unittest.mock import patch

import pytest

from audit.models import AuditEvent
from audit.services import seal_pending_events
from consents import selectors, services
from tests.factories import TESTER, make_consent, make_subject, ref

pytestmark = pytest.mark.usefixtures("catalog")


def test_organization_sees_consents_where_it_is_recipient_or_holder(
    subject, recipient, bank, card, outsider
):
    mine = make_consent(subject=subject, recipient=recipient, holders=[bank])
    other = make_consent(subject=subject, recipient=card, purpose="credit-scoring")
    assert list(selectors.consents_for_organization(recipient)) == [mine]
    assert list(selectors.consents_for_organization(bank)) == [mine]
    assert list(selectors.consents_for_organization(card)) == [other]
    assert list(selectors.consents_for_organization(outsider)) == []
    assert selectors.consent_for_organization(outsider, mine.id) is None
    assert selectors.consent_for_organization(bank, mine.id) == mine


def test_organization_filters_by_its_own_reference(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    own = ref(recipient, subject)
    found = selectors.consents_for_organization(recipient, subject_ref=own)
    assert list(found) == [consent]
    assert not selectors.consents_for_organization(recipient, subject_ref="x").exists()
    assert not selectors.consents_for_organization(recipient, status="revoked").exists()


def test_person_sees_only_their_own(recipient):
    first, second = make_subject(), make_subject()
    theirs = make_consent(subject=second, recipient=recipient)
    mine = make_consent(subject=first, recipient=recipient)
    assert list(selectors.consents_for_subject(first)) == [mine]
    assert selectors.consent_for_subject(first, theirs.id) is None


def test_listing_consents_needs_a_fixed_number_of_queries(
    subject, recipient, bank, django_assert_max_num_queries
):
    for purpose in ("spending-analysis", "credit-scoring", "order-history-import"):
        make_consent(
            subject=subject,
            recipient=recipient,
            holders=[bank],
            purpose=purpose,
            scopes=["bank.deposit", "card.bills"],
        )
    with django_assert_max_num_queries(4):
        rows = [
            (c.recipient.code, c.purpose_version.version, len(c.scopes.all()))
            for c in selectors.consents_for_subject(subject)
        ]
    assert len(rows) == 3


def test_history_and_activity_come_from_the_audit_trail(subject, recipient):
    consent = make_consent(subject=subject, recipient=recipient)
    services.check_consent(
        caller=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    seal_pending_events()
    services.revoke_consent(consent_id=consent.id, actor=TESTER)
    history = selectors.subject_timeline(subject, actions=None, consent_id=consent.id)
    assert [e.action for e in history.events] == [
        "consent.revoked",
        "consent.checked",
        "consent.granted",
    ]
    activity = selectors.subject_timeline(subject).events
    assert [e.action for e in activity] == ["consent.checked"]
    assert activity[0].recipient == recipient and activity[0].allowed is True
    assert not selectors.subject_timeline(subject, recipient="someone-else").events


def test_the_timeline_shows_a_staged_check_once_whenever_it_is_sealed(
    subject, recipient
):
    make_consent(subject=subject, recipient=recipient)
    decision = services.check_consent(
        caller=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    staged = selectors.subject_timeline(subject).events
    assert [(e.event_id, e.sequence) for e in staged] == [(decision.decision_id, None)]
    real_values = AuditEvent.objects.filter
    # The sealer moves the event between the two reads: seen in both, shown once.
    with patch.object(
        AuditEvent.objects,
        "filter",
        lambda *a, **kw: (seal_pending_events(), real_values(*a, **kw))[1],
    ):
        raced = selectors.subject_timeline(subject).events
    assert [e.event_id for e in raced] == [decision.decision_id]
    assert raced[0].sequence is not None


def test_a_timeline_page_costs_the_same_queries_for_many_events(
    subject, recipient, bank, django_assert_num_queries
):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    for caller, counterparty in [(recipient, None), (bank, "moneylog")] * 10:
        services.check_consent(
            caller=caller,
            subject_ref=ref(caller, subject),
            purpose_code="spending-analysis",
            scope_codes=["bank.deposit", "card.bills"],
            counterparty=counterparty,
        )
    # staged, chained, then organizations, purposes and scopes: one query each
    with django_assert_num_queries(5):
        page = selectors.subject_timeline(subject, limit=50)
    assert len(page.events) == 20
    assert {e.actor.code for e in page.events} == {"moneylog", "hanbit-bank"}
    assert all(len(e.scopes) in (1, 2) for e in page.events)
