"""Benchmark: `POST /api/v1/checks/` under gunicorn, against a bare Django view.

What it measures. Unless `--database-url` names an existing server, it starts a
PostgreSQL server of its own sized for the data (`bench/own_postgres.py`:
`shared_buffers` a quarter of the memory, all else at the defaults). For each
dataset size (`--consents`, default 10,000 and 1,000,000) the script makes a
scratch database on it, fills it
(`bench/check_data.py`: catalog, organizations with real OAuth clients and a few
consents through the services, the rest in bulk SQL, then VACUUM ANALYZE) and
starts gunicorn on 127.0.0.1 with `bench.settings_bench`: production settings
(DEBUG off, PostgreSQL, Redis database 14, no access log) plus `/bench/bare/`,
a view that returns `{"ok": true}` without touching the database, and (unless
`--background none`) a Celery worker and beat as in production, which seal the
audit events that checks stage. wrk (`--connections`, `--duration` seconds a
run, after a `WARMUP_SECONDS` warm-up of each that is not counted) then measures,
on the same server and settings, in `--rounds` alternating pairs:

  (a) bare   GET /bench/bare/
  (b) check  POST /api/v1/checks/ with real bearer tokens of three organizations
             over `--bodies` bodies across the whole dataset: 80 % allowed
             (recipients and a holder) and 20 % denied (revoked, paused, expired,
             unknown subject, scope not granted); see `build_probes`.

Before measuring, a sample of the bodies is sent once and every answer must be
the expected `allowed`/`reason`; wrk's non-2xx count must be 0. The report gives
requests/s, p50 and p99 for (a) and (b) in every round, the ratios (b)/(a) of
each, and judges the round with the median throughput ratio against the targets
(throughput >= 0.4x, p99 <= 3x) and, over two or more sizes, the change of the
check's p50 and p99 from the smallest to the largest (target: within 20 %).
It also says how many staged audit events were left when the check run ended
and how long the worker took to seal them. Targets print PASS or FAIL; the exit
status is 0 either way and non-zero only when something broke (2: wrk is
missing).

Run from the project root, with wrk installed (`apt-get install -y wrk`):

    .venv/bin/python bench/check_throughput.py [--consents 10000,1000000]
        [--duration 20] [--rounds 5] [--connections 16] [--workers N]
        [--worker-class sync|gthread] [--threads 4] [--wrk-threads N]
        [--background celery|none] [--bodies 5000] [--seed 2026]
        [--database-url postgres://postgres@127.0.0.1:5432 | --shared-buffers 6GB]

sync is the default worker class, as in the README's production command. On a
2-vCPU machine it gave the bare view the best figures: about the same requests/s
as gthread (5 workers of 4 or 1 threads), with a p99 of 13-14 ms in every run,
where gthread's bare p99 ranged from 20 to 200 ms from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench import check_data as data  # noqa: E402
from bench import own_postgres  # noqa: E402
from bench.machine import (  # noqa: E402
    cpu_count,
    cpu_model,
    cpu_seconds_by_process,
    cpu_spent,
)
from bench.scratch import scratch_database, url_for_database  # noqa: E402

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432"
HOST = "127.0.0.1"
BARE_PATH = "/bench/bare/"
CHECK_PATH = "/api/v1/checks/"
LUA_SCRIPT = PROJECT_ROOT / "bench" / "check.lua"
VENV_BIN = Path(sys.executable).parent
WARMUP_SECONDS = 5
READY_SECONDS = 60
STOP_SECONDS = 15
SEAL_WAIT_SECONDS = 60
REDIS_URL = "redis://127.0.0.1:6379/14"  # as in bench/settings_bench.py
DATA_SECONDS = 1800
VERIFY_SAMPLE = 400
TARGET_THROUGHPUT = 0.4  # check rps at least this times the bare view's
TARGET_P99 = 3.0  # check p99 at most this times the bare view's
TARGET_GROWTH = 0.20  # check latency at the largest size within this of the smallest
# Where the machine's CPU goes, per request: processes by a marker in their command.
CPU_KINDS = {
    "gunicorn": "gunicorn",
    "postgres": "postgres",
    "celery": "celery",
    "redis": "redis-server",
}

# What the check bodies ask, with their weights (per cent) in the mix.
MIX: dict[str, int] = {
    "allow-recipient": 50,
    "allow-recipient-marketing": 15,
    "allow-holder": 15,
    "deny-revoked": 5,
    "deny-unknown-subject": 5,
    "deny-scope-not-granted": 5,
    "deny-paused": 3,
    "deny-expired": 2,
}


class BenchError(RuntimeError):
    """Something broke: the figures would mean nothing."""


# --- Arguments and environment ----------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1000:
        raise argparse.ArgumentTypeError("sizes of at least 1000, comma-separated")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--consents",
        type=parse_sizes,
        default=[10_000, 1_000_000],
        help="dataset sizes, comma-separated (default 10000,1000000)",
    )
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds per measured run (20)"
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections (16)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating bare/check rounds per size; the median round is "
        "reported (default 5)",
    )
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=min(cpu_count(), 4),
        help="wrk threads (default min(nproc, 4))",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * cpu_count() + 1,
        help="gunicorn workers (default 2*nproc+1)",
    )
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn worker class for both views (default sync)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gthread worker (default 4; ignored for sync)",
    )
    parser.add_argument(
        "--background",
        choices=("celery", "none"),
        default="celery",
        help="run a Celery worker and beat during the runs, as production does "
        "(they seal staged audit events); default celery",
    )
    parser.add_argument(
        "--bodies", type=int, default=5000, help="distinct check bodies (5000)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="body sampling seed")
    parser.add_argument(
        "--database-url",
        default=None,
        help="root URL of an existing server to make the scratch databases on, "
        f"e.g. {DEFAULT_SERVER_URL}; by default the benchmark starts a server of "
        "its own (bench/own_postgres.py)",
    )
    parser.add_argument(
        "--shared-buffers",
        default=own_postgres.quarter_of_memory(),
        help="shared_buffers of the benchmark's own server (default a quarter of "
        "the memory, as PostgreSQL suggests for a dedicated server)",
    )
    args = parser.parse_args(argv)
    if args.wrk_threads > args.connections:
        parser.error("--wrk-threads must not exceed --connections")
    if min(args.duration, args.workers, args.threads, args.rounds) < 1:
        parser.error("--duration, --workers, --threads and --rounds must be positive")
    return args


def require_wrk() -> str:
    """wrk's path; exits 2 with the install command when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        print("wrk is not installed; install it with:", file=sys.stderr)
        print("  apt-get install -y wrk", file=sys.stderr)
        sys.exit(2)
    return path


