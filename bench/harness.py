"""What every benchmark repeats: where the project is, which PostgreSQL server,
the arguments they share, Django's start, the processes they start, and how
their figures are printed.

A benchmark run as a file (`python bench/x.py`) has `bench/` on its path, not
the project root, so it puts the root there itself before importing this module.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TextIO

import psycopg
import requests

from bench.machine import cpu_count, cpu_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432"
BENCH_SETTINGS = "bench.settings_bench"  # production settings plus the bare view
HOST = "127.0.0.1"
READY_SECONDS = 60
STOP_SECONDS = 15


class BenchError(RuntimeError):
    """Something broke: the figures would mean nothing."""


# --- Arguments and the PostgreSQL server ------------------------------------------


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's docstring."""
    return argparse.ArgumentParser(description=doc.splitlines()[0])


def parse_args(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    *,
    own_server: bool = False,
) -> argparse.Namespace:
    """Add the server arguments after the benchmark's own, then parse `argv`.

    With `own_server` the default is a server the benchmark starts for itself
    (`database_server`), sized by `--shared-buffers`; otherwise the machine's.
    """
    if not own_server:
        parser.add_argument(
            "--database-url",
            default=DEFAULT_SERVER_URL,
            help="server root URL; a scratch database is made on it "
            f"(default {DEFAULT_SERVER_URL})",
        )
        return parser.parse_args(argv)
    parser.add_argument(
        "--database-url",
        default=None,
        help="root URL of an existing server to make the scratch databases on, "
        f"e.g. {DEFAULT_SERVER_URL}; by default the benchmark starts a server of "
        "its own (bench/own_postgres.py)",
    )
    parser.add_argument(
        "--shared-buffers",
        default=None,
        help="shared_buffers of the benchmark's own server (default a quarter of "
        "the memory, as PostgreSQL suggests for a dedicated server)",
    )
    return parser.parse_args(argv)


@contextmanager
def database_server(
    args: argparse.Namespace, workdir: Path
) -> Iterator[tuple[str, str]]:
    """The server to measure on, as (root URL, its name in the report): the one
    `--database-url` names, or one of our own, stopped afterwards."""
    if args.database_url:
        yield args.database_url, args.database_url
        return
    # Imported here: own_postgres starts its server with this module's helpers.
    from bench import own_postgres

    shared_buffers = args.shared_buffers or own_postgres.quarter_of_memory()
    log = workdir / "postgres.log"
    with own_postgres.own_postgres(free_port(), shared_buffers, log) as url:
        yield url, "its own server"


def postgres_settings(url: str) -> dict[str, str]:
    """The settings the reports show, from the server at `url`."""
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync")
    with psycopg.connect(url) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


# --- Django ------------------------------------------------------------------------


def setup_django(settings: str, **environment: str) -> None:
    """Start Django in this process with `settings` and `environment` set."""
    os.environ.update(environment, DJANGO_SETTINGS_MODULE=settings)
    import django

    django.setup()


def migrate(catalog_to: TextIO | None = None) -> None:
    """Migrate the database; with `catalog_to`, load the demo catalog too (its
    summary of changes is written there)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if catalog_to is not None:
        call_command("load_catalog", verbosity=0, stdout=catalog_to)


@contextmanager
def django_on_scratch_database(
    args: argparse.Namespace, name: str, *, catalog: bool = False
) -> Iterator[str]:
    """Django in this process (`settings.dev`, DEBUG off) on a migrated scratch
    database `name` of the server `args` chooses (`database_server`); yields its
    URL, and closes the connections and drops everything afterwards."""
    import io
    import tempfile

    from bench.scratch import scratch_database

    with (
        tempfile.TemporaryDirectory() as workdir,
        database_server(args, Path(workdir)) as (server_url, server),
        scratch_database(server_url, f"{name}_{os.getpid()}") as url,
    ):
        setup_django("settings.dev", DEBUG="false", DATABASE_URL=url)
        migrate(catalog_to=io.StringIO() if catalog else None)
        print(f"server: {server}, {postgres_settings(url)}")
        try:
            yield url
        finally:
            close_django_connections()


def close_django_connections() -> None:
    """Close Django's connections, if it was set up."""
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()


# --- Processes the benchmark starts ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_process(
    command: Sequence[str | Path],
    log: Path | None,
    env: dict[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen:
    """Start `command` from the project root in a session of its own (so that
    `stop_process` can end all it started), its output to `log` (None: ours)."""
    with log.open("ab") if log else nullcontext() as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            **popen,
        )


def stop_process(
    process: subprocess.Popen,
    *,
    stop: signal.Signals = signal.SIGTERM,
    seconds: float = STOP_SECONDS,
) -> None:
    """Send `stop` by pid and wait; if it hangs on, kill its process group."""
    if process.poll() is not None:
        return
    process.send_signal(stop)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        # The leader is not reaped yet, so the group `start_process` made is ours.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=seconds)


def wait_ready(
    process: subprocess.Popen,
    answers: Callable[[], bool],
    name: str,
    last_words: Callable[[], str],
    *,
    error: type[Exception] = BenchError,
    seconds: float = READY_SECONDS,
) -> None:
    """Poll `answers()` until it is true; raise `error` with the process's
    `last_words()` (its log goes with the run's temporary folder) if it exits
    first or is not ready in `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise error(f"{name} exited at start: {last_words()}")
        if answers():
            return
        time.sleep(0.2)
    raise error(f"{name} did not start in {seconds} s: {last_words()}")


def log_tail(log: Path) -> str:
    """The last of what a process wrote to `log`."""
    return log.read_text(errors="replace")[-3000:]


def local_session() -> requests.Session:
    """A session for the benchmark's own servers: no proxy from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def answers_ok(url: str) -> bool:
    """Whether `url` answers 200 yet."""
    try:
        with local_session() as session:
            return session.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


# --- Figures -----------------------------------------------------------------------


def print_machine(rows: Iterable[tuple[str, object]]) -> None:
    """The report's `Machine` block: CPUs and Python, then the benchmark's rows."""
    print("Machine")
    for label, value in (
        ("nproc", cpu_count()),
        ("cpu", cpu_model()),
        ("python", platform.python_version()),
        *rows,
    ):
        print(f"  {label:<20}{value}")


def machine_line() -> str:
    return f"machine: {cpu_count()} CPUs, {cpu_model()}"


def percentile(values: Sequence[float], share: float) -> float:
    """The value at rank `share` * n of the sorted values (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
