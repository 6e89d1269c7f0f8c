"""Custodian settings, read from the environment (one file for every deployment).

Unset variables give the embedded default: SQLite, a filesystem Celery broker and console
email, so `make run` needs no server. Production sets DEBUG=0 and the variables in README.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """A variable's value, or the content of the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_name} cannot be read: {exc.strerror}"
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(env("CUSTODIAN_VAR_DIR", str(BASE_DIR / "var")) or "var")

SECRET_KEY = env("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set SECRET_KEY (or SECRET_KEY_FILE) when DEBUG is off"
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-do-not-use-in-production"  # noqa: S105

# The transparency log's Ed25519 key, as `manage.py ledger_key_new` prints it, held outside
# the database so that whoever owns the database cannot sign a rewritten history. Unset, a
# key is derived from SECRET_KEY (it changes with SECRET_KEY: witnesses would refuse it).
CUSTODIAN_LEDGER_KEY = env("CUSTODIAN_LEDGER_KEY") or ""
CUSTODIAN_LEDGER_ORIGIN = env("CUSTODIAN_LEDGER_ORIGIN") or ""
if CUSTODIAN_LEDGER_KEY:
    from portal.signed_note import NoteError, signer_from_key

    try:
        CUSTODIAN_LEDGER_ORIGIN = (
            CUSTODIAN_LEDGER_ORIGIN or signer_from_key(CUSTODIAN_LEDGER_KEY).name
        )
    except NoteError as exc:
        raise ImproperlyConfigured(
            f"CUSTODIAN_LEDGER_KEY is malformed ({exc}): make one with manage.py ledger_key_new"
        ) from None
CUSTODIAN_LEDGER_ORIGIN = CUSTODIAN_LEDGER_ORIGIN or "custodian/audit-ledger"
# Witnesses that get each new checkpoint, so a copy lives outside the operator's control:
# HTTPS add-checkpoint URLs (c2sp.org/tlog-witness) and/or email addresses, comma-separated.
# Email gets at most one checkpoint every CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS; a witness
# whose push failed (after its retries) is tried again after ..._RETRY_SECONDS.
CUSTODIAN_LEDGER_WITNESSES = env_list("CUSTODIAN_LEDGER_WITNESSES")
CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS = int(
    env("CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS", "3600") or 3600
)
CUSTODIAN_LEDGER_WITNESS_RETRY_SECONDS = int(
    env("CUSTODIAN_LEDGER_WITNESS_RETRY_SECONDS", "300") or 300
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Absolute URL of the portal, used in emails, visas and DRS self URIs.
SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "django_htmx",
    "portal",
    "consent",
    "datasets",
    "access",
]

MIDDLEWARE = [
    # GA4GH and /api/ requests with an API token and no session take
    # CUSTODIAN_STATELESS_MIDDLEWARE.
    "portal.stateless.StatelessApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the cookie set by the language switch, else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's own language (chosen on the switch) wins over the cookie.
    "portal.i18n.UserLanguageMiddleware",
    # Before any view or later middleware reads input: NUL bytes, deep JSON, large bodies.
    "portal.middleware.BadInputMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.ProviderMfaMiddleware",
    "portal.middleware.RequireOtpMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and total lifetimes of sessions (staff: 30 minutes idle, 12 hours in all).
    "portal.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that a locked-out sign-in is answered after authentication ran.
    "axes.middleware.AxesMiddleware",
]
# What a GA4GH request with an API token and no session cookie passes through (see
# portal/stateless.py): the layers of MIDDLEWARE that can change its answer or headers.
CUSTODIAN_STATELESS_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.stateless.ApiHeadersMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.middleware.BadInputMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "portal.context_processors.portal",
                "consent.context_processors.acting",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or ""
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "custodian.sqlite3"),
            # IMMEDIATE takes the write lock at BEGIN, so hash chains and row locks are
            # serialized on SQLite as select_for_update serializes them on PostgreSQL.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
            # A file, not memory: the Celery worker process of the tests must see it.
            "TEST": {"NAME": str(VAR_DIR / "test-custodian.sqlite3")},
        }
    }
    # The projection's covering index is for PostgreSQL; SQLite just keeps the key columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
