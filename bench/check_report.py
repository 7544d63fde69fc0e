"""The results of `bench/check_throughput.py` and its report.

Each dataset size is judged by its round with the median throughput ratio
against `TARGET_THROUGHPUT` and `TARGET_P99`; over two or more sizes, the
check's latency at the largest against the smallest (`TARGET_GROWTH`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version

from bench import check_layout as layout
from bench import harness
from bench.check_servers import SEAL_WAIT_SECONDS, AuditBacklog, ServerConfig
from bench.check_wrk import WARMUP_SECONDS, Load, Round, wrk_version
from bench.harness import verdict
from bench.scratch import url_for_database

TARGET_THROUGHPUT = 0.4  # check rps at least this times the bare view's
TARGET_P99 = 3.0  # check p99 at most this times the bare view's
TARGET_GROWTH = 0.20  # check latency at the largest size within this of the smallest


@dataclass
class SizeResult:
    consents: int
    dataset: layout.Dataset
    data_seconds: float
    verified: int
    mix: Counter[str]
    rounds: list[Round]
    audit: AuditBacklog

    @property
    def median(self) -> Round:
        """The round with the median throughput ratio: its figures are reported."""
        ranked = sorted(self.rounds, key=lambda r: r.throughput_ratio)
        return ranked[(len(ranked) - 1) // 2]  # the lower one of an even count

    @property
    def non_2xx(self) -> int:
        return sum(r.bare.non_2xx + r.check.non_2xx for r in self.rounds)


def git_state() -> str:
    def git(*argv: str) -> str:
        completed = subprocess.run(
            ["git", "-C", str(harness.PROJECT_ROOT), *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return completed.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("log", "--oneline", "-1") + (" (working tree modified)" if dirty else "")


def print_machine(args: argparse.Namespace, load: Load, server: str) -> None:
    pg = harness.postgres_settings(url_for_database(args.database_url, "postgres"))
    config = ServerConfig.from_args(args)
    harness.print_machine(
        [
            ("django / drf", f"{version('django')} / {version('djangorestframework')}"),
            (
                "postgresql",
                f"{pg['server_version']}, {server} (shared_buffers "
                f"{pg['shared_buffers']}, synchronous_commit "
                f"{pg['synchronous_commit']}, fsync {pg['fsync']})",
            ),
            ("gunicorn", f"{version('gunicorn')}: {config.describe()}"),
            (
                "wrk",
                f"{wrk_version(load.wrk)}: {load.threads} threads, "
                f"{load.connections} connections, {WARMUP_SECONDS} s warm-up, then "
                f"{args.rounds} rounds of bare and check, {args.duration} s each",
            ),
            ("background", background_text(args.background)),
            ("git", git_state()),
        ]
    )
    print("  wrk, gunicorn, Celery, PostgreSQL and Redis all share this machine")
    if args.duration < 20:
        print(f"  note: {args.duration} s runs, shorter than the 20 s asked for")
    print()
    sys.stdout.flush()


def background_text(mode: str) -> str:
    if mode == "none":
        return "none (no Celery: staged audit events are not sealed)"
    return "Celery worker + beat (production schedule; seals staged audit events)"


def audit_text(audit: AuditBacklog) -> str:
    text = f"{audit.chained:,} events chained"
    if audit.staged_at_end is None:
        return text + " (checks append to the chain directly)"
    text += f"; {audit.staged_at_end:,} staged and unsealed when the run ended"
    if audit.drain_seconds is not None:
        return text + f", all sealed {audit.drain_seconds:.1f} s later"
    return text + f", not all sealed within {SEAL_WAIT_SECONDS} s"


def print_size(result: SizeResult) -> None:
    ds = result.dataset
    rows = ", ".join(f"{table} {n:,}" for table, n in ds.table_rows.items())
    print(f"Dataset: {result.consents:,} consents")
    print(
        f"  generated in {result.data_seconds:.1f} s (services "
        f"{ds.service_seconds:.1f} s, bulk SQL {ds.bulk_seconds:.1f} s, "
        f"VACUUM ANALYZE + CHECKPOINT {ds.analyze_seconds:.1f} s)"
    )
    print(f"  rows: {rows}")
    mix = ", ".join(f"{kind} {n}" for kind, n in sorted(result.mix.items()))
    print(f"  check bodies: {sum(result.mix.values())} ({mix})")
    print(f"  verified before measuring: {result.verified} checks")
    header = (
        f"  {'':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'requests':>11}{'non-2xx':>9}  socket errors"
    )
    print(header)
    for number, pair in enumerate(result.rounds, 1):
        median = " (median)" if pair is result.median else ""
        print(f"  round {number}{median}")
        for name, r in (("(a) bare", pair.bare), ("(b) check", pair.check)):
            print(
                f"  {name:<12}{r.rps:>10.1f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}"
                f"{r.requests:>11}{r.non_2xx:>9}  {r.socket_errors}"
            )
        p50_ratio = pair.check.p50_ms / pair.bare.p50_ms
        print(
            f"  {'(b)/(a)':<12}{pair.throughput_ratio:>9.2f}x{p50_ratio:>9.2f}x"
            f"{pair.p99_ratio:>9.2f}x"
        )
        for name, r in (("bare", pair.bare), ("check", pair.check)):
            spent = ", ".join(f"{kind} {us:,.0f}" for kind, us in r.cpu_us.items())
            print(f"    CPU µs per {name} request: {spent}")
        if pair.check.buffer_hit_ratio is not None:
            print(
                f"    PostgreSQL per check: {pair.check.blocks_read:.2f} blocks read"
                f" from the OS, {pair.check.buffer_hit_ratio:.1%} of blocks found"
                " in shared buffers"
            )
    print(f"  audit after the runs: {audit_text(result.audit)}")
    judged = result.median
    targets = (
        (
            f"check throughput >= {TARGET_THROUGHPUT:.1f}x bare",
            judged.throughput_ratio,
            judged.throughput_ratio >= TARGET_THROUGHPUT,
        ),
        (
            f"check p99 <= {TARGET_P99:.1f}x bare",
            judged.p99_ratio,
            judged.p99_ratio <= TARGET_P99,
        ),
    )
    for name, ratio, ok in targets:
        print(f"  target {name + ':':<32}{ratio:>6.2f}x  {verdict(ok)}")
    print()
    sys.stdout.flush()


def print_summary(results: list[SizeResult]) -> None:
    print("Summary")
    print(
        f"  {'consents':>10}{'bare req/s':>12}{'check req/s':>13}{'ratio':>8}"
        f"{'bare p99':>10}{'check p50':>11}{'check p99':>11}{'p99 ratio':>11}"
    )
    for result in results:
        r = result.median
        print(
            f"  {result.consents:>10,}{r.bare.rps:>12.1f}{r.check.rps:>13.1f}"
            f"{r.throughput_ratio:>7.2f}x{r.bare.p99_ms:>10.2f}"
            f"{r.check.p50_ms:>11.2f}{r.check.p99_ms:>11.2f}{r.p99_ratio:>10.2f}x"
        )
    if len(results) < 2:
        print()
        return
    small, large = results[0], results[-1]
    print(
        f"  check latency at {large.consents:,} vs {small.consents:,} consents "
        f"(target: within {TARGET_GROWTH:.0%}):"
    )
    before_check, after_check = small.median.check, large.median.check
    for name, before, after in (
        ("p50", before_check.p50_ms, after_check.p50_ms),
        ("p99", before_check.p99_ms, after_check.p99_ms),
    ):
        change = after / before - 1
        print(
            f"    {name}: {before:.2f} -> {after:.2f} ms ({change:+.1%}) "
            f"{verdict(abs(change) <= TARGET_GROWTH)}"
        )
    print()
