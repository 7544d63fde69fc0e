"""wrk's load on the servers of `bench/check_throughput.py`, and what it cost.

Each run gives wrk's requests/s, p50, p99, non-2xx and socket errors, and, from
snapshots taken around it, the CPU each kind of process spent per request and
the PostgreSQL blocks each request read from outside shared buffers. Bare and
check runs alternate in rounds, after a warm-up of each that is not counted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from bench import harness
from bench.check_servers import BARE_PATH, CHECK_PATH
from bench.harness import BenchError
from bench.machine import cpu_seconds_by_process, cpu_spent

LUA_SCRIPT = harness.PROJECT_ROOT / "bench" / "check.lua"
WARMUP_SECONDS = 5
# Where the machine's CPU goes, per request: processes by a marker in their command.
CPU_KINDS = {
    "gunicorn": "gunicorn",
    "postgres": "postgres",
    "celery": "celery",
    "redis": "redis-server",
}


def require_wrk() -> str:
    """wrk's path; exits 2 with the install command when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        print("wrk is not installed; install it with:", file=sys.stderr)
        print("  apt-get install -y wrk", file=sys.stderr)
        sys.exit(2)
    return path


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (completed.stdout or completed.stderr).splitlines()[0].split(" [")[0]


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str
    cpu_us: dict[str, float] = field(default_factory=dict)  # per request, by kind
    # PostgreSQL blocks not in its shared buffers, read from the OS (its page
    # cache or the disk), per request; and the share found in shared buffers.
    blocks_read: float = 0.0
    buffer_hit_ratio: float | None = None


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, p50, p99, non-2xx and socket errors from `wrk --latency`."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"wrk output lacks {pattern!r}:\n{output}")
        return match

    total = find(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    return WrkResult(
        requests=int(total[1]),
        seconds=_latency_ms(total[2] + total[3]) / 1000,
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=_latency_ms(find(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=_latency_ms(find(r"^\s+99%\s+(\S+)")[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=errors[1].strip() if errors else "none",
    )


@dataclass(frozen=True)
class Load:
    """How wrk drives the server."""

    wrk: str
    connections: int
    threads: int


def run_wrk(
    load: Load,
    url: str,
    seconds: int,
    script: Path | None,
    env: dict[str, str],
    database_url: str,
) -> WrkResult:
    command = [
        load.wrk,
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
    ]
    if script is not None:
        command.append(f"--script={script}")
    before = cpu_seconds_by_process(CPU_KINDS)
    blocks_before = block_counts(database_url)
    completed = subprocess.run(
        [*command, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk failed: {completed.stderr}{completed.stdout}")
    result = parse_wrk(completed.stdout)
    spent = cpu_spent(before, cpu_seconds_by_process(CPU_KINDS))
    per_request = {
        kind: spent.get(kind, 0.0) / max(result.requests, 1) * 1e6 for kind in CPU_KINDS
    }
    read, hit = (
        after - earlier
        for after, earlier in zip(
            block_counts(database_url), blocks_before, strict=True
        )
    )
    return replace(
        result,
        cpu_us=per_request,
        blocks_read=read / max(result.requests, 1),
        buffer_hit_ratio=hit / (hit + read) if hit + read else None,
    )


def block_counts(database_url: str) -> tuple[int, int]:
    """Blocks the database read from the OS and found in shared buffers so far
    (as the server backends last reported them: within about a second)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT blks_read, blks_hit FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Round:
    """A bare run and the check run right after it."""

    bare: WrkResult
    check: WrkResult

    @property
    def throughput_ratio(self) -> float:
        return self.check.rps / self.bare.rps

    @property
    def p99_ratio(self) -> float:
        return self.check.p99_ms / self.bare.p99_ms


def measure_rounds(
    load: Load,
    base_url: str,
    seconds: int,
    rounds: int,
    env: dict[str, str],
    database_url: str,
) -> list[Round]:
    """Warm both up (not counted), then alternate bare and check runs.

    Other tenants of a shared machine come and go: a bare run and the check run
    right after it see about the same machine, and the median of several such
    pairs is steadier than any single pair.
    """
    bare_url, check_url = base_url + BARE_PATH, base_url + CHECK_PATH
    run_wrk(load, bare_url, WARMUP_SECONDS, None, env, database_url)
    run_wrk(load, check_url, WARMUP_SECONDS, LUA_SCRIPT, env, database_url)
    return [
        Round(
            bare=run_wrk(load, bare_url, seconds, None, env, database_url),
            check=run_wrk(load, check_url, seconds, LUA_SCRIPT, env, database_url),
        )
        for _ in range(rounds)
    ]
