"""Benchmark: audit appends per second on PostgreSQL, against a bare INSERT.

What it measures. Each append is one committed transaction,

    with transaction.atomic():
        record_event(action="bench.append", actor=Actor("system", "bench"), ...)

so it pays for the advisory lock that serialises appends, the read of the chain
head, the SHA-256 of the event and the commit. Appends are timed with one
connection in the main thread, then with 4 and 8 concurrent connections (one
thread and one Django connection each). As the baseline from the same server in
the same run, plain committed single-row INSERTs into an unchained table
(`bench_plain`) are timed with the same bounds and connection counts; the table
gives each chain figure as a ratio to the plain figure with as many connections.
Afterwards the whole chain is verified (`audit.verification.verify_chain`) and
timed, and the sequence is checked to be gapless.

Every phase stops after `--seconds` or `--events`, whichever comes first, after a
short warm-up. The script creates a scratch database `cmp_bench_<pid>` on the
server, migrates it and drops it at the end; nothing else is touched.

Run from the project root:

    .venv/bin/python bench/audit_append.py [--events N] [--seconds S]
        [--database-url postgres://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import harness
from bench.scratch import scratch_database

SETTINGS = "settings.test"  # the test suite's keys, on the scratch database
CONNECTION_COUNTS = (1, 4, 8)
WARMUP_EVENTS = 200
PLAIN_TABLE = "bench_plain"

Operation = Callable[[int], None]


@dataclass(frozen=True)
class Result:
    phase: str
    connections: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class Tickets:
    """Hands out event numbers 0..limit-1 to any number of threads."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._limit:
                return None
            self._next += 1
            return self._next - 1


# --- Scratch database and Django --------------------------------------------------


def start_django(database_url: str) -> None:
    """Django with the test settings on the scratch database, migrated."""
    harness.setup_django(SETTINGS, DATABASE_URL=database_url)
    harness.migrate()


def create_plain_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id bigserial PRIMARY KEY, payload jsonb)"
        )


# --- The two operations -----------------------------------------------------------


def append_event(n: int) -> None:
    """One chained audit append in its own committed transaction."""
    from django.db import transaction

    from audit.actors import Actor
    from audit.services import record_event

    with transaction.atomic():
        record_event(
            action="bench.append", actor=Actor("system", "bench"), payload={"n": n}
        )


