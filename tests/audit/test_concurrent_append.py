"""Concurrent appends from several connections keep the chain gapless and valid."""

import threading

import pytest
from django.db import connection, transaction

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import record_event
from audit.verification import verify_chain
from tests.conftest import requires_postgres

WRITERS, EACH = 4, 60


@requires_postgres
@pytest.mark.slow
def test_concurrent_writers_keep_the_sequence_gapless(committed_db):
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(EACH):
                with transaction.atomic():
                    record_event(
                        action="test.concurrent",
                        actor=Actor("system", f"writer-{number}"),
                        payload={"n": n},
                    )
                    if n % 7 == 0:
                        # A rolled-back append must leave no gap behind.
                        transaction.set_rollback(True)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)

    committed = WRITERS * (EACH - len(range(0, EACH, 7)))
    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, committed + 1))
    result = verify_chain()
    assert result.ok, result.problem
    per_writer = {
        actor: AuditEvent.objects.filter(actor=actor).count()
        for actor in {f"system:writer-{i}" for i in range(WRITERS)}
    }
    assert set(per_writer.values()) == {committed // WRITERS}
