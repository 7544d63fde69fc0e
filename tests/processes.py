"""Helpers for tests (and benchmarks) that start processes of their own.

No Django here: benchmarks use it before or without settings.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
import requests

REDIS_SERVER = shutil.which("redis-server")


def stop_process(process: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """End a process this test started, by its pid: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def stop_process_group(process: subprocess.Popen, *, timeout: float = 15.0) -> None:
    """End a process started with `start_new_session=True`, then anything left in
    its group: a worker killed with SIGKILL leaves its beat child behind."""
    stop_process(process, timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def http_answers(url: str) -> bool:
    """Whether something serves HTTP at `url` yet (any status will do)."""
    try:
        requests.get(url, timeout=1)
    except requests.RequestException:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition()` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        if condition():
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    return bool(condition())


class OwnRedis:
    """A redis-server on a free loopback port, with nothing saved to disk."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        if not wait_until(answers, timeout=10):
            raise RuntimeError("the test's redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def celery_worker_command(
    *,
    pool: str = "solo",
    concurrency: int = 1,
    beat_schedule: str | None = None,
    loglevel: str = "WARNING",
) -> list[str]:
    """`celery worker` for this project, with beat inside it when given a file."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        f"--loglevel={loglevel}",
    ]
    if beat_schedule:
        command += ["--beat", f"--schedule={beat_schedule}"]
    return command
