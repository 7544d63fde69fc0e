from datetime import timedelta

import pytest
from django.utils import timezone

from consents import services
from consents.errors import ConsentNotActiveError, NotFoundError, ValidationError
from consents.models import Transfer
from tests.factories import TESTER, make_consent, ref

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def allowed(subject, recipient, bank):
    consent = make_consent(
        subject=subject, recipient=recipient, holders=[bank], scopes=["bank.deposit"]
    )
    decision = _bank_checks(bank, subject, recipient, "bank.deposit.transactions")
    assert decision.allowed
    return consent, decision


def _bank_checks(bank, subject, recipient, scope="bank.deposit"):
    return services.check_consent(
        caller=bank,
        subject_ref=ref(bank, subject),
        purpose_code="spending-analysis",
        scope_codes=[scope],
        counterparty=recipient.code,
    )


def _record(reporter, decision, **kw):
    kw.setdefault("scope_codes", ["bank.deposit.transactions"])
    kw.setdefault("record_count", 5)
    kw.setdefault("direction", "sent")
    return services.record_transfer(
        reporter=reporter, decision_id=decision.decision_id, **kw
    )


def test_transfer_after_an_allowed_check_is_recorded(allowed, bank, recipient):
    consent, decision = allowed
    transfer = _record(bank, decision)
    assert (transfer.consent_id, transfer.holder, transfer.recipient) == (
        consent.id,
        bank,
        recipient,
    )
    received = _record(recipient, decision, direction="received")
    assert received.decision_id == transfer.decision_id


def test_transfer_is_refused_once_the_consent_is_revoked(allowed, bank):
    consent, decision = allowed
    services.revoke_consent(consent_id=consent.id, actor=TESTER)
    with pytest.raises(ConsentNotActiveError) as error:
        _record(bank, decision)
    assert error.value.reason == "revoked"
    assert not Transfer.objects.exists()


def test_transfer_is_refused_when_paused(allowed, bank):
    consent, decision = allowed
    services.pause_consent(consent_id=consent.id, actor=TESTER)
    with pytest.raises(ConsentNotActiveError):
        _record(bank, decision)


def test_transfer_is_refused_after_expiry(subject, recipient, bank):
    consent = make_consent(
        subject=subject,
        recipient=recipient,
        holders=[bank],
        expires_at=timezone.now() + timedelta(seconds=60),
    )
    decision = _bank_checks(bank, subject, recipient)
    with pytest.raises(ConsentNotActiveError) as error:
        _record(bank, decision, scope_codes=["bank.deposit"], now=consent.expires_at)
    assert error.value.reason == "expired"


def test_transfer_needs_a_fresh_decision(allowed, bank):
    _, decision = allowed
    with pytest.raises(ValidationError):
        _record(bank, decision, now=timezone.now() + timedelta(minutes=6))


def test_transfer_scopes_must_have_been_checked(allowed, bank):
    _, decision = allowed
    with pytest.raises(ValidationError) as error:
        _record(bank, decision, scope_codes=["bank.deposit"])
    assert error.value.fields == {"scopes": ["not checked: bank.deposit"]}


def test_outsider_cannot_use_someone_elses_decision(allowed, outsider):
    _, decision = allowed
    with pytest.raises(NotFoundError):
        _record(outsider, decision)


def test_denied_decision_records_nothing(subject, recipient, bank):
    make_consent(subject=subject, recipient=recipient, holders=[bank])
    decision = services.check_consent(
        caller=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["card.bills"],
    )
    with pytest.raises(ValidationError):
        _record(recipient, decision, scope_codes=["card.bills"])


def test_both_parties_reporting_one_decision_use_the_daily_limit_once(
    subject, recipient, bank
):
    make_consent(
        subject=subject, recipient=recipient, holders=[bank], max_uses_per_day=1
    )
    decision = _bank_checks(bank, subject, recipient)
    _record(bank, decision, scope_codes=["bank.deposit"])
    _record(recipient, decision, scope_codes=["bank.deposit"], direction="received")
    second = services.check_consent(
        caller=recipient,
        subject_ref=ref(recipient, subject),
        purpose_code="spending-analysis",
        scope_codes=["bank.deposit"],
    )
    assert second.reason == "frequency_exceeded"
