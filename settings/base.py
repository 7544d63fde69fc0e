"""Settings read from the environment (12-factor) with secure defaults.

With no environment at all the service runs on the embedded default: SQLite and a
Celery broker on the local filesystem. `DATABASE_URL`, `REDIS_URL` and
`CELERY_BROKER_URL` move it onto PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CMP_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "config",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_structlog",
    "oauth2_provider",
    "axes",
    # Staff sign in with a second factor: TOTP, and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "audit",
    "consents",
    "api",
]

MIDDLEWARE = [
    # Request counts and latencies by view, for /metrics (django-prometheus).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app server, compressed, cached for ever by their
    # hashed names: no separate file server is needed behind the proxy.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "api.middleware.MachineLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "consents.portal.middleware.PersonTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last of the app's own, as django-axes asks: turns a locked-out sign-in into
    # its own page; django-prometheus's closing half only measures around it.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cmp.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead
    # of failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # A health check costs every request a round trip (`SELECT 1`) before its first
    # query. Without it, a connection that died while idle fails one request with
    # a 503 (`api.errors`), and Django closes it when that request ends.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
        "DB_CONN_HEALTH_CHECKS", default=False
    )
    # Server-side parameters let psycopg prepare the hot statements (the check
    # and the token lookup), so PostgreSQL plans them once per connection.
    # Django turns psycopg's prepared statements off unless asked (for poolers in
    # transaction mode, which need DB_PREPARE_THRESHOLD unset: set it to 0).
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True),
        "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=2) or None,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Producer and worker share one folder: the embedded broker needs no server.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
    }
    # kombu creates neither folder; every process that sends or consumes needs them.
    for _folder in ("queue", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Longer than any task may run, so an unacknowledged task is redelivered only
    # when its worker is really gone.
    # A producer gives up connecting quickly: the API never waits on the broker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
    }
CELERY_TASK_ACKS_LATE = True
# Workers keep the project's structured logging (settings.LOGGING).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = "UTC"
# Several beats may run (one per node); only the one holding a Redis lock sends.
CELERY_BEAT_SCHEDULER = "config.beat.SingleBeatScheduler"
CELERY_BEAT_SCHEDULE = {
    "seal-audit-events": {
        "task": "audit.tasks.seal_pending_events_task",
        "schedule": env.float("CMP_SEAL_INTERVAL_SECONDS", default=1.0),
        "options": {"expires": 10},
    },
    "checkpoint-audit-log": {
        "task": "audit.tasks.create_checkpoint_task",
        "schedule": env.float("CMP_CHECKPOINT_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": 50},
    },
    "verify-audit-log": {
        "task": "audit.tasks.verify_audit_log_task",
        "schedule": env.float("CMP_VERIFY_INTERVAL_SECONDS", default=3600.0),
    },
    "expire-due-consents": {
        "task": "consents.tasks.expire_due_consents_task",
        "schedule": env.float("CMP_EXPIRY_INTERVAL_SECONDS", default=60.0),
    },
    "beat-heartbeat": {
        "task": "config.tasks.heartbeat_task",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    "resume-mass-changes": {
        "task": "consents.tasks.resume_mass_changes_task",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "expire-stale-consent-requests": {
        "task": "consents.tasks.expire_stale_consent_requests_task",
        "schedule": 300.0,
    },
    "relay-webhook-deliveries": {
        "task": "consents.tasks.relay_deliveries_task",
        "schedule": env.float("CMP_WEBHOOK_RELAY_INTERVAL_SECONDS", default=1.0),
        "options": {"expires": 10},
    },
    "send-expiry-reminders": {
        "task": "consents.tasks.send_expiry_reminders_task",
        "schedule": 3600.0,
    },
    "purge-idempotency-keys": {
        "task": "api.tasks.purge_stored_responses_task",
        "schedule": 3600.0,
    },
}

# --- Keys -------------------------------------------------------------------------
# Key-encryption keys for subjects' data keys, "kid:base64" comma-separated; the
# first one wraps new keys, the others still unwrap keys wrapped before a rotation.
CMP_DATA_KEYS = env.list("CMP_DATA_KEYS")
# HMAC key for looking up subjects by identifier without storing the identifier.
CMP_LOOKUP_KEY = env.str("CMP_LOOKUP_KEY")
# Ed25519 keys that sign receipts and transfer tokens, "kid:base64(32-byte seed)";
# the first signs, all are published at /.well-known/jwks.json.
CMP_SIGNING_KEYS = env.list("CMP_SIGNING_KEYS")
CMP_TRANSFER_TOKEN_SECONDS = env.int("CMP_TRANSFER_TOKEN_SECONDS", default=300)

# --- Consent rules ----------------------------------------------------------------
CMP_CONSENT_REQUEST_TTL_HOURS = env.int("CMP_CONSENT_REQUEST_TTL_HOURS", default=72)
# Threads that run a mass change's batches side by side (expiries, a recipient's
# revocation or suspension, a retired purpose); each holds a connection.
CMP_MASS_CHANGE_RUNNERS = env.int("CMP_MASS_CHANGE_RUNNERS", default=2)

# --- Operations -----------------------------------------------------------------------
# /readyz fails when beat's heartbeat (every 15 s) or the oldest staged check
# event is older than these.
CMP_READY_MAX_HEARTBEAT_SECONDS = env.int("CMP_READY_MAX_HEARTBEAT_SECONDS", default=60)
CMP_READY_MAX_SEAL_LAG_SECONDS = env.int("CMP_READY_MAX_SEAL_LAG_SECONDS", default=60)
# /metrics wants this bearer token; unset, it answers loopback and private
# addresses only.
CMP_METRICS_TOKEN = env.str("CMP_METRICS_TOKEN", default="")
# The person is e-mailed this many days before a consent ends (0: never).
CMP_EXPIRY_REMINDER_DAYS = env.int("CMP_EXPIRY_REMINDER_DAYS", default=7)
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="consents@localhost")

# --- Webhooks -----------------------------------------------------------------------
# Seconds to wait before each attempt; the last entry is the last attempt. Jitter
# of up to 10 % spreads retries of many deliveries apart.
CMP_WEBHOOK_RETRY_SCHEDULE = env.list(
    "CMP_WEBHOOK_RETRY_SCHEDULE",
    cast=float,
    default=[0, 5, 300, 1800, 7200, 18000, 36000, 86400],
)
CMP_WEBHOOK_TIMEOUT_SECONDS = env.float("CMP_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A delivery handed to a task that no worker has started yet is handed out again
# after this long, so a task lost with a broker or a worker costs seconds; a task
# handed out twice makes one attempt (the worker's claim below).
CMP_WEBHOOK_DISPATCH_LEASE_SECONDS = env.float(
    "CMP_WEBHOOK_DISPATCH_LEASE_SECONDS", default=5.0
)
# An attempt in flight is left alone this long, then handed out again if its worker
# died. Longer than an attempt can take (connect and read timeouts, signing), so a
# live attempt is not doubled.
CMP_WEBHOOK_LEASE_SECONDS = env.float(
    "CMP_WEBHOOK_LEASE_SECONDS", default=2 * CMP_WEBHOOK_TIMEOUT_SECONDS + 10
)
# A delivery whose task keeps dying with its worker gives up after this many starts.
CMP_WEBHOOK_MAX_DISPATCHES = env.int("CMP_WEBHOOK_MAX_DISPATCHES", default=20)
# Longest Retry-After honoured from a 429.
CMP_WEBHOOK_MAX_RETRY_AFTER_SECONDS = env.int(
    "CMP_WEBHOOK_MAX_RETRY_AFTER_SECONDS", default=86400
)
# Endpoints must be public HTTPS; tests and the demo receive on loopback over HTTP.
CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool(
    "CMP_WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False
)
CMP_WEBHOOK_REQUIRE_HTTPS = env.bool("CMP_WEBHOOK_REQUIRE_HTTPS", default=True)

# --- Auth, OAuth and API ----------------------------------------------------------
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:consents"
LOGOUT_REDIRECT_URL = "portal:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("CMP_ACCESS_TOKEN_SECONDS", default=900),
    "SCOPES": {
        "consents:read": "Read consents in which the organization has a role",
        "consents:write": "Record, revoke, pause and resume consents",
        "consents:check": "Check whether a transfer is allowed",
        "consent-requests:write": "Ask a person for consent",
        "transfers:write": "Record transfers of personal data",
        "webhooks:manage": "Manage webhook endpoints",
        "audit:read": "Read and export the audit trail",
        "organizations:manage": "Suspend and reactivate organizations (staff)",
        "me:read": "Read the signed-in person's consents and activity",
        "me:write": "Revoke the signed-in person's consents",
    },
    "DEFAULT_SCOPES": [],
    # Organizations' clients get the organization scopes, people's apps only me:*.
    "SCOPES_BACKEND_CLASS": "api.scopes.ClientKindScopes",
    "PKCE_REQUIRED": True,
    # A refresh token used twice revokes the whole family: a stolen one is
    # useless once the app has used it, and the theft shows.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.OrganizationAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.negotiation.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.JSONFirstNegotiation",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.OrganizationRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "check": env.str("CMP_THROTTLE_CHECK", default="6000/min"),
        "write": env.str("CMP_THROTTLE_WRITE", default="600/min"),
    },
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CMP Organization API",
    "DESCRIPTION": "Check before every transfer: consents, checks and transfers "
    "for data recipients and holders, over OAuth 2.0 client credentials; and "
    "`/me/` for apps acting for one person (authorization code with PKCE).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The reference page's scripts are served from here, not from a CDN.
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Seoul")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
# `manage.py collectstatic` (`make static`) fills it with hashed, compressed copies.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security ---------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_SAMESITE = "Lax"
# A person's consents are behind this session: it ends with the browser and after
# an hour without a request.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# The issuer name authenticator apps show next to a staff member's code.
OTP_TOTP_ISSUER = env.str("CMP_OTP_ISSUER", default="CMP")

# --- Sign-in protection (django-axes) -------------------------------------------
# Five wrong passwords for one username from one address lock that pair out for
# fifteen minutes; a success clears the count. Locking by username alone would let
# anyone lock a person out; by address alone, one phone network's shared address.
AXES_FAILURE_LIMIT = env.int("CMP_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CMP_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "consents.portal.security.client_ip"
# Successful sign-ins are not logged with their address (data minimisation).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Proxies in front of the app that append to X-Forwarded-For (0: none).
CMP_TRUSTED_PROXIES = env.int("CMP_TRUSTED_PROXIES", default=0)

# One JSON object per line (config/logs.py); LOG_FORMAT=plain for a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": "config.logs.formatter",
            "plain": env.str("LOG_FORMAT", default="json") == "plain",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # oauthlib writes every token it issues at DEBUG: never below INFO.
    "loggers": {"oauthlib": {"level": "INFO"}},
}
# django-structlog: a request id for every request, carried into the tasks it
# queues; never the client's address or user id (data minimisation).
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_USER_ID_FIELD = None

# How long an allowed check stays good for recording the transfer it allowed.
CMP_DECISION_TTL_SECONDS = env.int("CMP_DECISION_TTL_SECONDS", default=300)

# How long the answer to a POST with an Idempotency-Key is kept for its retries.
CMP_IDEMPOTENCY_KEY_HOURS = env.int("CMP_IDEMPOTENCY_KEY_HOURS", default=24)

# --- Audit trail ------------------------------------------------------------------
# Names this log in its signed checkpoints and export manifests; set it once, to
# the service's host and path (e.g. "cmp.example.com/audit"), and keep it.
CMP_AUDIT_ORIGIN = env.str("CMP_AUDIT_ORIGIN", default="cmp/audit")