if env("DATABASE_TEST_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env("DATABASE_TEST_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, sign-in, 2FA, lockout -------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "portal:sign_in"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:landing"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Time-based one-time passwords for DAC members, chairs and stewards.
CUSTODIAN_REQUIRE_OTP = env_bool("CUSTODIAN_REQUIRE_OTP", True)
OTP_TOTP_ISSUER = "Custodian"
# The emailed link that allows setting up the first authenticator lasts this long (seconds).
CUSTODIAN_OTP_ENROLMENT_MAX_AGE = int(env("CUSTODIAN_OTP_ENROLMENT_MAX_AGE", "3600") or 3600)
# Invitation and email-verification links; password-reset links last one hour.
CUSTODIAN_INVITATION_MAX_AGE = int(env("CUSTODIAN_INVITATION_MAX_AGE", str(14 * 86400)) or 0)
CUSTODIAN_PASSWORD_RESET_MAX_AGE = int(env("CUSTODIAN_PASSWORD_RESET_MAX_AGE", "3600") or 0)
# Personal API tokens: the expiry offered by default and the longest allowed (days), and how
# many unexpired, unrevoked tokens one person may hold.
CUSTODIAN_API_TOKEN_DAYS = int(env("CUSTODIAN_API_TOKEN_DAYS", "90") or 90)
CUSTODIAN_API_TOKEN_MAX_DAYS = int(env("CUSTODIAN_API_TOKEN_MAX_DAYS", "365") or 365)
CUSTODIAN_API_TOKEN_MAX_ACTIVE = int(env("CUSTODIAN_API_TOKEN_MAX_ACTIVE", "20") or 20)
if not 1 <= CUSTODIAN_API_TOKEN_DAYS <= CUSTODIAN_API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        f"CUSTODIAN_API_TOKEN_DAYS={CUSTODIAN_API_TOKEN_DAYS} must be between 1 and "
        f"CUSTODIAN_API_TOKEN_MAX_DAYS={CUSTODIAN_API_TOKEN_MAX_DAYS}"
    )
# Registrations and password-reset requests are handled by a worker this many seconds later,
# so a known address's extra work never overlaps the answer (portal.services).
CUSTODIAN_ACCOUNT_TASK_DELAY = int(env("CUSTODIAN_ACCOUNT_TASK_DELAY", "1") or 0)
# A proxy's authority over a child participant ends at this age.
CUSTODIAN_AGE_OF_MAJORITY = int(env("CUSTODIAN_AGE_OF_MAJORITY", "18") or 18)
# Participants emailed per re-consent task when a version needing re-consent is published:
# each task stays short and a retry cheap; the task queues the next batch.
CUSTODIAN_RECONSENT_BATCH = int(env("CUSTODIAN_RECONSENT_BATCH", "100") or 100)

AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "email"
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# Single sign-on through one OpenID Connect provider (portal/oidc.py); off while no issuer is
# set. Its endpoints come from the issuer's discovery document when someone first uses it, so
# the portal starts while the provider is down.
CUSTODIAN_OIDC_ISSUER = (env("CUSTODIAN_OIDC_ISSUER", "") or "").strip()
CUSTODIAN_OIDC_CLIENT_ID = env("CUSTODIAN_OIDC_CLIENT_ID", "") or ""
CUSTODIAN_OIDC_CLIENT_SECRET = env("CUSTODIAN_OIDC_CLIENT_SECRET", "") or ""
if CUSTODIAN_OIDC_ISSUER:
    if not (CUSTODIAN_OIDC_CLIENT_ID and CUSTODIAN_OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "CUSTODIAN_OIDC_ISSUER is set: set CUSTODIAN_OIDC_CLIENT_ID and "
            "CUSTODIAN_OIDC_CLIENT_SECRET (or CUSTODIAN_OIDC_CLIENT_SECRET_FILE) too"
        )
    if not CUSTODIAN_OIDC_ISSUER.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ImproperlyConfigured(
            f"CUSTODIAN_OIDC_ISSUER={CUSTODIAN_OIDC_ISSUER} must be an https:// URL"
        )
# The provider's name on the buttons ("Sign in with LS Login"); by default its host name.
CUSTODIAN_OIDC_NAME = env("CUSTODIAN_OIDC_NAME", "") or ""
# ID tokens asserting any of these `acr` or `amr` values count as a second factor: committee
# members and stewards are then not asked for their authenticator code in that session.
CUSTODIAN_OIDC_MFA_ACR = env_list("CUSTODIAN_OIDC_MFA_ACR", "https://refeds.org/profile/mfa")
CUSTODIAN_OIDC_MFA_AMR = env_list("CUSTODIAN_OIDC_MFA_AMR", "mfa")
# A verified email address without an account becomes a researcher's account, as if the person
# had registered (never any other role); 0 leaves sign-on to existing accounts.
CUSTODIAN_OIDC_CREATE_ACCOUNTS = env_bool("CUSTODIAN_OIDC_CREATE_ACCOUNTS", True)
CUSTODIAN_OIDC_SCOPES = env("CUSTODIAN_OIDC_SCOPES", "openid email profile") or "openid"
# mozilla-django-oidc's fixed settings; the client, scopes and endpoints are given to it per use
# (portal/oidc.py), so that a provider found by discovery needs no restart.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "portal:sso_callback"
OIDC_TIMEOUT = 10

