"""Settings for `bench/check_throughput.py`: production settings plus a bare route.

`settings.dev` (for its development-only keys) with DEBUG off, the scratch
database from `DATABASE_URL` (required; the benchmark sets it) and Redis database
14. `ROOT_URLCONF` adds `/bench/bare/` (see `bench/bare_urls.py`) so the bare view
and the API are served by the same gunicorn with the same settings. Throttling
stays on, with a rate of 100,000 a minute per organization, above what the
benchmark's three clients reach: each process adds its hits to the shared count
in Redis every 1,000 (1 % of the limit), as for any client below its limit.
The Celery broker is the same Redis database, on a queue named by the benchmark.
"""

import os

os.environ["DEBUG"] = "false"  # before settings.dev, whose default is true
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
# Long enough that tokens fetched before a long data load stay valid.
os.environ.setdefault("CMP_ACCESS_TOKEN_SECONDS", "3600")

from settings.dev import *  # noqa: F403
from settings.dev import CACHES, DATABASES, REST_FRAMEWORK

if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise RuntimeError("the benchmark runs on PostgreSQL: set DATABASE_URL")

ROOT_URLCONF = "bench.bare_urls"
BENCH_THROTTLE_RATE = os.environ.get("CMP_BENCH_THROTTLE_RATE", "100000/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "check": BENCH_THROTTLE_RATE,
    "write": BENCH_THROTTLE_RATE,
}
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CMP_BENCH_CACHE_PREFIX", "cmp-bench")
# The benchmark's Celery worker and beat use a queue of their own on Redis db 14.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CMP_BENCH_QUEUE", "cmp-bench")
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