# --- Scratch database and data ----------------------------------------------------


def server_env(database_url: str) -> dict[str, str]:
    """Environment for the data loader and gunicorn: bench settings, scratch db."""
    env = dict(os.environ)
    pythonpath = [str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings_bench",
        DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join(pythonpath),
        CMP_BENCH_CACHE_PREFIX=f"bench-check-{os.getpid()}",
        CMP_BENCH_QUEUE=f"cmp-bench-check-{os.getpid()}",
        REDIS_URL=REDIS_URL,
        LOG_LEVEL="WARNING",
    )
    return env


def build_dataset(
    env: dict[str, str], consents: int, workdir: Path
) -> tuple[data.Dataset, float]:
    """Fill the scratch database in a child process; (dataset, seconds)."""
    out = workdir / f"dataset-{consents}.json"
    command = [sys.executable, "-m", "bench.check_data", "--consents", str(consents)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--out", str(out)],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        timeout=DATA_SECONDS,
    )
    return data.load_dataset(out), time.perf_counter() - started


# --- gunicorn -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    worker_class: str
    threads: int

    def describe(self) -> str:
        threads = f", {self.threads} threads each" if self.threads > 1 else ""
        return f"{self.workers} workers, {self.worker_class}{threads}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def gunicorn_command(config: ServerConfig, port: int, log: Path) -> list[str]:
    command = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        f"--bind={HOST}:{port}",
        f"--workers={config.workers}",
        f"--worker-class={config.worker_class}",
        f"--threads={config.threads}",
        "--graceful-timeout=5",
        "--log-level=warning",
        f"--error-logfile={log}",
        "--no-control-socket",
        f"--chdir={PROJECT_ROOT}",
    ]
    return command  # no --access-logfile: gunicorn then writes no access log


