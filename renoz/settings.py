"""Renoz Dashboard settings: one file, driven by environment variables.

Every variable has a safe local default so `make demo` works without a .env file.
A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from infra import secret_key
from infra.breaker import BreakerConnection
from infra.env import (
    deployment_namespace,
    env_bool,
    env_database,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_timezone,
    web_statement_options,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
# With DEBUG off the key (and every old key kept while rotating) must be strong, or start-up
# stops saying how to make one (infra/secret_key.py; README "Secrets and key rotation").
# A DEBUG run uses SECRET_KEY, else the random key `make demo` keeps in .secret_key.
SECRET_KEY = env_str("SECRET_KEY")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
if DEBUG:
    SECRET_KEY = SECRET_KEY or secret_key.local_key(BASE_DIR / ".secret_key")
else:
    secret_key.require_strong("SECRET_KEY", SECRET_KEY)
    for old_key in SECRET_KEY_FALLBACKS:
        secret_key.require_strong("Each of SECRET_KEY_FALLBACKS", old_key)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# A POST without its CSRF token: JSON on /api/, the styled 403 page elsewhere (infra/errors.py).
CSRF_FAILURE_VIEW = "infra.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "auditlog",
    "django_htmx",
    "template_partials",
    "accounts",
    "operations",
    "xero",
    "metrics",
    "presentation",
    "dashboard",
    "targets",
    "insights",
    "annotations",
    "reports",
    "alerts",
    "ask",
    "infra.audit",
    "infra.outbox",
    "bench",
]

# Server-Timing (app and database time, query count) on every response; for benchmarks.
SERVER_TIMING = env_bool("SERVER_TIMING", False)
MIDDLEWARE = [
    # First, so its time covers every other middleware; removes itself unless SERVER_TIMING.
    "infra.server_timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything else: hashed, pre-compressed, cached for a year.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, at zlib's fastest level (infra/middleware.py).
    "infra.middleware.FastGZipMiddleware",
    "infra.middleware.RejectNulMiddleware",
    # Requests that write read only from the primary (infra/replica.py).
    "infra.replica.PrimaryPinMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The request's memo of its request context: user, organisation and page context in one
    # round trip (infra/contextcache.py); before anything reads request.user.
    "infra.contextcache.RequestContextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "infra.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # A statement or lock timeout is a 503 with Retry-After, not a 500 (infra/errors.py).
    "infra.errors.DatabaseTimeoutMiddleware",
    # Last, as django-axes asks: it turns a lockout into a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "renoz.urls"
WSGI_APPLICATION = "renoz.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.navigation",
                "accounts.context_processors.permissions",
            ],
        },
    }
]

DATABASES = {"default": env_database("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/renoz")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Tricky: JIT compilation is off. The dashboard's reads are many short aggregates whose cost
# estimates (event views over whole histories) cross PostgreSQL's JIT threshold, and compiling
# took longer (0.6-1.5 s measured at year10) than running them (0.3 s).
# Parallel query is off too: the reads are small by design (closed days come from the cache,
# the open tail is one day), yet the event views' generic row estimates tip PostgreSQL into
# parallel plans whose worker start-up (5-8 ms) dwarfs a 0.2 ms serial index scan. A startup
# option costs no query per read.
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": 5,
    "options": "-c jit=off -c max_parallel_workers_per_gather=0",
}
# PostgreSQL cancels any one statement of the web server after this long (0 = never). Only the
# WSGI server sets RENOZ_PROCESS=web (renoz/wsgi.py), so Celery tasks, beat and management
# commands are never cut off. A startup option costs no query per request.
WEB_STATEMENT_TIMEOUT_MS = env_int("WEB_STATEMENT_TIMEOUT_MS", 15_000, minimum=0)
if env_str("RENOZ_PROCESS") == "web" and WEB_STATEMENT_TIMEOUT_MS:
    DATABASES["default"]["OPTIONS"]["options"] += " " + web_statement_options(
        WEB_STATEMENT_TIMEOUT_MS
    )
# An optional streaming replica takes the reads of closed days (infra/replica.py): same options
# as the primary; tests read it as the primary (MIRROR). Past REPLICA_MAX_LAG_SECONDS of replay
# lag, history is read from the primary.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **copy.deepcopy(DATABASES["default"]),
        **env_database("DATABASE_REPLICA_URL", ""),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["infra.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_float("REPLICA_MAX_LAG_SECONDS", 5.0, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username/IP before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the user with their organisation in one query.
    "accounts.backends.UserBackend",
]
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "accounts-login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-au"
TIME_ZONE = env_timezone("TIME_ZONE", "Australia/Sydney")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Tricky: the manifest storage needs `collectstatic` first, so it is on by default only when
# DEBUG is off (production); `make demo`, runserver and the tests use the plain storage.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 3600  # unhashed names; content-hashed names get a year (immutable)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# --- Redis: cache and Celery broker -------------------------------------------------------
# Two installs sharing one Redis must not share a queue, cache keys or sessions (metrics.cache
# reads this too). Default: a short hash of the database's host, port and name.
DEPLOYMENT_NAMESPACE = env_str("DEPLOYMENT_NAMESPACE") or deployment_namespace(DATABASES["default"])
REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_SOCKET_TIMEOUT = 0.25  # seconds; a dead Redis must never make a request hang
# Every connection of the cache (and so of sessions, rate limits and locks) goes through the
# process's Redis breaker (infra/breaker.py): a stalled Redis costs one request one timeout.
# Tricky: rediss:// keeps redis-py's SSL connection class (no breaker on TLS connections).
CACHE_POOL_KWARGS: dict = {"retry_on_timeout": False}
if REDIS_URL.startswith("redis://"):
    CACHE_POOL_KWARGS["connection_class"] = BreakerConnection
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "TIMEOUT": 300,
        "KEY_PREFIX": f"renoz:{DEPLOYMENT_NAMESPACE}",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "IGNORE_EXCEPTIONS": True,
            "CONNECTION_POOL_KWARGS": CACHE_POOL_KWARGS,
        },
    }
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
# One warning line per ignored error is logged by metrics.cache; a traceback each time is noise.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
DJANGO_REDIS_LOGGER = "renoz.cache"
# Sessions are read from Redis and written to both Redis and the database (cached_db), behind a
# breaker (infra.contextcache): a signed-in request costs no session query.
SESSION_ENGINE = "infra.contextcache"

CELERY_BROKER_URL = env_redis_url("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tricky: a dead broker must add at most ~0.1 s to a write that queues work, and a stalled one
# (accepts, never answers) at most BROKER_SOCKET_TIMEOUT: without a socket timeout a publish
# waits forever. Without the retry settings kombu retries the publish three times (0 + 0.2 +
# 0.4 s). A publish that fails leaves its work in the database (infra/outbox), drained by beat.
# Workers reconnect on their own; their BRPOP is read when the socket is readable, so the
# short socket timeout does not cut a worker's wait.
BROKER_SOCKET_TIMEOUT = env_float("BROKER_SOCKET_TIMEOUT", 0.5, minimum=0.05)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 0.1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 0.1,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "max_retries": 0,
    "retry_on_timeout": False,
    # A killed worker's unacknowledged task is looked for every 10 s (kombu 5.7 otherwise scans
    # only every 10th sweep, so a lost task would wait 100 s past its visibility timeout).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# Late acknowledgement: a worker killed mid-task leaves its message in Redis, which hands it to
# another worker after the visibility timeout. Tasks are idempotent (they claim their work).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int(
    "BROKER_VISIBILITY_TIMEOUT", 3600, minimum=1
)
CELERY_BROKER_POOL_LIMIT = 10

CELERY_TASK_DEFAULT_QUEUE = f"renoz-{DEPLOYMENT_NAMESPACE}"
# One queue per kind of work, so a slow PDF never waits in front of a refresh. Every task is
# routed by name (tests/scale/test_queues.py fails on a task without a route). A worker takes
# every queue unless WORKER_QUEUES names the kinds it should take (renoz/celery.py).
TASK_QUEUES = {
    kind: CELERY_TASK_DEFAULT_QUEUE if kind == "default" else f"{CELERY_TASK_DEFAULT_QUEUE}-{kind}"
    for kind in ("refresh", "reports", "insights", "alerts", "xero", "default")
}
# Tricky: each queue needs its own exchange and key; a bare Queue(name) would bind every queue
# to the default exchange and key, and each task would land in all of them.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in TASK_QUEUES.values()
]
TASK_KINDS = {
    # Daily-summary refreshes, cache warming and the per-user statistics: short, and readers wait on them.
    "metrics.tasks.refresh_summaries": "refresh",
    "metrics.tasks.nightly_user_statistics": "refresh",
    "metrics.tasks.recompute_user_statistics": "refresh",
    "dashboard.tasks.nightly_warm_cache": "refresh",
    "dashboard.tasks.rewarm_after_refresh": "refresh",
    # The minute tick only creates runs and queues them: it must not wait behind a render.
    "reports.tasks.dispatch_reports": "default",
    "reports.tasks.deliver_report_run": "reports",
    # Findings stored ahead of the readers after a refresh (insights.tasks).
    "insights.tasks.store_findings": "insights",
    "insights.tasks.store_findings_for": "insights",
    # Publishes what a write could not (broker down): must not wait behind anything.
    "infra.outbox.tasks.drain_outbox": "default",
    # Large drill-down exports, written to storage off the web thread.
    "dashboard.tasks.build_export": "reports",
    # Deleting expired export files: a short sweep, hourly.
    "dashboard.tasks.purge_expired_exports": "default",
    # Alert checks and their sends: never behind a render or a refresh (docs/alerts.md).
    "alerts.tasks.evaluate_alerts": "alerts",
    "alerts.tasks.send_digests": "alerts",
    # Xero syncs wait on Xero's rate limits: their own queue, so nothing waits behind them.
    "xero.tasks.sync_xero_organizations": "xero",
    "xero.tasks.sync_xero_organization": "xero",
}
CELERY_TASK_ROUTES = {task: {"queue": TASK_QUEUES[kind]} for task, kind in TASK_KINDS.items()}
WORKER_QUEUES = env_list("WORKER_QUEUES", [])
if unknown := set(WORKER_QUEUES) - set(TASK_QUEUES):
    raise ImproperlyConfigured(
        f"WORKER_QUEUES names kinds of work among {', '.join(TASK_QUEUES)}, "
        f"got {', '.join(sorted(unknown))}"
    )

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Renoz Dashboard <dashboard@renoz.example>")

# --- Scheduled reports --------------------------------------------------------------------
# Links in report e-mails (dashboard, unsubscribe) start with this.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# A run still "working" this long after its claim is taken over by the next tick. Keep it
# above the render time plus EMAIL_TIMEOUT.
REPORTS_WORKING_TIMEOUT = env_int("REPORTS_WORKING_TIMEOUT", 600, minimum=1)
REPORTS_MAX_ATTEMPTS = env_int("REPORTS_MAX_ATTEMPTS", 4, minimum=1)
REPORTS_RETRY_BASE_SECONDS = env_int("REPORTS_RETRY_BASE_SECONDS", 60, minimum=0)

# --- Alerts (docs/alerts.md) ----------------------------------------------------------------
# A notification left "sending" longer than this (its sender died) is taken over and resent.
ALERTS_SENDING_TIMEOUT = env_int("ALERTS_SENDING_TIMEOUT", 120, minimum=1)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 5, minimum=1)
ALERTS_RETRY_BASE_SECONDS = env_int("ALERTS_RETRY_BASE_SECONDS", 30, minimum=0)
ALERTS_WEBHOOK_CONNECT_TIMEOUT = env_float("ALERTS_WEBHOOK_CONNECT_TIMEOUT", 3.0, minimum=0.1)
ALERTS_WEBHOOK_READ_TIMEOUT = env_float("ALERTS_WEBHOOK_READ_TIMEOUT", 5.0, minimum=0.1)
# Networks webhooks may reach although private, loopback or link-local (CIDRs); none by default.
ALERTS_WEBHOOK_ALLOWED_NETWORKS = env_list("ALERTS_WEBHOOK_ALLOWED_NETWORKS", [])

# --- Optional LLM for insights wording ----------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY") or None
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
OPENAI_MODEL = env_str("OPENAI_MODEL") or None
# A narration call gives up after this many seconds and the computed wording is shown.
INSIGHTS_LLM_TIMEOUT_SECONDS = env_int("INSIGHTS_LLM_TIMEOUT_SECONDS", 4, minimum=1)
# Narration calls each organisation may make per day (0 turns narration off).
INSIGHTS_DAILY_LLM_CALLS = env_int("INSIGHTS_DAILY_LLM_CALLS", 50, minimum=0)

# --- Security when served for real --------------------------------------------------------
# Each switch defaults to on when DEBUG is off; turn one off only for plain-HTTP local runs.
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Container and load-balancer health probes speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz", r"^livez", r"^readyz"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# A strict Content-Security-Policy (django-csp): our own scripts only, no eval, no inline
# script but the one-line "js" class switch in base.html and the dashboard's "charts drawn"
# mark, each allowed by its hash. Styles allow
# inline because plotly and the progress bars set style attributes.
INLINE_SCRIPT_HASHES = [
    # <script>document.documentElement.classList.add("js")</script> in templates/base.html
    "'sha256-qOhFsq0QMV2REqNwk5hGH5bZE9SkX6gt6yeyKdYPv+U='",
    # the dashboard's "charts drawn" mark (dashboard/templates/dashboard/dashboard.html):
    # <script>requestAnimationFrame(function(){if(!document.querySelector(...
    "'sha256-epsj0kit7U3sqo/tzMInAh9Xdn0cKeby42JT6VzRWIM='",
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *INLINE_SCRIPT_HASHES],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Bounded work per request -------------------------------------------------------------
# Drill-down exports stop at this many rows, with a note in the file saying so.
EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 100_000, minimum=1)
# Exports bounded by cost (dashboard/export_jobs.py): past EXPORT_SYNC_MAX_ROWS rows a worker
# writes the file; at most EXPORT_USER_CONCURRENCY running per user and EXPORT_ORG_CONCURRENCY
# per organisation (each slot a lease of EXPORT_LEASE_SECONDS); each export's statements are
# cut after its statement timeout (web / worker).
EXPORT_SYNC_MAX_ROWS = env_int("EXPORT_SYNC_MAX_ROWS", 10_000, minimum=0)
EXPORT_USER_CONCURRENCY = env_int("EXPORT_USER_CONCURRENCY", 2, minimum=1)
EXPORT_ORG_CONCURRENCY = env_int("EXPORT_ORG_CONCURRENCY", 4, minimum=1)
EXPORT_LEASE_SECONDS = env_int("EXPORT_LEASE_SECONDS", 300, minimum=1)
EXPORT_STATEMENT_TIMEOUT_MS = env_int("EXPORT_STATEMENT_TIMEOUT_MS", 10_000, minimum=1)
EXPORT_JOB_STATEMENT_TIMEOUT_MS = env_int("EXPORT_JOB_STATEMENT_TIMEOUT_MS", 300_000, minimum=1)
# A large export's file is deleted this long after it was written (beat, hourly).
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 72, minimum=1)
# Rate limits ("count/period", period s, m, h or d), per user; a 429 with Retry-After past them.
RATELIMIT_EXPORT = env_str("RATELIMIT_EXPORT", "20/m")
RATELIMIT_HEAVY = env_str("RATELIMIT_HEAVY", "10/m")  # PDF, insights, refresh
# Questions in plain words (docs/ask.md), per user: the API and the page share it.
RATELIMIT_ASK = env_str("RATELIMIT_ASK", "30/m")
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # Redis down: nothing is counted, nothing is refused

# Login throttling (django-axes; accounts/lockout.py): after AXES_FAILURE_LIMIT wrong
# passwords for one account from one address, that pair is locked out (429) for
# AXES_COOLOFF_MINUTES; after AXES_ADDRESS_FAILURE_LIMIT failures from one address across any
# usernames, the address is.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.AddressAwareHandler"
AXES_RESET_ON_SUCCESS = True
# Tricky: the login form's field is "username" (holding the email); axes would otherwise look
# for USERNAME_FIELD ("email") in the credentials, find nothing and lock by address alone.
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.axes_lockout_response"
AXES_VERBOSE = False

# Password reset (accounts/views.py): a mailed link works once and for this long; asking for
# one is limited per address and per e-mail address typed in.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600, minimum=60)
RATELIMIT_PASSWORD_RESET_ADDRESS = env_str("RATELIMIT_PASSWORD_RESET_ADDRESS", "10/h")
RATELIMIT_PASSWORD_RESET_EMAIL = env_str("RATELIMIT_PASSWORD_RESET_EMAIL", "3/h")

# /readyz details for monitoring without a staff session: `Authorization: Bearer <token>`.
HEALTH_TOKEN = env_str("HEALTH_TOKEN")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "renoz.cache": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Xero (docs/xero.md) ------------------------------------------------------------------
# A custom connection's client credentials. Unset: Xero is not connected, and nothing syncs.
XERO_CLIENT_ID = env_str("XERO_CLIENT_ID")
XERO_CLIENT_SECRET = env_str("XERO_CLIENT_SECRET")
# Base URLs, so the tests and the demo point the real SDK at the fake Xero (xero/fake/).
XERO_API_URL = env_str("XERO_API_URL", "https://api.xero.com/api.xro/2.0")
XERO_IDENTITY_URL = env_str("XERO_IDENTITY_URL", "https://identity.xero.com")
# The Fernet key that encrypts tokens at rest; unset: derived from SECRET_KEY.
XERO_TOKEN_KEY = env_str("XERO_TOKEN_KEY")
# Rows per page (Xero's default is 100, its maximum 1000): fewer calls within 60 a minute.
XERO_PAGE_SIZE = env_int("XERO_PAGE_SIZE", 1000, minimum=1)
XERO_CALLS_PER_MINUTE = env_int("XERO_CALLS_PER_MINUTE", 60, minimum=1)
XERO_CONNECT_TIMEOUT = env_float("XERO_CONNECT_TIMEOUT", 5.0, minimum=0.1)
XERO_READ_TIMEOUT = env_float("XERO_READ_TIMEOUT", 30.0, minimum=0.1)
