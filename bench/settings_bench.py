"""Settings for `bench/check_throughput.py`: production settings plus a bare route.

`settings.base` with DEBUG off, the development-only keys of `settings.dev`, the
scratch database from `DATABASE_URL` (required; the benchmark sets it) and Redis
database 14. `ROOT_URLCONF` adds `/bench/bare/` (see `bench/bare_urls.py`) so the
bare view and the API are served by the same gunicorn with the same settings.
Throttling stays on, with per-second rates no benchmark reaches: DRF keeps one
timestamp per request in the window, so a per-second window keeps the cached
history short while still paying for the Redis round trip of every check. The
Celery broker is the same Redis database, on a queue named by the benchmark.
"""

import os

os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "dev-only-secret-key-not-for-production")
os.environ.setdefault(
    "CMP_DATA_KEYS", "dev1:ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE="
)
os.environ.setdefault("CMP_LOOKUP_KEY", "dev-only-lookup-key")
os.environ.setdefault(
    "CMP_SIGNING_KEYS", "dev1:ZGV2LW9ubHktc2lnbmluZy1rZXktc2VlZC0zMi1ieXQ="
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
# Long enough that tokens fetched before a long data load stay valid.
os.environ.setdefault("CMP_ACCESS_TOKEN_SECONDS", "3600")

from settings.base import *  # noqa: F403
from settings.base import CACHES, DATABASES, REST_FRAMEWORK

if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise RuntimeError("the benchmark runs on PostgreSQL: set DATABASE_URL")

ROOT_URLCONF = "bench.bare_urls"
BENCH_THROTTLE_RATE = os.environ.get("CMP_BENCH_THROTTLE_RATE", "1000000/s")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "check": BENCH_THROTTLE_RATE,
    "write": BENCH_THROTTLE_RATE,
}
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CMP_BENCH_CACHE_PREFIX", "cmp-bench")
# The benchmark's Celery worker and beat use a queue of their own on Redis db 14.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CMP_BENCH_QUEUE", "cmp-bench")
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
