"""Settings for gridlink, configured from the environment.

Every environment variable gridlink reads is declared once in the block below, with its
type and default, and documented in `.env.example`. Nothing else in the code base reads
`os.environ`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Environment (every variable, once) -------------------------------------------------
DEBUG = _env_bool("GRIDLINK_DEBUG", False)
# Both keys are required with DATABASE_URL; without it they are generated in DATA_DIR/keys/
# (see "Keys" below and gridlink.core.keys).
GRIDLINK_SECRET_KEY = _env_str("GRIDLINK_SECRET_KEY", "")
DATA_DIR = Path(_env_str("GRIDLINK_DATA_DIR", str(BASE_DIR / "var")))
DATABASE_URL = _env_str("DATABASE_URL", "")
DB_POOL_MIN = _env_int("GRIDLINK_DB_POOL_MIN", 2)
DB_POOL_MAX = _env_int("GRIDLINK_DB_POOL_MAX", 10)
ALLOWED_HOSTS = _env_list("GRIDLINK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("GRIDLINK_CSRF_TRUSTED_ORIGINS", "")
SECURE_COOKIES = _env_bool("GRIDLINK_SECURE_COOKIES", False)
# HTTPS behind a TLS-terminating proxy: HSTS, redirect to https, the proxy's scheme header.
GRIDLINK_HSTS_SECONDS = _env_int("GRIDLINK_HSTS_SECONDS", 0)
GRIDLINK_HSTS_INCLUDE_SUBDOMAINS = _env_bool("GRIDLINK_HSTS_INCLUDE_SUBDOMAINS", True)
GRIDLINK_HSTS_PRELOAD = _env_bool("GRIDLINK_HSTS_PRELOAD", False)
GRIDLINK_SSL_REDIRECT = _env_bool("GRIDLINK_SSL_REDIRECT", False)
GRIDLINK_PROXY_SSL_HEADER = _env_str("GRIDLINK_PROXY_SSL_HEADER", "")
LOG_LEVEL = _env_str("GRIDLINK_LOG_LEVEL", "INFO")
GRIDLINK_LOG_RETENTION_DAYS = max(_env_int("GRIDLINK_LOG_RETENTION_DAYS", 183), 183)
GRIDLINK_LOCATOR_REFRESH_SECONDS = _env_int("GRIDLINK_LOCATOR_REFRESH_SECONDS", 5)
GRIDLINK_WORKER_HEARTBEAT_SECONDS = _env_int("GRIDLINK_WORKER_HEARTBEAT_SECONDS", 15)
GRIDLINK_API_TOKEN_DAYS = _env_int("GRIDLINK_API_TOKEN_DAYS", 365)
GRIDLINK_AUDIT_KEY = _env_str("GRIDLINK_AUDIT_KEY", "")
GRIDLINK_TRUSTED_PROXIES = _env_list("GRIDLINK_TRUSTED_PROXIES", "")
GRIDLINK_LOGIN_MAX_FAILURES = _env_int("GRIDLINK_LOGIN_MAX_FAILURES", 5)
GRIDLINK_LOGIN_LOCK_SECONDS = _env_int("GRIDLINK_LOGIN_LOCK_SECONDS", 900)
# Case handling (issue 3): photos, duplicates, deadlines, joint handling.
GRIDLINK_PHOTO_MAX_BYTES = _env_int("GRIDLINK_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
GRIDLINK_PHOTO_MAX_PIXELS = _env_int("GRIDLINK_PHOTO_MAX_PIXELS", 24_000_000)
GRIDLINK_PHOTO_MAX_SIDE = _env_int("GRIDLINK_PHOTO_MAX_SIDE", 4032)
GRIDLINK_PHOTOS_PER_CASE = _env_int("GRIDLINK_PHOTOS_PER_CASE", 9)
GRIDLINK_DUPLICATE_RADIUS_M = _env_int("GRIDLINK_DUPLICATE_RADIUS_M", 100)
GRIDLINK_YELLOW_CARD_DAYS = _env_int("GRIDLINK_YELLOW_CARD_DAYS", 1)
GRIDLINK_REPORT_IN_MINUTES = _env_int("GRIDLINK_REPORT_IN_MINUTES", 30)
GRIDLINK_OVERDUE_POLICY = _env_str("GRIDLINK_OVERDUE_POLICY", "escalate")
# Issue 9: a department head approves their handlers' extension and suspension requests
# before the dispatcher does (two-step approval).
GRIDLINK_HEAD_APPROVAL = _env_bool("GRIDLINK_HEAD_APPROVAL", True)
# Issue 9: who dispatches a new 12345 order: "dispatcher" (it waits in the dispatcher's
# intake queue) or "operator" (the hotline operator accepts, files and dispatches it within
# their area; `cases.permissions.operator_dispatches`). Any other value: "dispatcher".
GRIDLINK_HOTLINE_DISPATCH = _env_str("GRIDLINK_HOTLINE_DISPATCH", "dispatcher")
GRIDLINK_INTAKE_RATE_PER_HOUR = _env_int("GRIDLINK_INTAKE_RATE_PER_HOUR", 20)
# Abuse limits (issue 10; gridlink/core/ratelimit.py): per client and hour, shared by all
# app servers. Staff intake is per account; uploads count each photo.
GRIDLINK_STAFF_INTAKE_RATE_PER_HOUR = _env_int("GRIDLINK_STAFF_INTAKE_RATE_PER_HOUR", 600)
GRIDLINK_TRACK_RATE_PER_HOUR = _env_int("GRIDLINK_TRACK_RATE_PER_HOUR", 300)
GRIDLINK_FEEDBACK_RATE_PER_HOUR = _env_int("GRIDLINK_FEEDBACK_RATE_PER_HOUR", 30)
GRIDLINK_UPLOAD_RATE_PER_HOUR = _env_int("GRIDLINK_UPLOAD_RATE_PER_HOUR", 120)
GRIDLINK_REGISTRY_REFUSALS_PER_HOUR = _env_int("GRIDLINK_REGISTRY_REFUSALS_PER_HOUR", 20)
# Answers to Idempotency-Key requests are kept this many hours (then a retry acts anew).
GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = max(_env_int("GRIDLINK_IDEMPOTENCY_RETENTION_HOURS", 48), 1)
# Photo decoding: JPEG may have more pixels (decoded at a reduced scale); at most this many
# decodes at once per process, waiting at most this long for a turn.
GRIDLINK_PHOTO_MAX_PIXELS_JPEG = _env_int("GRIDLINK_PHOTO_MAX_PIXELS_JPEG", 50_000_000)
GRIDLINK_PHOTO_DECODE_SLOTS = _env_int("GRIDLINK_PHOTO_DECODE_SLOTS", 2)
GRIDLINK_PHOTO_DECODE_WAIT_SECONDS = _env_int("GRIDLINK_PHOTO_DECODE_WAIT_SECONDS", 10)
# Open311 GeoReport v2 (issue 4): jurisdiction ids this server answers for, comma-separated.
# Empty: a single jurisdiction, and `jurisdiction_id` is optional (any value but the
# configured ones is 404 when the list is set; with several, it is required).
GRIDLINK_OPEN311_JURISDICTIONS = _env_list("GRIDLINK_OPEN311_JURISDICTIONS", "")
GRIDLINK_OPEN311_RATE_PER_HOUR = _env_int("GRIDLINK_OPEN311_RATE_PER_HOUR", 600)
# Outbox delivery (webhooks and e-mail).
GRIDLINK_WEBHOOK_TIMEOUT_SECONDS = _env_int("GRIDLINK_WEBHOOK_TIMEOUT_SECONDS", 10)
GRIDLINK_WEBHOOK_MAX_ATTEMPTS = _env_int("GRIDLINK_WEBHOOK_MAX_ATTEMPTS", 8)
GRIDLINK_WEBHOOK_BACKOFF_SECONDS = _env_int("GRIDLINK_WEBHOOK_BACKOFF_SECONDS", 30)
# Webhooks never go to loopback, private, link-local, multicast, reserved or unspecified
# addresses, except to the host names and networks listed here (comma-separated, e.g.
# "hooks.intranet.example,10.20.0.0/16"). Empty by default: public receivers only.
GRIDLINK_WEBHOOK_ALLOW_PRIVATE = _env_list("GRIDLINK_WEBHOOK_ALLOW_PRIVATE", "")
GRIDLINK_EMAIL_FROM = _env_str("GRIDLINK_EMAIL_FROM", "gridlink@localhost")
GRIDLINK_EMAIL_URL = _env_str("GRIDLINK_EMAIL_URL", "")
# ----------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs page from its own static files (no CDN)
    "django_htmx",
    "django_tasks_db",
    "gridlink.core",
    "gridlink.accounts",
    "gridlink.geo",
    "gridlink.registry",
    "gridlink.cases",
    "gridlink.outbox",
    "gridlink.open311",
    "gridlink.assessment",
    "gridlink.supervision",
    "gridlink.bulletins",
    "gridlink.web",
    "gridlink.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "gridlink.core.middleware.HostileInputMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridlink.core.cache_headers.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "gridlink.urls"
WSGI_APPLICATION = "gridlink.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["gridlink.accounts.backends.ThrottledModelBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The data directory holds the embedded database, photos, keys and exports: owner-only when
# created here (gridlink/core/private_files.py), whatever the umask.
from gridlink.core.private_files import owner_only_dir  # noqa: E402  (used right here)

owner_only_dir(DATA_DIR)

# --- Keys: explicit in a deployment, generated once for the embedded default -------------
from gridlink.core.keys import deployment_keys, embedded_key  # noqa: E402  (used right here)

if DATABASE_URL:
    SECRET_KEY, GRIDLINK_AUDIT_KEY = deployment_keys(GRIDLINK_SECRET_KEY, GRIDLINK_AUDIT_KEY)
else:
    SECRET_KEY = GRIDLINK_SECRET_KEY or embedded_key(DATA_DIR / "keys", "secret_key")
    GRIDLINK_AUDIT_KEY = GRIDLINK_AUDIT_KEY or embedded_key(DATA_DIR / "keys", "audit_key")

# WAL lets the web server read while the worker writes; IMMEDIATE makes write transactions
# take the lock up front (waiting up to the busy timeout) instead of failing mid-way with
# "database is locked". Applied to every SQLite database, also one named by DATABASE_URL.
# Django's SQLite backend, creating the database file 0600 (its -wal/-shm follow its mode).
SQLITE_ENGINE = "gridlink.core.sqlite"
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
        _db.setdefault("OPTIONS", {})["pool"] = {"min_size": DB_POOL_MIN, "max_size": DB_POOL_MAX}
    elif _db["ENGINE"] == "django.db.backends.sqlite3":
        _db["ENGINE"] = SQLITE_ENGINE
        _db["OPTIONS"] = {**SQLITE_OPTIONS, **_db.get("OPTIONS", {})}
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": SQLITE_ENGINE,
            "NAME": str(DATA_DIR / "gridlink.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
            # A file (not memory) so that tests can start real worker and CLI processes
            # against the test database; one per test process.
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gridlink" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
# Case photos hold personal data: owner-only files and directories, whatever the umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app static files directly too, so a fresh checkout works before collectstatic.
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = GRIDLINK_HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = GRIDLINK_HSTS_INCLUDE_SUBDOMAINS
SECURE_HSTS_PRELOAD = GRIDLINK_HSTS_PRELOAD
SECURE_SSL_REDIRECT = GRIDLINK_SSL_REDIRECT
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
if GRIDLINK_PROXY_SSL_HEADER:
    # Trust the proxy's header only when one is configured (it must strip the client's).
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + GRIDLINK_PROXY_SSL_HEADER.upper().replace("-", "_"),
        "https",
    )

from django.utils.csp import CSP  # noqa: E402  (kept next to the setting it builds)

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- E-mail, derived from GRIDLINK_EMAIL_URL and GRIDLINK_EMAIL_FROM above ---------------
# smtp://user:pass@host:port (STARTTLS on port 587, plain otherwise), smtp+tls:// (STARTTLS),
# smtps:// (TLS from the start, default port 465). Empty: e-mails are only logged, without
# addresses or text (gridlink.outbox.mail.LogEmailBackend).
from urllib.parse import unquote as _unquote  # noqa: E402  (kept next to the block that uses it)
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

DEFAULT_FROM_EMAIL = GRIDLINK_EMAIL_FROM
SERVER_EMAIL = GRIDLINK_EMAIL_FROM
if GRIDLINK_EMAIL_URL:
    _mail = _urlsplit(GRIDLINK_EMAIL_URL)
    if _mail.scheme not in {"smtp", "smtp+tls", "smtps"} or not _mail.hostname:
        raise ValueError("GRIDLINK_EMAIL_URL must look like smtp://user:pass@host:587")
    _mail_port = _mail.port or (465 if _mail.scheme == "smtps" else 587)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _mail.hostname,
                "port": _mail_port,
                "username": _unquote(_mail.username or ""),
                "password": _unquote(_mail.password or ""),
                "use_ssl": _mail.scheme == "smtps",
                "use_tls": _mail.scheme == "smtp+tls"
                or (_mail.scheme == "smtp" and _mail_port == 587),
                "timeout": GRIDLINK_WEBHOOK_TIMEOUT_SECONDS,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "gridlink.outbox.mail.LogEmailBackend"}}
