"""The processes `bench/check_throughput.py` measures, and what they leave behind.

For each scratch database: the data loader (`bench/check_data.py`, in a child
process), gunicorn with `bench.settings_bench`, and a Celery worker and beat as in
production, which seal the audit events that checks stage; afterwards, how long
sealing took and the run's keys removed from Redis.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import check_layout as layout
from bench import harness
from bench.harness import BenchError

BARE_PATH = "/bench/bare/"
CHECK_PATH = "/api/v1/checks/"
VENV_BIN = Path(sys.executable).parent
SEAL_WAIT_SECONDS = 60
REDIS_URL = "redis://127.0.0.1:6379/14"  # as in bench/settings_bench.py
DATA_SECONDS = 1800


def server_env(database_url: str) -> dict[str, str]:
    """Environment for the data loader and gunicorn: bench settings, scratch db."""
    env = dict(os.environ)
    pythonpath = [str(harness.PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        DJANGO_SETTINGS_MODULE=harness.BENCH_SETTINGS,
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
) -> tuple[layout.Dataset, float]:
    """Fill the scratch database in a child process; (dataset, seconds)."""
    out = workdir / f"dataset-{consents}.json"
    command = [sys.executable, "-m", "bench.check_data", "--consents", str(consents)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--out", str(out)],
        env=env,
        cwd=harness.PROJECT_ROOT,
        check=True,
        timeout=DATA_SECONDS,
    )
    return layout.load_dataset(out), time.perf_counter() - started


# --- gunicorn and Celery -----------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    workers: int
    worker_class: str
    threads: int  # per worker; 1 for sync, which ignores --threads

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServerConfig:
        threads = args.threads if args.worker_class == "gthread" else 1
        return cls(args.workers, args.worker_class, threads)

    def describe(self) -> str:
        threads = f", {self.threads} threads each" if self.threads > 1 else ""
        return f"{self.workers} workers, {self.worker_class}{threads}"


def gunicorn_command(config: ServerConfig, port: int, log: Path) -> list[str]:
    command = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        f"--bind={harness.HOST}:{port}",
        f"--workers={config.workers}",
        f"--worker-class={config.worker_class}",
        f"--threads={config.threads}",
        "--graceful-timeout=5",
        "--log-level=warning",
        f"--error-logfile={log}",
        "--no-control-socket",
        f"--chdir={harness.PROJECT_ROOT}",
    ]
    return command  # no --access-logfile: gunicorn then writes no access log


@contextmanager
def gunicorn(env: dict[str, str], config: ServerConfig, workdir: Path) -> Iterator[str]:
    """Start gunicorn on a free loopback port; yield its base URL; stop it."""
    port = harness.free_port()
    log = workdir / f"gunicorn-{port}.log"
    process = harness.start_process(gunicorn_command(config, port, log), log, env)
    try:
        base_url = f"http://{harness.HOST}:{port}"
        harness.wait_ready(
            process,
            lambda: harness.answers_ok(base_url + BARE_PATH),
            "gunicorn",
            lambda: harness.log_tail(log),
        )
        yield base_url
    finally:
        harness.stop_process(process)


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
    worker = harness.start_process(
        [*celery, "worker", *quiet, "--without-gossip", "--without-mingle"],
        worker_log,
        env,
    )
    try:
        beat = harness.start_process([*celery, "beat", *quiet, schedule], beat_log, env)
        try:
            yield
            for process, log in ((worker, worker_log), (beat, beat_log)):
                if process.poll() is not None:
                    raise BenchError(f"celery exited:\n{harness.log_tail(log)}")
        finally:
            harness.stop_process(beat)
    finally:
        harness.stop_process(worker)


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


# --- Sealing of staged audit events ------------------------------------------------


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