# django-guardian: no anonymous user row, no monkey patching of the user model.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LOCALE_PATHS = [BASE_DIR / "locale"]
# The languages of the participant pages, emails and receipts: English (the source) and one
# per catalogue under locale/, so a third language is a new django.po, not a code change.
LANGUAGES = [("en", "English")] + sorted(
    (
        po.parents[1].name,
        LANG_INFO.get(po.parents[1].name, {}).get("name_local", po.parents[1].name),
    )
    for po in LOCALE_PATHS[0].glob("*/LC_MESSAGES/django.po")
)
LANGUAGE_COOKIE_NAME = "custodian_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = env("TIME_ZONE", "Europe/London") or "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (WhiteNoise, no CDN) --------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")) or "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Compressing is most of collectstatic's time (gzip -9 and Brotli at its highest quality over
# 13 MB, 9.6 MB of it the Swagger UI and Redoc bundles): worth it once per deployment, not for
# `make run` on localhost, which sets CUSTODIAN_STATIC_COMPRESS=0 (names are still hashed).
CUSTODIAN_STATIC_COMPRESS = env_bool("CUSTODIAN_STATIC_COMPRESS", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if CUSTODIAN_STATIC_COMPRESS
            else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        )
    },
}
# Tests and `make run` serve files straight from the finders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS", False)

# --- Genomic data -------------------------------------------------------------------------
CUSTODIAN_DATA_ROOT = Path(env("CUSTODIAN_DATA_ROOT", str(VAR_DIR / "data")) or "data")

# --- Access requests ------------------------------------------------------------------------
# Uploaded ethics approvals: outside the web root, served only through a permission check.
CUSTODIAN_PRIVATE_ROOT = Path(env("CUSTODIAN_PRIVATE_ROOT", str(VAR_DIR / "private")) or "private")
CUSTODIAN_ETHICS_MAX_BYTES = int(env("CUSTODIAN_ETHICS_MAX_BYTES", str(10 * 1024 * 1024)) or 0)
CUSTODIAN_COAPPLICANT_INVITATION_DAYS = int(
    env("CUSTODIAN_COAPPLICANT_INVITATION_DAYS", "14") or 14
)
# An approval's default length; a dataset's TS time limit always ends it sooner.
CUSTODIAN_GRANT_DAYS = int(env("CUSTODIAN_GRANT_DAYS", "365") or 365)
# The longest a GA4GH Passport visa lives (the grant's end, or the end of a signing official's
# confirmation, end it sooner). Visas are fetched again per use, so an hour keeps a revocation
# effective within the hour; a retired signing key stays published this long after retirement.
CUSTODIAN_VISA_MAX_SECONDS = int(env("CUSTODIAN_VISA_MAX_SECONDS", "3600") or 3600)
if CUSTODIAN_VISA_MAX_SECONDS <= 0:
    raise ImproperlyConfigured(
        f"CUSTODIAN_VISA_MAX_SECONDS={CUSTODIAN_VISA_MAX_SECONDS} must be a positive number"
    )
# GA4GH DRS: the most object ids (or object/access id pairs) one bulk request may hold; more
# is a 413. Service-info publishes it as maxBulkRequestLength.
CUSTODIAN_DRS_BULK_LIMIT = int(env("CUSTODIAN_DRS_BULK_LIMIT", "100") or 100)
if CUSTODIAN_DRS_BULK_LIMIT < 1:
    raise ImproperlyConfigured(
        f"CUSTODIAN_DRS_BULK_LIMIT={CUSTODIAN_DRS_BULK_LIMIT} must be at least 1"
    )
