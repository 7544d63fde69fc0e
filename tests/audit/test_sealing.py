"""Staged check events reach the chain once each, in order, whatever runs at once."""

import threading

import pytest
from django.db import connection, transaction

from audit.actors import Actor
from audit.models import AuditEvent, PendingEvent
from audit.selectors import find_event
from audit.services import record_event, seal_pending_events, stage_event
from audit.verification import verify_chain
from tests.conftest import requires_postgres


def test_sealing_keeps_staging_order_and_chains(db):
    ids = [
        stage_event(action="consent.checked", actor=Actor("organization", "o"))
        for _ in range(5)
    ]
    with transaction.atomic():
        record_event(action="consent.granted", actor=Actor("subject", "s"))
    assert seal_pending_events(batch_size=2) == 5
    sealed = list(
        AuditEvent.objects.filter(action="consent.checked")
        .order_by("sequence")
        .values_list("event_id", flat=True)
    )
    assert sealed == ids
    assert verify_chain().ok
    assert not PendingEvent.objects.exists()


def test_an_event_is_found_before_and_after_sealing(db):
    event_id = stage_event(
        action="consent.checked", actor=Actor("organization", "o"), payload={"a": 1}
    )
    before = find_event(event_id, action="consent.checked")
    seal_pending_events()
    after = find_event(event_id, action="consent.checked")
    assert before == after
    assert before.payload == {"a": 1}
    assert find_event(event_id, action="consent.granted") is None


@requires_postgres
@pytest.mark.slow
def test_concurrent_checks_appends_and_sealers_lose_nothing(committed_db):
    staged: list = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def stager(number: int) -> None:
        try:
            for n in range(150):
                event_id = stage_event(
                    action="consent.checked",
                    actor=Actor("organization", f"org-{number}"),
                    payload={"n": n},
                )
                with lock:
                    staged.append(event_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def appender() -> None:
        try:
            for n in range(60):
                with transaction.atomic():
                    record_event(
                        action="consent.granted", actor=Actor("subject", f"{n}")
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            for _ in range(40):
                seal_pending_events(batch_size=25, max_batches=4)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=stager, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=appender)]
    threads += [threading.Thread(target=sealer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)
    seal_pending_events()

    checked = list(
        AuditEvent.objects.filter(action="consent.checked").values_list(
            "event_id", flat=True
        )
    )
    assert sorted(checked) == sorted(staged)
    assert len(set(checked)) == 450
    assert AuditEvent.objects.count() == 450 + 60
    result = verify_chain()
    assert result.ok, result.problem
    assert result.head_sequence == 510


@pytest.mark.parametrize(
    "moment",
    [
        "2026-11-30T15:00:00+00:00",  # a whole second: no fraction is dropped
        "2026-12-01T00:00:00.000001+09:00",  # another zone, one microsecond
        "1999-12-31T23:59:59.999999+00:00",
    ],
)
def test_sealed_hashes_are_those_of_the_canonical_documents(db, moment):
    from datetime import datetime

    from audit.chain import event_hash

    staged = PendingEvent.objects.create(
        event_id="0b6e3c8a-0000-4000-8000-00000000abcd",
        occurred_at=datetime.fromisoformat(moment),
        actor="organization:머니로그",
        action="consent.checked",
        subject="sub_1",
        recipient="moneylog",
        purpose="spending-analysis",
        consent_id=None,
        payload={"note": '따옴표 " 와 \\ 백슬래시 🙂', "n": 1, "ok": True, "x": None},
    )
    assert seal_pending_events() == 1
    sealed = AuditEvent.objects.get(event_id=staged.event_id)
    assert sealed.hash == event_hash(
        sequence=sealed.sequence,
        event_id=staged.event_id,
        occurred_at=staged.occurred_at,
        actor=staged.actor,
        action=staged.action,
        subject=staged.subject,
        recipient=staged.recipient,
        purpose=staged.purpose,
        consent_id=None,
        payload=staged.payload,
        prev_hash=sealed.prev_hash,
    )
    assert sealed.payload == staged.payload
    assert verify_chain().ok
