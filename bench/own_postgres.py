"""A PostgreSQL server of the benchmark's own, sized for the data it measures.

The machine's shared server keeps Debian's defaults (`shared_buffers` 128MB),
which a 1,000,000-consent database (about 1.3 GB) outgrows: checks then read
from the kernel's page cache, and from the disk when the kernel has evicted it,
so the figure measures the page cache more than the platform. A production
server is sized for its data; PostgreSQL's own guidance is a quarter of the
memory for `shared_buffers`. This starts one such server from a fresh `initdb` on
a free loopback port, with every other setting at its default (`fsync` and
`synchronous_commit` on), and ends it by its process id (its process group if
it hangs on). The machine's shared server is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench import harness

READY_SECONDS = 60
STOP_SECONDS = 60


class PostgresStartError(RuntimeError):
    """The benchmark's own server could not be made or started."""


def quarter_of_memory() -> str:
    """PostgreSQL's suggested `shared_buffers` for a dedicated server, in MB."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{total // 4 // 2**20}MB"


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found is None:
        raise PostgresStartError("pg_config not found: install PostgreSQL's server")
    return Path(subprocess.check_output([found, "--bindir"], text=True).strip())


def _as_postgres() -> dict:
    """Run as the `postgres` account when root, which PostgreSQL refuses to be."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@contextmanager
def own_postgres(port: int, shared_buffers: str, log: Path) -> Iterator[str]:
    """Yield the root URL of a new server on 127.0.0.1:`port`; remove it after."""
    bindir = _bindir()
    datadir = Path(tempfile.mkdtemp(prefix="cmp-bench-pg-"))
    user = _as_postgres()
    if user:
        shutil.chown(datadir, "postgres", "postgres")
    try:
        initdb = subprocess.run(
            [bindir / "initdb", "-D", datadir, "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            capture_output=True, text=True, **user,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise PostgresStartError(f"initdb failed: {initdb.stderr.strip()}")
        server = harness.start_process(
            [bindir / "postgres", "-D", datadir, "-p", str(port),
             "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={datadir}",
             "-c", f"shared_buffers={shared_buffers}"],
            log, **user,
        )  # fmt: skip
        try:
            url = f"postgres://postgres@127.0.0.1:{port}"
            harness.wait_ready(
                server,
                lambda: _answers(url),
                "PostgreSQL",
                lambda: _tail(log),
                error=PostgresStartError,
                seconds=READY_SECONDS,
            )
            yield url
        finally:
            # Fast shutdown (SIGINT): the benchmark has no use for its sessions.
            harness.stop_process(server, stop=signal.SIGINT, seconds=STOP_SECONDS)
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(f"{url}/postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _tail(log: Path) -> str:
    """The server's last lines, on one line."""
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
