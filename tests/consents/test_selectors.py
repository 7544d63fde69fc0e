"""Reads are scoped: an organization or a person sees only what they have a role in."""

import pytest

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
    history = [e.action for e in selectors.consent_history(consent.id)]
    assert history == ["consent.granted", "consent.checked", "consent.revoked"]
    activity = list(selectors.subject_activity(subject))
    assert [e.action for e in activity] == ["consent.checked"]
    assert not selectors.subject_activity(subject, recipient="someone-else").exists()
