"""Test settings: PostgreSQL and Redis when reachable, required under CI=true.

`CMP_TEST_DB=sqlite` forces SQLite for a quick local run of the unit tests.
"""

import hashlib
import os
import socket
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_CI = os.environ.get("CI", "").lower() == "true"
_WANT_SQLITE = os.environ.get("CMP_TEST_DB", "") == "sqlite"

if "DATABASE_URL" not in os.environ and not _WANT_SQLITE:
    if _reachable("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/cmp"
    elif _CI:
        raise ImproperlyConfigured("CI=true needs PostgreSQL on 127.0.0.1:5432")
if "REDIS_URL" not in os.environ:
    if _reachable("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    elif _CI:
        raise ImproperlyConfigured("CI=true needs Redis on 127.0.0.1:6379")

os.environ.setdefault("SECRET_KEY", "test-secret-key")
# Receivers in the tests listen on loopback over HTTP, on a compressed schedule.
os.environ.setdefault("CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("CMP_WEBHOOK_REQUIRE_HTTPS", "false")
os.environ.setdefault("CMP_WEBHOOK_RETRY_SCHEDULE", "0,0.2,0.4")
os.environ.setdefault("CMP_WEBHOOK_TIMEOUT_SECONDS", "1")
os.environ.setdefault("CMP_WEBHOOK_LEASE_SECONDS", "3")
os.environ.setdefault("CMP_WEBHOOK_DISPATCH_LEASE_SECONDS", "1")
# The test process publishes into memory; tests with real workers point it at a
# broker of their own (tests/workers.py), so no run leaves messages behind.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault(
    "CMP_DATA_KEYS", "test1:dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc="
)
os.environ.setdefault("CMP_LOOKUP_KEY", "test-lookup-key")
os.environ.setdefault(
    "CMP_SIGNING_KEYS", "test1:dGVzdC1vbmx5LXNpZ25pbmcta2V5LXNlZWQtMzItYnk="
)

from settings.base import *  # noqa: E402,F403
from settings.base import CACHES, DATABASES, REST_FRAMEWORK, STORAGES  # noqa: E402

USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
if USING_POSTGRES:
    # A test database of this checkout's own: two checkouts (or a checkout and
    # its CI clone) testing at once on one server must not drop each other's.
    _CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode())
    DATABASES["default"]["TEST"] = {"NAME": f"test_cmp_{_CHECKOUT.hexdigest()[:10]}"}
# Rates high enough that no functional test is throttled (one test lowers them),
# and cache keys of this run apart from any other run sharing the Redis.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "check": "100000/min",
    "write": "100000/min",
}
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"

# Pages render without a collected manifest (tests/test_production.py collects
# and serves the real one).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves the apps' files as found, without a collected STATIC_ROOT.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