# Where delivered files are served from: `portal` (the portal itself) or `s3` (a bucket, links
# are presigned URLs; see access/storage.py). Credentials the boto3 way (AWS_ACCESS_KEY_ID...).
CUSTODIAN_STORAGE = (env("CUSTODIAN_STORAGE", "portal") or "portal").strip().lower()
if CUSTODIAN_STORAGE not in {"portal", "s3"}:
    raise ImproperlyConfigured(
        f"CUSTODIAN_STORAGE={CUSTODIAN_STORAGE!r} is not a storage (use portal or s3)"
    )
CUSTODIAN_S3_BUCKET = env("CUSTODIAN_S3_BUCKET", "") or ""
if CUSTODIAN_STORAGE == "s3" and not CUSTODIAN_S3_BUCKET:
    raise ImproperlyConfigured("CUSTODIAN_S3_BUCKET is not set: set it when CUSTODIAN_STORAGE=s3")
# MinIO, Ceph, moto...: their URL; unset for AWS itself.
CUSTODIAN_S3_ENDPOINT_URL = env("CUSTODIAN_S3_ENDPOINT_URL", "") or ""
CUSTODIAN_S3_REGION = env("CUSTODIAN_S3_REGION") or env("AWS_DEFAULT_REGION") or "us-east-1"
CUSTODIAN_S3_PREFIX = env("CUSTODIAN_S3_PREFIX", "") or ""
# The longest a download link lives; the grant's end and a shorter asked lifetime end it sooner.
# A presigned URL cannot be revoked early, so with s3 the default is 15 minutes: a withdrawal
# or a revocation takes effect within at most that time.
CUSTODIAN_LINK_MAX_SECONDS = int(
    env("CUSTODIAN_LINK_MAX_SECONDS") or ("900" if CUSTODIAN_STORAGE == "s3" else "3600")
)
if CUSTODIAN_STORAGE == "s3" and not 0 < CUSTODIAN_LINK_MAX_SECONDS <= 7 * 86400:
    raise ImproperlyConfigured(
        f"CUSTODIAN_LINK_MAX_SECONDS={CUSTODIAN_LINK_MAX_SECONDS} is too long for presigned "
        "URLs: S3 accepts at most 604800 (7 days)"
    )
# "portal" streams the bytes and cuts a download off when its link stops being valid;
# "x-accel" checks each request, then hands the file to nginx (no mid-stream cut-off).
CUSTODIAN_DOWNLOAD_MODE = env("CUSTODIAN_DOWNLOAD_MODE", "portal") or "portal"
if CUSTODIAN_DOWNLOAD_MODE not in {"portal", "x-accel"}:
    raise ImproperlyConfigured(
        f"CUSTODIAN_DOWNLOAD_MODE={CUSTODIAN_DOWNLOAD_MODE!r} is not 'portal' or 'x-accel'"
    )
# nginx's `internal` location that aliases CUSTODIAN_DATA_ROOT (docs/nginx-custodian.conf).
CUSTODIAN_X_ACCEL_PREFIX = "/" + (
    env("CUSTODIAN_X_ACCEL_PREFIX", "/_custodian_data/") or "/_custodian_data/"
).strip("/")
# Where signed links point when downloads have a pool of their own (README, "Serving the
# bytes"), e.g. https://downloads.custodian.example.org; empty: the portal's own address.
CUSTODIAN_DOWNLOAD_URL = (env("CUSTODIAN_DOWNLOAD_URL", "") or "").rstrip("/")

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# For portal.mail.AppendFileEmailBackend (what `make run` uses): the file every email is
# appended to.
EMAIL_FILE_PATH = Path(env("EMAIL_FILE_PATH", str(VAR_DIR / "demo-mail.txt")) or "mail.txt")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Custodian <custodian@localhost>")

