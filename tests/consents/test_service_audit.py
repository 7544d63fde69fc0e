"""Every service call writes exactly one audit event, in the same transaction."""

from unittest import mock

import pytest
from django.db import transaction

from audit.models import AuditEvent, PendingEvent
from audit.services import seal_pending_events
from consents import services
from consents.models import Consent, Transfer
from tests.factories import TESTER, make_consent, ref

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def consent(subject, recipient, bank):
    return make_consent(subject=subject, recipient=recipient, holders=[bank])


def _events_during(call):
    before = AuditEvent.objects.count()
    call()
    seal_pending_events()  # checks stage their event; sealing chains it
    return list(AuditEvent.objects.order_by("sequence")[before:])


def _check(bank, subject, recipient):
    return services.check_consent(
        caller=bank,
        subject_ref=ref(bank, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
        counterparty=recipient.code,
    )


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("pause", "consent.paused"),
        ("revoke", "consent.revoked"),
        ("check", "consent.checked"),
        ("transfer", "transfer.recorded"),
        ("grant", "consent.granted"),
        ("resume", "consent.resumed"),
    ],
)
def test_each_service_call_leaves_exactly_one_event(
    name, action, consent, subject, recipient, bank, card
):
    if name == "resume":
        services.pause_consent(consent_id=consent.id, actor=TESTER)
    decision = _check(bank, subject, recipient) if name == "transfer" else None
    seal_pending_events()
    calls = {
        "pause": lambda: services.pause_consent(consent_id=consent.id, actor=TESTER),
        "resume": lambda: services.resume_consent(consent_id=consent.id, actor=TESTER),
        "revoke": lambda: services.revoke_consent(consent_id=consent.id, actor=TESTER),
        "check": lambda: _check(bank, subject, recipient),
        "transfer": lambda: services.record_transfer(
            reporter=bank,
            decision_id=decision.decision_id,
            scope_codes=["bank.deposit"],
            record_count=1,
            direction="sent",
        ),
        "grant": lambda: services.grant_consent(
            subject=subject,
            recipient=card,
            purpose_code="credit-scoring",
            scope_codes=["credit.score"],
            actor=TESTER,
            collection_method="portal",
        ),
    }
    events = _events_during(calls[name])
    assert [event.action for event in events] == [action]


def test_expiry_writes_one_event_per_consent(consent):
    events = _events_during(
        lambda: services.expire_due_consents(now=consent.expires_at)
    )
    assert [(e.action, e.consent_id) for e in events] == [
        ("consent.expired", consent.id)
    ]


def _failing_audit():
    return mock.patch(
        "audit.services.event_hash", side_effect=RuntimeError("audit unavailable")
    )


def test_failed_audit_rolls_back_the_revocation(consent):
    with _failing_audit(), pytest.raises(RuntimeError):
        services.revoke_consent(consent_id=consent.id, actor=TESTER)
    assert Consent.objects.get(pk=consent.pk).status == "active"
    assert not AuditEvent.objects.filter(action="consent.revoked").exists()


def test_failed_audit_rolls_back_the_grant(subject, card):
    count = Consent.objects.count()
    with _failing_audit(), pytest.raises(RuntimeError):
        make_consent(subject=subject, recipient=card, purpose="credit-scoring", days=30)
    assert Consent.objects.count() == count


def test_failed_audit_rolls_back_the_transfer(consent, subject, recipient, bank):
    decision = _check(bank, subject, recipient)
    with _failing_audit(), pytest.raises(RuntimeError):
        services.record_transfer(
            reporter=bank,
            decision_id=decision.decision_id,
            scope_codes=["bank.deposit"],
            record_count=1,
            direction="sent",
        )
    assert not Transfer.objects.exists()


def test_failure_after_the_event_rolls_back_both(consent):
    """A caller's outer transaction that fails takes the change and event with it."""
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.revoke_consent(consent_id=consent.id, actor=TESTER)
        raise RuntimeError("caller fails after the service returned")
    assert Consent.objects.get(pk=consent.pk).status == "active"
    assert AuditEvent.objects.count() == before


def test_record_event_refuses_to_run_outside_a_transaction(consent):
    from audit.actors import SYSTEM
    from audit.services import record_event

    with (
        mock.patch("audit.services.connection") as fake,
        pytest.raises(RuntimeError),
    ):
        fake.in_atomic_block = False
        record_event(action="x", actor=SYSTEM)


def test_a_check_stages_exactly_one_event_that_sealing_chains(
    consent, subject, recipient, bank
):
    chained = AuditEvent.objects.count()
    decision = _check(bank, subject, recipient)
    staged = PendingEvent.objects.get()
    assert (staged.event_id, staged.action) == (decision.decision_id, "consent.checked")
    assert AuditEvent.objects.count() == chained
    assert seal_pending_events() == 1
    assert not PendingEvent.objects.exists()
    assert AuditEvent.objects.get(sequence=chained + 1).event_id == decision.decision_id
    assert seal_pending_events() == 0
