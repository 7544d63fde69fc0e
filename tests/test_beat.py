"""Two nodes, each with a web server, a worker and a beat: only one beat sends
the schedule, so each periodic task runs once per period, and when that beat
dies the other takes over."""

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from audit.models import AuditEvent
from tests.processes import own_redis, stop_process_group, wait_until
from tests.workers import (
    ROOT,
    celery_worker,
    requires_worker,
    start_gunicorn,
    use_broker,
    worker_env,
)

PERIOD = 1.0  # seconds between hourly-in-production verifications, here


def _beat(env: dict[str, str], folder: str, name: str) -> subprocess.Popen:
    log = Path(folder, f"{name}.log").open("wb")  # noqa: SIM115  # closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={folder}/{name}-schedule",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def running_web(env: dict[str, str]) -> Iterator[None]:
    """Two gunicorn servers, as on two nodes; they run no periodic work."""
    servers = [start_gunicorn(env, workers=1)[0] for _ in range(2)]
    try:
        yield
    finally:
        for server in servers:
            stop_process_group(server)


def _verifications() -> int:
    return AuditEvent.objects.filter(action="audit.verified").count()


def _rate(seconds: float) -> float:
    """Verifications per second over the next `seconds`."""
    before, started = _verifications(), time.monotonic()
    time.sleep(seconds)
    return (_verifications() - before) / (time.monotonic() - started)


@requires_worker
def test_two_beats_send_each_period_once_and_the_second_takes_over(committed_db):
    with (
        own_redis() as redis,
        use_broker(redis.url),
        tempfile.TemporaryDirectory() as folder,
    ):
        env = worker_env(
            redis.url,
            REDIS_URL=redis.url,
            CMP_VERIFY_INTERVAL_SECONDS=str(PERIOD),
        )
        with (
            celery_worker(env, beat=False, threads=2, name="worker-a"),
            celery_worker(env, beat=False, threads=2, name="worker-b"),
            running_web(env),
        ):
            # The first beat starts alone, so it is the one holding the lock.
            first = _beat(env, folder, "a")
            second = None
            try:
                assert wait_until(lambda: _verifications() >= 2, timeout=60)
                second = _beat(env, folder, "b")
                time.sleep(3)
                both = _rate(8)
                # Two beats, one sending: about one per period, never two.
                assert 0.5 / PERIOD <= both <= 1.4 / PERIOD, both

                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
                # The lock outlives its holder by at most 10 s; then the
                # second beat sends, still once per period.
                time.sleep(12)
                after = _rate(6)
                assert 0.5 / PERIOD <= after <= 1.4 / PERIOD, after
            finally:
                for beat in (first, second):
                    if beat is not None:
                        stop_process_group(beat)
