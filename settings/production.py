"""Production: the default of every entry point (`manage.py`, `config.wsgi`,
`config.asgi`, the Celery app). Only `make run` (`settings.dev`) and the tests
(`settings.test`) choose otherwise.

Nothing secret has a default here: a process started without its keys stops at
once with one sentence naming what is missing, instead of serving with a
committed key. HTTPS is assumed throughout (behind a TLS-terminating proxy that
sets `X-Forwarded-Proto`).
"""

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED = (
    "SECRET_KEY",
    "CMP_DATA_KEYS",
    "CMP_LOOKUP_KEY",
    "CMP_SIGNING_KEYS",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
)
_missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need {', '.join(_missing)} in the environment "
        "(settings.production; on a development machine use `make run`, or set "
        "DJANGO_SETTINGS_MODULE=settings.dev)."
    )
if os.environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on"):
    raise ImproperlyConfigured("Production settings refuse DEBUG=true.")

# HTTPS everywhere unless an operator says otherwise; health probes from inside
# the network may use plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "true")

from settings.base import *  # noqa: E402,F403
from settings.base import OAUTH2_PROVIDER, env  # noqa: E402

SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Apps that act for a person come back only to HTTPS addresses.
OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"] = ["https"]
