"""gunicorn for production: `gunicorn -c gunicorn.conf.py config.wsgi`.

Every value can be changed from the environment. With several workers, set
`PROMETHEUS_MULTIPROC_DIR` to a directory of its own: each worker then writes
its counters there, `/metrics` adds them up, and the files of the previous run
and of workers that exited are cleared here.
"""

import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Checks are short and CPU-bound; a stuck request is cut after this long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Workers are replaced now and then, so no slow leak outlives a day.
max_requests = 20_000
max_requests_jitter = 2_000
# The TLS proxy in front: trust its X-Forwarded-* headers only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")

_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server) -> None:
    if _METRICS_DIR:
        folder = Path(_METRICS_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if _METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
