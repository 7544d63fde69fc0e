"""Real Celery workers and a Redis of their own, for tests that need processes.

A test that kills a worker or a Redis starts its own copy on a free loopback
port and ends it by its process id: the machine's shared services are never
touched. Every wait here is bounded in time and count.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from tests.processes import (
    REDIS_SERVER,
    celery_worker_command,
    free_port,
    http_answers,
    stop_process_group,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("CI", "").lower() == "true" and not REDIS_SERVER:
    raise RuntimeError("CI=true needs redis-server for the worker tests")
requires_worker = pytest.mark.skipif(
    not (settings.USING_POSTGRES and REDIS_SERVER),
    reason="needs PostgreSQL and redis-server (required under CI=true)",
)


@contextmanager
def use_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at `url` (the tests' workers' broker)."""
    # Django-style settings fill broker_write_url too, and producers read that.
    previous = app.conf.broker_write_url
    _drop_connections()
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        _drop_connections()
        app.conf.broker_write_url = previous


def _drop_connections() -> None:
    """Forget pooled broker connections and producers (Celery keeps both)."""
    for owner, name in ((app, "_pool"), (app.amqp, "_producer_pool")):
        pool = getattr(owner, name, None)
        if pool is not None:
            pool.force_close_all()
            setattr(owner, name, None)


def worker_env(broker_url: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_BROKER_URL=broker_url,
        **extra,
    )
    return env


@contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    beat: bool = True,
    threads: int = 0,
    name: str = "worker",
    loglevel: str = "WARNING",
) -> Iterator[subprocess.Popen]:
    """One worker process (solo pool, or `threads` threads; with beat inside it
    unless `beat=False`). Give each of several workers its own `name`.

    Its log goes to a file (a test that stops Redis makes it complain loudly) and
    is printed only when the test fails.
    """
    with tempfile.TemporaryDirectory() as folder:
        command = [
            *celery_worker_command(
                pool="threads" if threads else "solo",
                concurrency=threads or 1,
                beat_schedule=f"{folder}/beat-schedule" if beat else None,
                loglevel=loglevel,
            ),
            f"--hostname={name}@%h",
        ]
        log_path = Path(folder) / "worker.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its group: beat's child goes with it
            )
            process.log_path = log_path  # type: ignore[attr-defined]  # for tests that read it
            try:
                yield process
            except BaseException:
                stop_process_group(process)
                print(log_path.read_text(errors="replace")[-5000:])
                raise
            finally:
                stop_process_group(process)


def start_gunicorn(
    env: dict[str, str], *, workers: int = 2, production_config: bool = False
) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the project on a free port, in a session of its own (end
    it with `stop_process_group`); the process and its base URL, once it answers.
    `production_config` starts it with the project's `gunicorn.conf.py`."""
    port = free_port()
    config = ["--config=gunicorn.conf.py"] if production_config else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *config,
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: http_answers(f"{base}/healthz"), timeout=30):
        stop_process_group(process)
        raise RuntimeError("gunicorn did not start")
    return process, base