# --- Security headers ---------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
# portal.middleware.SessionTimeoutMiddleware: DAC members, chairs and stewards are signed out
# after 30 minutes idle and 12 hours in all; everyone else after the idle time below.
CUSTODIAN_STAFF_IDLE_SECONDS = int(env("CUSTODIAN_STAFF_IDLE_SECONDS", "1800") or 1800)
CUSTODIAN_STAFF_MAX_SECONDS = int(env("CUSTODIAN_STAFF_MAX_SECONDS", str(12 * 3600)) or 43200)
CUSTODIAN_SESSION_IDLE_SECONDS = int(env("CUSTODIAN_SESSION_IDLE_SECONDS", "28800") or 28800)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 86400)) or 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Request bounds (portal.middleware.BadInputMiddleware) -------------------------------------
# A body read into memory (JSON, form fields; not uploaded files) is at most this big: a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440)) or 2_621_440)
# JSON bodies nest at most this deep.
CUSTODIAN_JSON_MAX_DEPTH = 32
# Services that check their own query parameters (NUL included) and must answer in their
# specification's error format (a Beacon v2 error, not problem+json).
CUSTODIAN_OWN_QUERY_CHECKS = ("/ga4gh/beacon/",)

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.ApiTokenAuthentication",
        "portal.authentication.OtpSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "portal.schema.PortalAutoSchema",
    # JSON bodies only (the OpenAPI then says so); an upload names its own parsers.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "portal.exceptions.problem_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.Pagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Custodian API",
    "DESCRIPTION": "Dynamic consent and data-access governance for genomic data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.schema.strings_without_nul",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WithdrawalLevelEnum": "consent.models.WithdrawalLevel",
        "AccessRequestStatusEnum": "access.models.RequestStatus",
        "DataFileStatusEnum": "datasets.models.FileStatus",
        "DataFileFormatEnum": "datasets.models.DataFileFormat",
        "DeliveryStatusEnum": "access.models.DeliveryStatus",
    },
}

# --- Cache -------------------------------------------------------------------------------------
# Shared by every web process when set (the beacon's query budgets must be: a per-process
# memory cache would give each gunicorn worker its own budget). Redis, e.g.
# redis://127.0.0.1:6379/1; without it, each process keeps its own memory cache.
CACHE_URL = env("CACHE_URL") or ""
_REDIS = "django.core.cache.backends.redis.RedisCache"
_MEMORY = "django.core.cache.backends.locmem.LocMemCache"
# `ratelimit` holds the rate limits' counters (portal/ratelimit.py), apart from the rest.
CACHES = (
    {
        "default": {"BACKEND": _REDIS, "LOCATION": CACHE_URL},
        "ratelimit": {"BACKEND": _REDIS, "LOCATION": CACHE_URL, "KEY_PREFIX": "ratelimit"},
    }
    if CACHE_URL
    else {
        "default": {"BACKEND": _MEMORY, "LOCATION": "default"},
        "ratelimit": {"BACKEND": _MEMORY, "LOCATION": "ratelimit"},
    }
)


def _rate(name: str, default: str) -> tuple[int, int]:
    """COUNT/SECONDS from CUSTODIAN_RATE_<NAME>, e.g. 10/3600."""
    value = env(f"CUSTODIAN_RATE_{name.upper()}", default) or default
    count, _, seconds = value.partition("/")
    try:
        parsed = int(count), int(seconds)
    except ValueError:
        parsed = (0, 0)
    if parsed[0] < 1 or parsed[1] < 1:
        raise ImproperlyConfigured(
            f"CUSTODIAN_RATE_{name.upper()}={value!r} is not COUNT/SECONDS, e.g. 10/3600"
        )
    return parsed


# Per client address and per account (the address typed, or the link's account), per window.
# Sign-in's account limit counts failures across every address (axes counts per address and
# account); the others count requests, for known and unknown addresses alike.
CUSTODIAN_RATE_LIMITS = {
    name: _rate(name, default)
    for name, default in {
        "sign_in_address": "60/3600",
        "sign_in_account": "20/3600",
        "register_address": "10/3600",
        "register_account": "3/3600",
        "password_reset_address": "10/3600",
        "password_reset_account": "3/3600",
        "activate_address": "30/3600",
        "activate_account": "10/3600",
    }.items()
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or ""
if not CELERY_BROKER_URL:
    # Kombu's filesystem transport needs no server and works across processes.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # With a host named, kombu does not warn that it supplied one (at every start).
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers an unacknowledged (acks_late) task after this, for instance the task
    # of a worker that died mid-way; it must outlast the longest task (validating a large
    # file) or a second worker starts the same work (which then finds it done). Deliveries'
    # copies are built in short region pieces, so a lost piece waits this long at most.
    _visibility = int(env("CUSTODIAN_BROKER_VISIBILITY_TIMEOUT", str(8 * 3600)) or 8 * 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        # How often a worker looks for such tasks (each look is one small Redis query).
        "unacked_restore_interval": max(1, min(10, _visibility // 4)),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CUSTODIAN_CELERY_QUEUE", "custodian") or "custodian"
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Logging -------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"request": {"()": "portal.log.RequestLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # axes logs its configuration at every start; only its warnings matter.
    "loggers": {
        # A 403/404 is one line with the request id; errors keep their tracebacks.
        "django.request": {"filters": ["request"]},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
