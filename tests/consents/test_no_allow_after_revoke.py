"""Invariant 1: once a revocation commits, every check that starts afterwards denies."""

import threading
import time

import pytest
from django.db import connection, transaction

from consents import services
from consents.models import Organization
from tests.conftest import requires_postgres
from tests.factories import TESTER, OrganizationFactory, make_consent, make_subject, ref

CHECKERS = 3
MAX_CHECKS_EACH = 400
MAX_SECONDS = 20.0


@requires_postgres
@pytest.mark.slow
@pytest.mark.parametrize("change", ["revoke", "pause"])
def test_no_check_started_after_the_commit_is_allowed(committed_catalog, change):
    recipient = OrganizationFactory(code="moneylog")
    bank = OrganizationFactory(code="hanbit-bank")
    subject = make_subject()
    consent = make_consent(subject=subject, recipient=recipient, holders=[bank])
    callers = [(recipient, ref(recipient, subject), None)]
    callers.append((bank, ref(bank, subject), recipient.code))

    committed_at: list[float] = []
    results: list[tuple[float, bool, str | None]] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()

    def checker(number: int) -> None:
        org, reference, counterparty = callers[number % len(callers)]
        caller = Organization.objects.get(pk=org.pk)
        deadline = time.monotonic() + MAX_SECONDS
        try:
            for _ in range(MAX_CHECKS_EACH):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                started = time.monotonic()
                decision = services.check_consent(
                    caller=caller,
                    subject_ref=reference,
                    purpose_code="spending-analysis",
                    scope_codes=["bank.deposit"],
                    counterparty=counterparty,
                )
                with lock:
                    results.append((started, decision.allowed, decision.reason))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=checker, args=(i,)) for i in range(CHECKERS)]
    for thread in threads:
        thread.start()
    try:
        # Let checks run, then change the consent while they continue.
        for _ in range(200):
            with lock:
                if sum(allowed for _, allowed, _ in results) >= 20:
                    break
            time.sleep(0.01)
        move = services.revoke_consent if change == "revoke" else services.pause_consent
        with transaction.atomic():
            move(consent_id=consent.id, actor=TESTER, reason="test")
            transaction.on_commit(lambda: committed_at.append(time.monotonic()))
        for _ in range(200):
            with lock:
                after = [r for r in results if r[0] > committed_at[0]]
            if len(after) >= 30:
                break
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert not errors
    assert committed_at
    before = [r for r in results if r[0] < committed_at[0]]
    after = [r for r in results if r[0] > committed_at[0]]
    assert any(allowed for _, allowed, _ in before), "checks ran before the change"
    assert len(after) >= 30, "checks ran after the change"
    reason = "revoked" if change == "revoke" else "paused"
    assert all((allowed, why) == (False, reason) for _, allowed, why in after)