def start_process(
    command: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen:
    """Start `command` in a session of its own, output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen) -> None:
    """Terminate by pid and wait; if it hangs on, kill its process group."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        # The leader is not reaped yet, so the group `start_process` made is ours.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


def wait_ready(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with requests.Session() as session:
        session.trust_env = False
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                if session.get(base_url + BARE_PATH, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
    raise BenchError(f"gunicorn not ready after {READY_SECONDS} s")


@contextmanager
def gunicorn(env: dict[str, str], config: ServerConfig, workdir: Path) -> Iterator[str]:
    """Start gunicorn on a free loopback port; yield its base URL; stop it."""
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    threads = config.threads if config.worker_class == "gthread" else 1
    command = gunicorn_command(
        ServerConfig(config.workers, config.worker_class, threads), port, log
    )
    process = start_process(command, env, log)
    try:
        base_url = f"http://{HOST}:{port}"
        wait_ready(base_url, process, log)
        yield base_url
    finally:
        stop_process(process)


@contextmanager
def background(env: dict[str, str], workdir: Path, enabled: bool) -> Iterator[None]:
    """A Celery worker and beat, as in production (they seal staged audit events)."""
    if not enabled:
        yield
        return
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    quiet = ["--loglevel=WARNING"]
    worker_log, beat_log = workdir / "celery-worker.log", workdir / "celery-beat.log"
    schedule = f"--schedule={workdir / 'celerybeat-schedule'}"
    worker = start_process(
        [*celery, "worker", *quiet, "--without-gossip", "--without-mingle"],
        env,
        worker_log,
    )
    try:
        beat = start_process([*celery, "beat", *quiet, schedule], env, beat_log)
        try:
            yield
            for process, log in ((worker, worker_log), (beat, beat_log)):
                if process.poll() is not None:
                    raise BenchError(f"celery exited:\n{log.read_text()[-3000:]}")
        finally:
            stop_process(beat)
    finally:
        stop_process(worker)


def audit_counts(database_url: str) -> tuple[int, int | None]:
    """Chained audit events and staged ones (None: the project stages none)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        chained = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
        if conn.execute("SELECT to_regclass('audit_pendingevent')").fetchone()[0]:
            staged = conn.execute("SELECT count(*) FROM audit_pendingevent")
            return chained, staged.fetchone()[0]
    return chained, None


@dataclass(frozen=True)
class AuditBacklog:
    """Staged audit events when the check run ended, and how long sealing took."""

    chained: int
    staged_at_end: int | None
    drain_seconds: float | None  # None: not drained within SEAL_WAIT_SECONDS


def wait_for_seal(database_url: str) -> AuditBacklog:
    started = time.monotonic()
    _, staged_at_end = audit_counts(database_url)
    while time.monotonic() - started < SEAL_WAIT_SECONDS:
        chained, staged = audit_counts(database_url)
        if not staged:
            return AuditBacklog(chained, staged_at_end, time.monotonic() - started)
        time.sleep(0.5)
    chained, _ = audit_counts(database_url)
    return AuditBacklog(chained, staged_at_end, None)


def clean_redis(env: dict[str, str]) -> None:
    """Remove this run's broker keys from the benchmark's Redis database."""
    import redis

    queue = env["CMP_BENCH_QUEUE"]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- Tokens, bodies and their verification ------------------------------------------


def fetch_tokens(base_url: str, clients: list[data.Client]) -> dict[str, str]:
    """A client-credentials access token with `consents:check` for each client."""
    tokens = {}
    with requests.Session() as session:
        session.trust_env = False
        for client in clients:
            response = session.post(
                base_url + "/o/token/",
                data={"grant_type": "client_credentials", "scope": "consents:check"},
                auth=(client.client_id, client.client_secret),
                timeout=30,
            )
            if response.status_code != 200:
                raise BenchError(f"token for {client.code}: {response.text[:500]}")
            tokens[client.code] = response.json()["access_token"]
    return tokens


@dataclass(frozen=True)
class Probe:
    """One check body, who sends it, and the answer it must get."""

    kind: str
    caller: str
    body: dict[str, Any]
    allowed: bool
    reason: str | None


EXPECTED_REASON = {
    "deny-revoked": "revoked",
    "deny-paused": "paused",
    "deny-expired": "expired",
    "deny-unknown-subject": "unknown_subject",
    "deny-scope-not-granted": "scope_not_granted",
}


def _pick_subject(
    rng: random.Random, dataset: data.Dataset, slot: int, wanted: str
) -> int:
    """A random bulk subject whose consent in `slot` is in state `wanted`."""
    for _ in range(100_000):
        subject = rng.randrange(dataset.subjects)
        if data.has_slot(subject, slot, dataset.bulk_consents) and (
            data.state(subject, slot) == wanted
        ):
            return subject
    raise BenchError(f"no subject with a {wanted} consent in slot {slot}")


def _probe(kind: str, rng: random.Random, dataset: data.Dataset) -> Probe:
    """A body of `kind` (a key of MIX) for a random subject that fits it."""
    sa, mk = data.SLOT_TERMS[0]["purpose"], data.SLOT_TERMS[1]["purpose"]
    reason = EXPECTED_REASON.get(kind)
    if kind == "deny-unknown-subject":
        caller = rng.choice(data.RECIPIENTS)
        ref = f"s-x{rng.randrange(10**9)}"
        body = {"subject_ref": ref, "purpose": sa, "scopes": ["bank.deposit"]}
        return Probe(kind, caller, body, False, reason)
    slot = 1 if kind == "allow-recipient-marketing" else 0
    wanted = reason if reason in ("revoked", "paused", "expired") else "active"
    s = _pick_subject(rng, dataset, slot, wanted)
    recipient = data.recipient_of(s)
    if kind == "allow-holder":
        body = {
            "subject_ref": f"h-{s}",
            "purpose": sa,
            "scopes": ["bank.deposit.transactions"],
            "counterparty": recipient,
        }
        return Probe(kind, data.HOLDER, body, True, None)
    if kind == "allow-recipient-marketing":
        body = {"subject_ref": f"s-{s}", "purpose": mk, "scopes": ["card.bills"]}
        return Probe(kind, recipient, body, True, None)
    scopes = rng.choice(
        [["bank.deposit.transactions"], ["bank.deposit", "card.approvals"]]
    )
    if kind == "deny-scope-not-granted":
        scopes = [*scopes, "insurance.contracts"]
    body = {"subject_ref": f"s-{s}", "purpose": sa, "scopes": scopes}
    return Probe(kind, recipient, body, reason is None, reason)


def _service_probes(dataset: data.Dataset) -> list[Probe]:
    """Checks on the consents granted through the services, as recipient and holder."""
    purpose = data.SLOT_TERMS[0]["purpose"]
    probes = []
    for consent in dataset.service_consents:
        kind = "service-revoked" if consent.revoked else "service-allowed"
        reason = "revoked" if consent.revoked else None
        scopes = ["card.approvals"]
        as_recipient = {"subject_ref": consent.reference, "purpose": purpose}
        as_holder = {
            "subject_ref": consent.holder_reference,
            "purpose": purpose,
            "counterparty": consent.recipient,
        }
        for caller, body in (
            (consent.recipient, as_recipient),
            (data.HOLDER, as_holder),
        ):
            body = {**body, "scopes": scopes}
            probes.append(Probe(kind, caller, body, not consent.revoked, reason))
    return probes


def build_probes(dataset: data.Dataset, count: int, seed: int) -> list[Probe]:
    """`count` bodies in the proportions of MIX, shuffled, plus the service ones."""
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    probes = [_probe(kinds[i % len(kinds)], rng, dataset) for i in range(count)]
    rng.shuffle(probes)
    return [*_service_probes(dataset), *probes]


def verify_probes(base_url: str, tokens: dict[str, str], probes: list[Probe]) -> int:
    """Send a sample once; every answer must match. Returns how many were sent."""
    by_kind: dict[str, list[Probe]] = {}
    for probe in probes:
        by_kind.setdefault(probe.kind, []).append(probe)
    per_kind = max(10, VERIFY_SAMPLE // len(by_kind))
    sample = [p for group in by_kind.values() for p in group[:per_kind]]
    wrong = []
    with requests.Session() as session:
        session.trust_env = False
        for probe in sample:
            response = session.post(
                base_url + CHECK_PATH,
                json=probe.body,
                headers={"Authorization": f"Bearer {tokens[probe.caller]}"},
                timeout=30,
            )
            answer = response.json() if response.status_code == 200 else {}
            got = (response.status_code, answer.get("allowed"), answer.get("reason"))
            if got != (200, probe.allowed, probe.reason):
                wrong.append(f"{probe.kind} {probe.body}: got {got} {response.text}")
    if wrong:
        details = "\n  ".join(wrong[:10])
        raise BenchError(
            f"{len(wrong)}/{len(sample)} checks answered wrongly:\n  {details}"
        )
    return len(sample)


def verify_bare(base_url: str) -> None:
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(base_url + BARE_PATH, timeout=10)
    if response.status_code != 200 or response.json() != {"ok": True}:
        raise BenchError(f"bare view: {response.status_code} {response.text[:200]}")


def lua_string(text: str) -> str:
    """A Lua long-bracket literal that `text` cannot close early."""
    level = 0
    while "]" + "=" * level + "]" in text:
        level += 1
    return "[" + "=" * level + "[" + text + "]" + "=" * level + "]"


def write_lua_requests(path: Path, probes: list[Probe], tokens: dict[str, str]) -> None:
    lines = ["return {"]
    for probe in probes:
        body = json.dumps(probe.body, separators=(",", ":"))
        token = lua_string(tokens[probe.caller])
        lines.append(f"  {{ token = {token}, body = {lua_string(body)} }},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


# --- wrk ---------------------------------------------------------------------------


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


# --- One dataset size ----------------------------------------------------------------


@dataclass
class SizeResult:
    consents: int
    dataset: data.Dataset
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
    def bare(self) -> WrkResult:
        return self.median.bare

    @property
    def check(self) -> WrkResult:
        return self.median.check

    @property
    def throughput_ratio(self) -> float:
        return self.median.throughput_ratio

    @property
    def p99_ratio(self) -> float:
        return self.median.p99_ratio

    @property
    def non_2xx(self) -> int:
        return sum(r.bare.non_2xx + r.check.non_2xx for r in self.rounds)


def run_size(
    consents: int, args: argparse.Namespace, load: Load, workdir: Path
) -> SizeResult:
    print(f"== {consents:,} consents: generating data")
    sys.stdout.flush()
    config = ServerConfig(args.workers, args.worker_class, args.threads)
    sealing = args.background == "celery"
    scratch_name = f"cmp_bench_check_{os.getpid()}_{consents}"
    with scratch_database(args.database_url, scratch_name) as database_url:
        env = server_env(database_url)
        dataset, data_seconds = build_dataset(env, consents, workdir)
        print(f"   data ready in {data_seconds:.1f} s; starting gunicorn")
        try:
            with (
                background(env, workdir, sealing),
                gunicorn(env, config, workdir) as base_url,
            ):
                tokens = fetch_tokens(base_url, dataset.clients)
                probes = build_probes(dataset, args.bodies, args.seed)
                verify_bare(base_url)
                verified = verify_probes(base_url, tokens, probes)
                requests_file = workdir / f"requests-{consents}.lua"
                write_lua_requests(requests_file, probes, tokens)
                wrk_env = {**os.environ, "CMP_BENCH_REQUESTS": str(requests_file)}
                print(f"   {verified} sample checks answered as expected; measuring")
                sys.stdout.flush()
                rounds = measure_rounds(
                    load, base_url, args.duration, args.rounds, wrk_env, database_url
                )
                if sealing:
                    backlog = wait_for_seal(database_url)
                else:
                    chained, staged = audit_counts(database_url)
                    backlog = AuditBacklog(chained, staged, None)
        finally:
            clean_redis(env)
    mix = Counter(p.kind for p in probes)
    return SizeResult(consents, dataset, data_seconds, verified, mix, rounds, backlog)


# --- Report --------------------------------------------------------------------------


def git_state() -> str:
    def git(*argv: str) -> str:
        completed = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *argv],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return completed.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("log", "--oneline", "-1") + (" (working tree modified)" if dirty else "")


@contextmanager
def postgres_server(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """The server to measure on: the one `--database-url` names, or our own."""
    if args.database_url:
        yield args.database_url
        return
    log = workdir / "postgres.log"
    with own_postgres.own_postgres(free_port(), args.shared_buffers, log) as url:
        yield url


def postgres_settings(server_url: str) -> dict[str, str]:
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync")
    with psycopg.connect(url_for_database(server_url, "postgres")) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    return (completed.stdout or completed.stderr).splitlines()[0].split(" [")[0]


def print_machine(args: argparse.Namespace, load: Load, server: str) -> None:
    pg = postgres_settings(args.database_url)
    config = ServerConfig(
        args.workers,
        args.worker_class,
        args.threads if args.worker_class == "gthread" else 1,
    )
    print("Machine")
    print(f"  nproc               {cpu_count()}")
    print(f"  cpu                 {cpu_model()}")
    print(f"  python              {platform.python_version()}")
    print(
        f"  django / drf        {version('django')} / {version('djangorestframework')}"
    )
    print(
        f"  postgresql          {pg['server_version']}, {server} (shared_buffers "
        f"{pg['shared_buffers']}, synchronous_commit {pg['synchronous_commit']}, "
        f"fsync {pg['fsync']})"
    )
    print(f"  gunicorn            {version('gunicorn')}: {config.describe()}")
    print(
        f"  wrk                 {wrk_version(load.wrk)}: {load.threads} threads, "
        f"{load.connections} connections, {WARMUP_SECONDS} s warm-up, then "
        f"{args.rounds} rounds of bare and check, {args.duration} s each"
    )
    print(f"  background          {background_text(args.background)}")
    print(f"  git                 {git_state()}")
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


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


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
    targets = (
        (
            f"check throughput >= {TARGET_THROUGHPUT:.1f}x bare",
            result.throughput_ratio,
            result.throughput_ratio >= TARGET_THROUGHPUT,
        ),
        (
            f"check p99 <= {TARGET_P99:.1f}x bare",
            result.p99_ratio,
            result.p99_ratio <= TARGET_P99,
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
    for r in results:
        print(
            f"  {r.consents:>10,}{r.bare.rps:>12.1f}{r.check.rps:>13.1f}"
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
    for name, before, after in (
        ("p50", small.check.p50_ms, large.check.p50_ms),
        ("p99", small.check.p99_ms, large.check.p99_ms),
    ):
        change = after / before - 1
        print(
            f"    {name}: {before:.2f} -> {after:.2f} ms ({change:+.1%}) "
            f"{verdict(abs(change) <= TARGET_GROWTH)}"
        )
    print()


# --- Main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    wrk = require_wrk()
    args = parse_args(argv)
    load = Load(wrk, args.connections, args.wrk_threads)
    results = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="cmp-bench-check-") as tmp,
            postgres_server(args, Path(tmp)) as server_url,
        ):
            server = server_url if args.database_url else "its own server"
            args.database_url = server_url  # where run_size makes its databases
            print_machine(args, load, server)
            for consents in sorted(args.consents):
                results.append(run_size(consents, args, load, Path(tmp)))
                print_size(results[-1])
    except (
        BenchError,
        own_postgres.PostgresStartError,
        subprocess.SubprocessError,
        requests.RequestException,
    ) as e:
        print(f"benchmark broke: {e}", file=sys.stderr)
        return 1
    print_summary(results)
    failed = [r.consents for r in results if r.non_2xx]
    if failed:
        print(
            f"non-2xx responses at {failed} consents: figures invalid", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