def insert_plain(n: int) -> None:
    """One bare single-row INSERT in its own committed transaction."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PLAIN_TABLE} (payload) VALUES (%s::jsonb)",
            [json.dumps({"n": n})],
        )


# --- Timing -----------------------------------------------------------------------


def run_until(operation: Operation, tickets: Tickets, deadline: float) -> int:
    """Run `operation` until the deadline or the tickets run out; return the count."""
    done = 0
    while time.perf_counter() < deadline:
        n = tickets.take()
        if n is None:
            break
        operation(n)
        done += 1
    return done


def run_single(
    operation: Operation, seconds: float, max_events: int
) -> tuple[int, float]:
    """Run in the main thread on its connection; return (events, elapsed)."""
    from django.db import connection

    connection.ensure_connection()
    tickets = Tickets(max_events)
    start = time.perf_counter()
    events = run_until(operation, tickets, start + seconds)
    return events, time.perf_counter() - start


def run_threads(
    operation: Operation, connections: int, seconds: float, max_events: int
) -> tuple[int, float]:
    """Run on `connections` threads, each with its own Django connection.

    Every thread connects before the clock starts; the clock stops when the last
    thread is done. Returns (events, elapsed).
    """
    from django.db import connection

    tickets = Tickets(max_events)
    barrier = threading.Barrier(connections + 1)
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            counts.append(run_until(operation, tickets, time.perf_counter() + seconds))
        except BaseException as error:
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(counts), elapsed


def measure(
    phase: str,
    operation: Operation,
    connections: int,
    seconds: float,
    max_events: int,
) -> Result:
    if connections == 1:
        events, elapsed = run_single(operation, seconds, max_events)
    else:
        events, elapsed = run_threads(operation, connections, seconds, max_events)
    return Result(phase, connections, events, elapsed)


def warm_up() -> None:
    for n in range(WARMUP_EVENTS):
        insert_plain(n)
        append_event(n)


# --- Checks and report ------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    seconds: float
    problem: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def verify() -> Verification:
    from audit.verification import verify_chain

    start = time.perf_counter()
    result = verify_chain()
    elapsed = time.perf_counter() - start
    return Verification(result.ok, result.checked, elapsed, result.problem)


def check_gapless() -> tuple[int, int]:
    """Return (max sequence, row count); raise if they differ."""
    from django.db.models import Count, Max

    from audit.models import AuditEvent

    totals = AuditEvent.objects.aggregate(top=Max("sequence"), rows=Count("pk"))
    top, rows = totals["top"] or 0, totals["rows"]
    if top != rows:
        raise AssertionError(f"sequence has gaps: max(sequence)={top}, count={rows}")
    return top, rows


def print_machine(database_url: str) -> None:
    import django

    pg = harness.postgres_settings(database_url)
    harness.print_machine(
        [
            ("django / psycopg", f"{django.get_version()} / {psycopg.__version__}"),
            ("postgresql", pg["server_version"]),
            (
                "synchronous_commit",
                f"{pg['synchronous_commit']}, fsync {pg['fsync']}, "
                f"shared_buffers {pg['shared_buffers']}",
            ),
        ]
    )
    print()


def print_results(results: list[Result]) -> None:
    plain = {r.connections: r.rate for r in results if r.phase == "plain insert"}
    header = (
        f"{'phase':<14}{'conns':>6}{'events':>9}{'seconds':>9}"
        f"{'events/s':>11}{'vs plain':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        base = plain.get(r.connections)
        ratio = f"{r.rate / base:.2f}x" if base else "n/a"
        print(
            f"{r.phase:<14}{r.connections:>6}{r.events:>9}{r.seconds:>9.2f}"
            f"{r.rate:>11.1f}{ratio:>10}"
        )
    print()


def print_verification(check: Verification, top: int, rows: int) -> None:
    print("Verification")
    print(f"  verify_chain        ok={check.ok} events={check.events}")
    if check.problem:
        print(f"  problem             {check.problem}")
    print(f"  time                {check.seconds:.3f} s ({check.rate:.0f} events/s)")
    print(f"  gapless             max(sequence)={top} == count(*)={rows}")


# --- Main -------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=50_000,
        help="most events per phase (default 50000)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="longest duration per phase in seconds (default 10)",
    )
    return harness.parse_args(parser, argv)


def measure_appends(
    database_url: str,
    connection_counts: tuple[int, ...],
    seconds: float,
    max_events: int,
) -> list[Result]:
    """Plain inserts and chained appends with each number of connections, after a
    warm-up (the plain table is made here)."""
    create_plain_table()
    print_machine(database_url)
    warm_up()
    results: list[Result] = []
    for connections in connection_counts:
        for phase, operation in (
            ("plain insert", insert_plain),
            ("audit append", append_event),
        ):
            results.append(measure(phase, operation, connections, seconds, max_events))
    return results


def run_benchmark(database_url: str, seconds: float, max_events: int) -> bool:
    """Run all phases and checks, print the report; True when the chain verifies."""
    results = measure_appends(database_url, CONNECTION_COUNTS, seconds, max_events)
    print(
        f"Phases: at most {seconds:g} s or {max_events} events each, "
        f"after {WARMUP_EVENTS} warm-up events of each kind"
    )
    print()
    print_results(results)
    check = verify()
    top, rows = check_gapless()
    print_verification(check, top, rows)
    return check.ok and check.events == rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_database(
        args.database_url, f"cmp_bench_{os.getpid()}"
    ) as database_url:
        try:
            start_django(database_url)
            ok = run_benchmark(database_url, args.seconds, args.events)
        finally:
            harness.close_django_connections()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
