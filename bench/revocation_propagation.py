"""Benchmark: from a revocation's commit to the notice at each recipient's receiver.

What it measures. In a scratch PostgreSQL database, `--recipients` organizations
(20) each register a webhook endpoint on a receiver of their own (a real HTTP
server on loopback in this process) and get `--consents` / recipients consents.
A Redis of the benchmark's own (redis-server on a free port) is the broker;
`--workers` Celery worker processes (1; each a thread pool of `--concurrency`,
beat inside the first, as in a small production) relay and deliver. One
recipient with several workers is the worst case for one endpoint: every worker
claims that endpoint's deliveries at once. The script then revokes every consent
through `revoke_consent`, one after another, noting when each commit returned,
and waits until every receiver got its notices.

It prints p50/p99/max of (arrival at the receiver minus revocation commit), the
deliveries per second from the first commit to the last arrival, and checks
that every notice arrived, that each one's Standard Webhooks signature verifies
with its endpoint's secret (no corrupted delivery) and how many repeats came.
As the baseline in the same run, the same number of signed notices is POSTed
straight from this process to the same receivers (one connection per receiver)
and its per-request p50/p99 is printed: the network and receiver floor.

Target: p99 under 1 s while the worker keeps up; nothing lost or corrupted.

Run from the project root (PostgreSQL reachable, redis-server installed):

    .venv/bin/python bench/revocation_propagation.py [--consents 1000]
        [--recipients 20] [--concurrency 8] [--workers 1]
        [--database-url postgres://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import harness
from bench.scratch import scratch_database
from tests.processes import OwnRedis, celery_worker_command, wait_until
from tests.receiver import Receiver, running_receiver


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--consents", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0)
    return harness.parse_args(parser, argv)


def configure(database_url: str, broker_url: str) -> dict[str, str]:
    """Environment for this process and the worker: dev keys, no debug."""
    harness.setup_django(
        "settings.dev",
        DEBUG="false",
        DATABASE_URL=database_url,
        REDIS_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
        CMP_WEBHOOK_RELAY_INTERVAL_SECONDS="1",
        CMP_SEAL_INTERVAL_SECONDS="1",
    )
    harness.migrate(catalog_to=sys.stdout)
    return dict(os.environ)


def make_parties(receivers: list[Receiver], consents: int) -> tuple[list, dict]:
    """Organizations with an endpoint each, and consents spread over them."""
    from audit.actors import Actor
    from consents import services
    from consents.models import Consent

    actor = Actor("staff", "bench")
    secrets: dict[str, str] = {}
    organizations = []
    for index, receiver in enumerate(receivers):
        code = f"recipient-{index:02d}"
        org = services.register_organization(code=code, name=code, actor=actor)
        _, secrets[code] = services.register_webhook_endpoint(
            organization=org.organization,
            url=receiver.url(f"/ok/{code}"),
            actor=actor,
            event_types=["consent.revoked"],
        )
        organizations.append(org.organization)
    granted = []
    for n in range(consents):
        org = organizations[n % len(organizations)]
        subject = services.register_subject(
            identifier=f"bench{n}@example.kr", name="", actor=actor
        )
        services.link_subject_reference(
            organization=org, subject=subject, reference=f"p-{n}", actor=actor
        )
        granted.append(
            services.grant_consent(
                subject=subject,
                recipient=org,
                purpose_code="spending-analysis",
                scope_codes=["bank.deposit"],
                actor=actor,
                collection_method=Consent.CollectionMethod.PORTAL,
                duration_days=30,
            )
        )
    return granted, secrets


def baseline(receivers: list[Receiver], secrets: dict[str, str], count: int) -> list:
    """Signed POSTs straight to the same receivers: seconds per request."""
    import requests

    from cmp_common.wire.webhooks import sign_v1

    sessions = [requests.Session() for _ in receivers]
    latencies = []
    for n in range(count):
        index = n % len(receivers)
        code = f"recipient-{index:02d}"
        body = json.dumps({"type": "bench.baseline", "data": {"n": n}}).encode()
        stamp = int(time.time())
        headers = {
            "webhook-id": f"msg_base{n}",
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign_v1(secrets[code], f"msg_base{n}", stamp, body),
            "content-type": "application/json",
        }
        started = time.perf_counter()
        sessions[index].post(receivers[index].url("/base"), data=body, headers=headers)
        latencies.append(time.perf_counter() - started)
    return latencies


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(harness.machine_line())
    print(
        f"{args.consents} revocations over {args.recipients} recipients; "
        f"{args.workers} worker process(es) (threads x{args.concurrency} each, "
        "beat inside the first)"
    )
    broker = OwnRedis()
    with ExitStack() as stack:
        database_url = stack.enter_context(
            scratch_database(args.database_url, f"cmp_bench_propagation_{os.getpid()}")
        )
        broker.start()
        stack.callback(broker.stop)
        receivers = [
            stack.enter_context(running_receiver()) for _ in range(args.recipients)
        ]
        env = configure(database_url, broker.url)
        started = time.perf_counter()
        granted, secrets = make_parties(receivers, args.consents)
        print(
            f"setup: {len(granted)} consents in {time.perf_counter() - started:.1f} s"
        )

        floor = baseline(receivers, secrets, args.consents)
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        for index in range(args.workers):
            command = celery_worker_command(
                pool="threads",
                concurrency=args.concurrency,
                beat_schedule=f"{folder}/beat-schedule" if index == 0 else None,
            )
            command.append(f"--hostname=bench{index}@%h")
            # No log file: the workers' warnings show with the report.
            worker = harness.start_process(command, None, env)
            stack.callback(harness.stop_process, worker)
        time.sleep(3)  # the workers and the beat are up

        from audit.actors import Actor
        from cmp.client.webhooks import verify_webhook
        from consents import services

        actor = Actor("staff", "bench")
        committed: dict[str, float] = {}
        first = time.time()
        for consent in granted:
            services.revoke_consent(consent_id=consent.id, actor=actor)
            committed[str(consent.id)] = time.time()
        last_commit = time.time()

        def arrivals() -> list:
            return [r for rec in receivers for r in rec.requests() if r.path != "/base"]

        wait_until(
            lambda: len({r.headers["webhook-id"] for r in arrivals()}) >= len(granted),
            timeout=args.timeout,
            interval=0.2,
        )
        received = arrivals()
        first_arrival: dict[str, float] = {}
        corrupted = 0
        for request in received:
            code = request.path.rsplit("/", 1)[-1]
            try:
                payload = verify_webhook(request.headers, request.body, secrets[code])
            except Exception:
                corrupted += 1
                continue
            consent_id = payload["data"]["consent_id"]
            first_arrival[consent_id] = min(
                first_arrival.get(consent_id, request.at), request.at
            )
        latencies = [first_arrival[c] - committed[c] for c in first_arrival]
        lost = len(granted) - len(first_arrival)
        repeats = len(received) - len({r.headers["webhook-id"] for r in received})
        span = max(first_arrival.values()) - first if first_arrival else float("nan")

    print(
        f"revocations: {len(granted)} committed in {last_commit - first:.1f} s "
        f"({len(granted) / (last_commit - first):.0f}/s)"
    )
    print(
        "baseline  direct signed POST to the same receivers: "
        f"p50 {statistics.median(floor) * 1000:.1f} ms, "
        f"p99 {harness.percentile(floor, 0.99) * 1000:.1f} ms"
    )
    if latencies:
        print(
            "commit → receiver: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {harness.percentile(latencies, 0.99) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
        print(
            f"deliveries/s (first commit → last arrival): {len(latencies) / span:.0f}"
        )
    print(f"lost: {lost}   corrupted: {corrupted}   repeats: {repeats}")
    p99_ok = bool(latencies) and harness.percentile(latencies, 0.99) < 1.0
    print(f"target p99 < 1 s: {harness.verdict(p99_ok)}")
    intact = not (lost or corrupted)
    print(f"target nothing lost or corrupted: {harness.verdict(intact)}")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
