"""Benchmark: sealing staged check events into the chain, and verifying it.

What it measures. In a scratch PostgreSQL database, `--sizes` check events (by
default 100,000 and 1,000,000) are staged with one COPY, as checks would leave
them, and `seal_pending_events` appends them to the chain (hashing each, under
the append lock, in batches). As the baseline in the same run, the very same rows
are COPYed into an unindexed table of the same columns: the cost of just writing
them. The ratio sealing/COPY is the figure to hold (target at least 0.2x, and at
least 50,000 events/s).

Then, on the chain built (the largest size), a checkpoint is signed and the
chain verified in full (`verify_chain`, what `manage.py verify_audit` does);
`--appended` more events are sealed and checkpointed, and the hourly task's
incremental verification (`verify_audit_log(incremental=True)`) walks only
those. Both are timed.

Run from the project root (PostgreSQL reachable):

    .venv/bin/python bench/audit_sealing.py [--sizes 100000,1000000]
        [--appended 10000] [--database-url postgres://postgres@127.0.0.1:5432]

By default it runs on a PostgreSQL server of its own, sized as for a dedicated
machine (`bench/own_postgres.py`, as the check benchmark does); `--database-url`
measures on an existing server instead.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import harness

TARGET_RATE = 50_000
TARGET_RATIO = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--appended", type=int, default=10_000)
    return harness.parse_args(parser, argv, own_server=True)


def _rows(count: int) -> list[list]:
    """Staged rows of `count` check events, as the answering processes write them."""
    from audit.actors import Actor
    from audit.services import _content
    from audit.staging import staged_row

    actor = Actor("organization", "moneylog")
    payload = {
        "allowed": True,
        "reason": None,
        "scopes": ["bank.deposit"],
        "missing_scopes": [],
        "holder": None,
    }
    return [
        staged_row(
            _content(
                action="consent.checked",
                actor=actor,
                subject=f"sub_{uuid.uuid4().hex[:24]}",
                recipient="moneylog",
                purpose="spending-analysis",
                consent_id=uuid.uuid4(),
                payload=payload,
            )
        )
        for _ in range(count)
    ]


def _timed_copy(table: str, rows: list[list]) -> float:
    from audit.chain import CONTENT_FIELDS
    from cmp_common.db.cursors import copy_rows

    started = time.perf_counter()
    copy_rows(f"COPY {table} ({', '.join(CONTENT_FIELDS)}) FROM STDIN", rows)
    return time.perf_counter() - started


def _execute(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)


def measure_sealing(count: int) -> tuple[float, float]:
    """(sealed events/s, plain COPY rows/s) for `count` staged events."""
    from audit.services import seal_pending_events

    rows = _rows(count)
    _execute("DROP TABLE IF EXISTS bench_plain_copy")
    _execute(
        "CREATE TABLE bench_plain_copy "
        "(LIKE audit_pendingevent INCLUDING DEFAULTS INCLUDING IDENTITY)"
    )
    plain = count / _timed_copy("bench_plain_copy", rows)
    _execute("DROP TABLE bench_plain_copy")
    _timed_copy("audit_pendingevent", rows)
    # Millions of live objects would make every garbage collection walk them
    # all: a cost of this script, not of a sealer in a worker.
    del rows
    gc.collect()
    _execute("VACUUM ANALYZE audit_pendingevent")
    started = time.perf_counter()
    sealed = seal_pending_events(max_batches=10**9)
    elapsed = time.perf_counter() - started
    assert sealed == count, (sealed, count)
    return sealed / elapsed, plain


def measure_verification(appended: int) -> tuple[float, int, float, int]:
    """(full seconds, events walked, incremental seconds, events walked)."""
    from audit.actors import SYSTEM
    from audit.checkpoints import create_checkpoint
    from audit.services import seal_pending_events, verify_audit_log

    create_checkpoint()
    started = time.perf_counter()
    full = verify_audit_log(actor=SYSTEM)
    full_seconds = time.perf_counter() - started
    assert full.ok, full.problem
    _timed_copy("audit_pendingevent", _rows(appended))
    seal_pending_events(max_batches=10**9)
    create_checkpoint()
    started = time.perf_counter()
    incremental = verify_audit_log(actor=SYSTEM, incremental=True)
    incremental_seconds = time.perf_counter() - started
    assert incremental.ok, incremental.problem
    return full_seconds, full.checked, incremental_seconds, incremental.checked


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(harness.machine_line())
    results = []
    with harness.django_on_scratch_database(args, "cmp_bench_seal"):
        for count in sizes:
            rate, plain = measure_sealing(count)
            results.append((count, rate, plain))
            print(
                f"{count:>10,} staged: sealed {rate:>9,.0f}/s   plain COPY "
                f"{plain:>9,.0f}/s   ratio {rate / plain:.2f}x",
                flush=True,
            )
        full_s, full_n, inc_s, inc_n = measure_verification(args.appended)
    print(
        f"verification: full {full_n:,} events in {full_s:.2f} s "
        f"({full_n / full_s:,.0f}/s); incremental (hourly) {inc_n:,} events in "
        f"{inc_s:.3f} s"
    )
    ok = all(r >= TARGET_RATE and r / p >= TARGET_RATIO for _, r, p in results)
    print(
        f"target sealing >= {TARGET_RATE:,}/s and >= {TARGET_RATIO}x plain COPY: "
        f"{harness.verdict(ok)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
