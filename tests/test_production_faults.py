"""Production's shape under faults.

Two web nodes (gunicorn, two sync workers each, on their own ports), two Celery
worker processes and one beat, and a Redis of the test's own. Through the SDK, a
recipient and a holder run a steady, bounded stream of grants, checks, transfers
and revocations against both nodes. Meanwhile a gunicorn worker is killed with
SIGKILL, a Celery worker process is killed with SIGKILL (and replaced), and Redis
restarts empty. Afterwards:
- every revocation reached both parties (repeats share their webhook-id);
- every decision a client was given is in the audit trail;
- the chain and its checkpoints verify;
- no transfer was recorded twice.
"""

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from audit.checkpoints import create_checkpoint
from audit.models import AuditEvent, PendingEvent
from audit.services import seal_pending_events
from audit.verification import verify_chain
from cmp.client import ConsentClient
from consents import services
from consents.models import Consent, Transfer
from tests.factories import TESTER, make_subject
from tests.processes import (
    OwnRedis,
    stop_process_group,
    wait_until,
)
from tests.propagation.conftest import subscribe
from tests.receiver import running_receiver
from tests.workers import (
    celery_worker,
    requires_worker,
    start_gunicorn,
    worker_env,
)

pytestmark = [requires_worker, pytest.mark.slow]

ROUNDS = 60
EVIDENCE = {"channel": "mobile-app", "screen": "consent-v3"}
FAST = {
    "CMP_WEBHOOK_RELAY_INTERVAL_SECONDS": "0.5",
    "CMP_WEBHOOK_DISPATCH_LEASE_SECONDS": "2",
    "CMP_WEBHOOK_LEASE_SECONDS": "5",
    "CMP_SEAL_INTERVAL_SECONDS": "1",
}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _client(base: str, issued) -> ConsentClient:
    return ConsentClient(
        base, issued.client_id, issued.client_secret, backoff=0.05, max_retries=8
    )


def test_faults_lose_no_notice_no_decision_and_double_no_transfer(committed_catalog):
    recipient = services.register_organization(
        code="moneylog", name="moneylog", actor=TESTER
    )
    holder = services.register_organization(
        code="hanbit-bank", name="hanbit-bank", actor=TESTER
    )
    for n in range(ROUNDS):
        subject = make_subject()
        for issued in (recipient, holder):
            services.link_subject_reference(
                organization=issued.organization,
                subject=subject,
                reference=f"s-{n}",
                actor=TESTER,
            )
    decisions: list[str] = []
    transfers: list[str] = []
    revoked: list[str] = []
    progress = [0]
    lock = threading.Lock()

    with ExitStack() as stack:
        receiver = stack.enter_context(running_receiver())
        for issued in (recipient, holder):
            subscribe(
                issued.organization,
                receiver.url(f"/ok/{issued.organization.code}"),
                event_types=["consent.revoked"],
            )
        broker = OwnRedis()
        broker.start()
        stack.callback(broker.stop)
        env = worker_env(broker.url, **FAST)
        nodes = []
        for _ in range(2):
            process, base = start_gunicorn(env)
            stack.callback(stop_process_group, process)
            nodes.append((process, base))
        stack.enter_context(celery_worker(env, threads=4, name="first"))
        second = [stack.enter_context(celery_worker(env, beat=False, name="second"))]
        clients = {
            "recipient": [_client(base, recipient) for _, base in nodes],
            "holder": [_client(base, holder) for _, base in nodes],
        }

        def one_round(n: int) -> None:
            node = n % 2
            shop, bank = clients["recipient"][node], clients["holder"][1 - node]
            consent = shop.record_consent(
                subject_ref=f"s-{n}",
                purpose="spending-analysis",
                scopes=["bank.deposit"],
                evidence=EVIDENCE,
                holders=["hanbit-bank"],
                duration_days=30,
            )
            sending = bank.check(
                subject_ref=f"s-{n}",
                purpose="spending-analysis",
                scopes=["bank.deposit"],
                counterparty="moneylog",
            )
            assert sending.allowed, sending
            transfer = bank.record_transfer(
                decision_id=sending.decision_id,
                scopes=["bank.deposit"],
                record_count=1,
                direction="sent",
            )
            using = shop.check(
                subject_ref=f"s-{n}",
                purpose="spending-analysis",
                scopes=["bank.deposit"],
            )
            shop.revoke(consent.id, reason="done")
            with lock:
                decisions.extend([sending.decision_id, using.decision_id])
                transfers.append(transfer.id)
                revoked.append(consent.id)
                progress[0] += 1

        def reached(count: int) -> bool:
            return wait_until(lambda: progress[0] >= count, timeout=120, interval=0.05)

        def faults() -> None:
            assert reached(ROUNDS // 4)
            master = nodes[0][0].pid
            victim = _children(master)[0]
            os.kill(victim, signal.SIGKILL)  # a web worker, mid-stream
            assert wait_until(
                lambda: victim not in _children(master) and len(_children(master)) == 2,
                timeout=30,
            ), "gunicorn did not replace its killed worker"
            assert reached(ROUNDS // 2)
            os.killpg(second[0].pid, signal.SIGKILL)  # a Celery worker, mid-work
            assert second[0].wait(timeout=30) == -signal.SIGKILL
            second.append(
                stack.enter_context(celery_worker(env, beat=False, name="third"))
            )
            assert reached(3 * ROUNDS // 4)
            broker.stop()  # Redis restarts with nothing in it
            broker.start()

        with ThreadPoolExecutor(max_workers=4) as pool:
            chaos = pool.submit(faults)
            rounds = [pool.submit(one_round, n) for n in range(ROUNDS)]
            for done in rounds:
                done.result(timeout=180)
            chaos.result(timeout=180)

        expected = {(c, org) for c in revoked for org in ("moneylog", "hanbit-bank")}

        def notices() -> dict[tuple[str, str], set[str]]:
            found: dict[tuple[str, str], set[str]] = {}
            for request in receiver.requests():
                data = json.loads(request.body)["data"]
                pair = (data["consent_id"], data["organization"])
                found.setdefault(pair, set()).add(request.headers["webhook-id"])
            return found

        assert wait_until(lambda: set(notices()) >= expected, timeout=120), (
            f"{len(expected - set(notices()))} of {len(expected)} notices missing"
        )
        for client in (*clients["recipient"], *clients["holder"]):
            client.close()

    arrived = notices()
    assert set(arrived) == expected
    assert all(len(ids) == 1 for ids in arrived.values())  # repeats share their id
    assert Consent.objects.filter(status="revoked").count() == ROUNDS
    # Every decision a client was given is in the trail, staged or chained.
    recorded = set(
        PendingEvent.objects.filter(action="consent.checked").values_list(
            "event_id", flat=True
        )
    ) | set(
        AuditEvent.objects.filter(action="consent.checked").values_list(
            "event_id", flat=True
        )
    )
    assert {str(d) for d in decisions} <= {str(e) for e in recorded}
    # No transfer twice: as many as the clients recorded, one per decision.
    assert Transfer.objects.count() == len(transfers) == ROUNDS
    assert Transfer.objects.values("decision_id").distinct().count() == ROUNDS
    seal_pending_events(max_batches=1000)
    create_checkpoint()
    assert verify_chain().ok
