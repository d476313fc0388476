"""Propel settings: one module, configured from environment variables.

PROPEL_MODE=demo (the default) runs on embedded services (SQLite, a filesystem broker, mail
to files) with a throwaway secret. PROPEL_MODE=production refuses to start without a real secret
and hosts, and turns on every transport-security setting `manage.py check --deploy` asks for.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from propel.demo_secret import demo_secret_key
from propel.documents_store import documents_storage_config
from propel.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_timezone,
    env_url,
)

# Generic Django classes written with their type, such as admin.ModelAdmin[AuditEvent], need
# `__class_getitem__` at run time too (django-stubs-ext; mypy reads the same from django-stubs).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PROPEL_VAR_DIR", str(BASE_DIR / "var")))

MODE = env_choice("PROPEL_MODE", "demo", ("demo", "production"))
PRODUCTION = MODE == "production"

# The public key the demo once used: refused everywhere (links signed with it never open again).
_OLD_DEMO_SECRET = "demo-only-insecure-secret-key-never-use-in-production-0123456789"  # noqa: S105
# Demo mode makes a random key on first start and keeps it in VAR_DIR (propel.demo_secret).
SECRET_KEY = env_str("SECRET_KEY", "") or ("" if PRODUCTION else demo_secret_key(VAR_DIR))
if SECRET_KEY == _OLD_DEMO_SECRET or (PRODUCTION and len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production"
    )
# Key rotation (docs/deployment.md): the previous keys, comma-separated. Signed values (patient
# links, sessions) made under one of them still open until it is removed from this list.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
if _OLD_DEMO_SECRET in SECRET_KEY_FALLBACKS or (
    PRODUCTION and any(len(key) < 50 for key in SECRET_KEY_FALLBACKS)
):
    raise ImproperlyConfigured(
        "SECRET_KEY_FALLBACKS must list earlier random keys of at least 50 characters each"
    )

DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production")

_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else _LOCAL_HOSTS)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names in production")
# The demo serves this machine only (`make run` binds 127.0.0.1): it is not for real patients.
if not PRODUCTION and not set(ALLOWED_HOSTS) <= set(_LOCAL_HOSTS):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS may only name this machine in demo mode (localhost, 127.0.0.1, [::1]); "
        "serving a network needs PROPEL_MODE=production (docs/deployment.md)"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# "Your form expired", keeping what was typed where that is safe (propel.error_pages).
CSRF_FAILURE_VIEW = "propel.error_pages.csrf_failure"

INSTALLED_APPS = [
    "propel.apps.PropelConfig",
    "intake.apps.IntakeConfig",
    "scheduling.apps.SchedulingConfig",
    "demo.apps.DemoConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "phonenumber_field",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP, Permissions-Policy, COOP and no-store on private pages (outermost after Django's own).
    "propel.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Staff pages in English whatever the visitor's language (propel.i18n).
    "propel.i18n.StaffEnglishMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Before the session timeout, which tells the signed-out user why with a message.
    "django.contrib.messages.middleware.MessageMiddleware",
    "propel.middleware.StaffSessionTimeoutMiddleware",
    "propel.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # Innermost, so it sees a view's database error first: a calm 503 page, not a 500.
    "propel.db_unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "propel.urls"
WSGI_APPLICATION = "propel.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "propel.context_processors.clinic",
                "propel.context_processors.languages",
            ],
            # One way to write dates, times, phones and names in every template (propel.formatting)
            "builtins": ["propel.templatetags.formats"],
        },
    },
]

# Database: PostgreSQL in production and tests, SQLite for the zero-setup demo.
DATABASE_URL = env_url(
    "DATABASE_URL",
    "" if PRODUCTION else f"sqlite:///{VAR_DIR / 'propel.sqlite3'}",
    ("postgres", "postgresql") if PRODUCTION else ("postgres", "postgresql", "sqlite"),
)
# Least privilege (propel.db_roles, docs/deployment.md): the site connects as the app role; the
# owner role runs migrations (DATABASE_OWNER_URL in scripts/start-production). The passwords are
# read by `manage.py db_roles` only, which a superuser runs to create or update both roles.
DATABASE_OWNER_ROLE = env_str("DATABASE_OWNER_ROLE", "propel_owner")
DATABASE_OWNER_PASSWORD = env_str("DATABASE_OWNER_PASSWORD", "")
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "propel_app")
DATABASE_APP_PASSWORD = env_str("DATABASE_APP_PASSWORD", "")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A PostgreSQL host that hangs instead of refusing must not hang every page and /healthz:
    # give up connecting after a few seconds (the page then answers 503, propel.db_unavailable).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT_SECONDS", 5, minimum=1, maximum=60
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share the file: wait for locks instead of failing, and take the write
    # lock at BEGIN so two writers never deadlock upgrading a read lock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "propel.roles.RolePermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "propel:login"
LOGIN_REDIRECT_URL = "scheduling:today"
LOGOUT_REDIRECT_URL = "propel:login"

# Staff sessions: 15 minutes idle, 12 hours absolute (propel.middleware enforces both).
STAFF_IDLE_TIMEOUT = timedelta(minutes=env_int("STAFF_IDLE_MINUTES", 15, minimum=1, maximum=240))
STAFF_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("STAFF_ABSOLUTE_HOURS", 12, minimum=1, maximum=24))
SESSION_COOKIE_AGE = int(STAFF_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed-login lockout per username + IP address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=50)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "propel/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "propel.http.client_ip_for_axes"
# Plus a lock per account across all addresses, until an admin unlocks it (propel.account_lock):
# axes logs every failure, its handler answers "locked" for a locked account too, and usernames
# longer than axes keeps are cut to that width instead of failing to save.
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 10, minimum=2, maximum=1000)
LOGIN_ACCOUNT_FAILURE_WINDOW_MINUTES = env_int(
    "LOGIN_ACCOUNT_FAILURE_WINDOW_MINUTES", 60, minimum=1, maximum=10080
)
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_HANDLER = "propel.account_lock.PropelAxesHandler"
AXES_USERNAME_CALLABLE = "propel.account_lock.username_for_axes"
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)

OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "Propel")
OTP_STATIC_BACKUP_CODES = 10

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The clinic's zone: every rule thinks in it, the database stores UTC.
TIME_ZONE = env_timezone("CLINIC_TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Production serves collected files; elsewhere WhiteNoise reads the source folders directly.
# `collectstatic` fills it (scripts/start-production); propel.checks refuses a production start
# without its manifest (every page would answer 500).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))) if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
# Signed forms and uploaded documents: a private store outside the web root, never served by URL
# (intake.document_pages serves them through an audited view). The file system in the demo; a
# private, encrypted S3-compatible bucket when DOCUMENTS_S3_BUCKET is set (propel.documents_store).
DOCUMENTS_ROOT = Path(env_str("DOCUMENTS_ROOT", str(VAR_DIR / "documents")))
DOCUMENTS_MAX_UPLOAD_MB = env_int("DOCUMENTS_MAX_UPLOAD_MB", 20, minimum=1, maximum=100)
# An upload past DOCUMENTS_MAX_UPLOAD_MB is cut short, not kept (propel.uploads); the form then
# says the file is too large.
FILE_UPLOAD_HANDLERS = [
    "propel.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "documents": documents_storage_config(root=DOCUMENTS_ROOT),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Outside production the app serves its static files straight from the source folders.
WHITENOISE_USE_FINDERS = not PRODUCTION

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
PHONENUMBER_DEFAULT_REGION = "US"

# Broker: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server needed).
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, ("redis", "rediss"))
    CELERY_BROKER_URL = REDIS_URL
    # A Redis that is down or hung must not hang a web request (a queued new-link email, a rate
    # limit) or a worker: kombu's sockets wait for ever by default, and a hung publish held the
    # request with them. Workers wait for tasks in the event loop, which these timeouts do not
    # touch (kombu checks that connection itself).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 3,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # The cache only counts rate-limit hits, and a miss is allowed (propel.ratelimit):
            # give up after a second rather than redis-py's 5 s per try, with retries.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    _broker_dir = VAR_DIR / "broker"
    # A host that means nothing to the filesystem transport, so kombu does not warn on every start.
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Publishing to a broker that is down gives up within about a second (refused) or a few (hung),
# and the caller logs it: a web request must answer. What must not be lost never depends on the
# publish: reminders and booking notices are rows the sweep sends, crisis alerts have a sweep.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connection before and after every task unless this
# is set; a new PostgreSQL connection per task doubled the cost of sending a reminder (bench
# item 6). propel/celery.py handles each task like a request instead (CONN_MAX_AGE and
# CONN_HEALTH_CHECKS apply); the fixup then only recycles connections every 1,000 tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "propel.tasks.heartbeat", "schedule": 30.0},
    # A crisis alert whose email was never queued or never got through is sent by this sweep.
    "crisis-alert-sweep": {"task": "intake.tasks.crisis_alerts_sweep", "schedule": 60.0},
    # Referral confirmations to referring offices not sent yet (intake.referrals).
    "referral-confirmations": {
        "task": "intake.tasks.referral_confirmations_sweep",
        "schedule": 60.0,
    },
    # Claims due reminder rows and queues their sends (scheduling.reminders.dispatch); no ETA tasks.
    "dispatch-reminders": {"task": "scheduling.tasks.dispatch_reminders", "schedule": 60.0},
    # A locked account's email whose task never reached the broker (propel.account_lock).
    "account-lock-emails": {"task": "propel.tasks.account_lock_emails_sweep", "schedule": 300.0},
    # Waitlist offers past their hold: released and offered to the next patients.
    "waitlist-offers-expire": {"task": "scheduling.waitlist.tasks.offers_expire", "schedule": 60.0},
    # Freed slots whose on-commit offer task never reached the broker (scheduling.waitlist.freed).
    "waitlist-freed-slots": {
        "task": "scheduling.waitlist.tasks.freed_slots_sweep",
        "schedule": 60.0,
    },
    # FHIR bulk exports past their life (files deleted) and jobs whose task never ran
    # (scheduling.fhir.export).
    "fhir-exports-sweep": {"task": "scheduling.fhir.tasks.fhir_exports_sweep", "schedule": 300.0},
}
# FHIR Bulk Data exports (scheduling.fhir.export, docs/fhir.md "Bulk export"): a completed
# export's files live this long, then the sweep deletes them; a client runs at most this many
# exports at once (the next kick-off is a 429); a file holds at most this many resources.
FHIR_EXPORT_TTL_HOURS = env_int("FHIR_EXPORT_TTL_HOURS", 24, minimum=1, maximum=168)
FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT = env_int(
    "FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT", 2, minimum=1, maximum=20
)
FHIR_EXPORT_FILE_RESOURCES = env_int(
    "FHIR_EXPORT_FILE_RESOURCES", 10_000, minimum=1, maximum=1_000_000
)
# /healthz calls the worker down when its last heartbeat is older than this.
WORKER_HEARTBEAT_MAX_AGE = timedelta(
    seconds=env_int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", 120, minimum=30)
)

# Email and SMS. Demo mode writes both to files under var/ so nothing leaves the machine.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# A hung SMTP connection must not hold a reminder row (scheduling.reminders.dispatch) for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Propel Clinic <no-reply@propel.example>")
SMS_BACKEND = env_str(
    "SMS_BACKEND", "propel.sms.ConsoleBackend" if PRODUCTION else "propel.sms.FileBackend"
)
SMS_FILE_PATH = str(VAR_DIR / "sms")

# The clinic, as shown to patients and used by the scheduling rules.
# The name appears in email subjects and texts, which must never say "ketamine" or "infusion".
CLINIC_NAME = env_str("CLINIC_NAME", "Propel Clinic")
if any(word in CLINIC_NAME.lower() for word in ("ketamine", "infusion")):
    raise ImproperlyConfigured(
        "CLINIC_NAME goes into email subjects and text messages, which must not name the treatment"
    )
CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "1010 Hurley Way, Suite 140, Sacramento, CA 95825")
CLINIC_PHONE = env_str("CLINIC_PHONE", "(916) 915-9215")
CLINIC_TIME_ZONE = TIME_ZONE
# Online booking and patient links (patients book consultations only; staff book the rest).
PATIENT_LINK_MAX_AGE = timedelta(
    days=env_int("PATIENT_LINK_MAX_AGE_DAYS", 30, minimum=1, maximum=365)
)
# A link swaps its token for a session (intake.link_sessions), which ends after this many idle
# minutes: the next page asks the patient to open the link in the email again.
PATIENT_SESSION_IDLE_MINUTES = env_int("PATIENT_SESSION_IDLE_MINUTES", 30, minimum=1, maximum=720)
ONLINE_MIN_NOTICE = timedelta(hours=env_int("ONLINE_MIN_NOTICE_HOURS", 24, minimum=0, maximum=720))
ONLINE_MAX_DAYS_AHEAD = env_int("ONLINE_MAX_DAYS_AHEAD", 60, minimum=1, maximum=365)
ONLINE_CHANGE_CUTOFF = timedelta(
    hours=env_int("ONLINE_CHANGE_CUTOFF_HOURS", 24, minimum=0, maximum=720)
)
ONLINE_MAX_UPCOMING_CONSULTATIONS = env_int("ONLINE_MAX_UPCOMING_CONSULTATIONS", 2, minimum=1)
SLOT_HOLD_MINUTES = env_int("SLOT_HOLD_MINUTES", 10, minimum=1, maximum=60)
# The waitlist (scheduling.waitlist): how long a freed slot is held for the patients offered it,
# and how many waiting patients (first asked first) are offered one slot at once.
WAITLIST_OFFER_HOURS = env_int("WAITLIST_OFFER_HOURS", 2, minimum=1, maximum=48)
WAITLIST_OFFER_AT_ONCE = env_int("WAITLIST_OFFER_AT_ONCE", 2, minimum=1, maximum=10)
# An online booking request is held this long for the emailed confirmation link.
BOOKING_CONFIRM_MINUTES = env_int("BOOKING_CONFIRM_MINUTES", 30, minimum=5, maximum=1440)
BOOKING_RATE_PER_IP_PER_HOUR = env_int("BOOKING_RATE_PER_IP_PER_HOUR", 20, minimum=1)
BOOKING_RATE_PER_EMAIL_PER_DAY = env_int("BOOKING_RATE_PER_EMAIL_PER_DAY", 5, minimum=1)
LINK_REQUEST_RATE_PER_IP_PER_HOUR = env_int("LINK_REQUEST_RATE_PER_IP_PER_HOUR", 10, minimum=1)
# Referrals from other offices (intake.referrals): form submissions per IP address per hour.
REFERRAL_RATE_PER_IP_PER_HOUR = env_int("REFERRAL_RATE_PER_IP_PER_HOUR", 10, minimum=1)
# Who is emailed at once when a patient's answers need a clinician now (no health details sent).
CLINICIAN_ALERT_EMAILS = env_list("CLINICIAN_ALERT_EMAILS", ["on-call@propel.example"])
# The port `make run` serves on (the Procfile binds 127.0.0.1:$PORT); the links in emails and texts
# follow it unless SITE_URL says otherwise (behind a proxy, the public address).
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
SLOT_STEP_MINUTES = env_int("SLOT_STEP_MINUTES", 15, minimum=5, maximum=60)
BOOKING_LOCK_TIMEOUT_MS = env_int("BOOKING_LOCK_TIMEOUT_MS", 3000, minimum=100, maximum=30000)

# Production transport security; `manage.py check --deploy --fail-level WARNING` passes with these.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (propel.security): scripts and styles from our own origin only.
CSP_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe over plain HTTP inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Every handler masks token-shaped text (propel.log_masking): add the filter to any new handler.
# The "django" logger's own default handlers (django.utils.log.DEFAULT_LOGGING) are replaced by a
# masked copy of mail_admins, and its records go on to the root's masked console.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_tokens": {"()": "propel.log_masking.TokenMaskFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_tokens"]},
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "mask_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        # One line per request: the server's access log has every 4xx already ("Not Found: ..."
        # again is noise); 5xx errors still reach the console and mail_admins.
        "django.request": {"level": "ERROR"},
        # runserver's request lines (its default handler is not masked).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Clinician review: how long a clearance lasts by default, and the longest a clinician may set.
CLEARANCE_VALID_DAYS = env_int("CLEARANCE_VALID_DAYS", 182, minimum=1, maximum=730)
CLEARANCE_MAX_DAYS = env_int("CLEARANCE_MAX_DAYS", 365, minimum=1, maximum=730)
# What the patient's page promises about a questionnaire received: a clinician reviews it within
# this many business days (intake.questionnaire_progress).
QUESTIONNAIRE_REVIEW_BUSINESS_DAYS = env_int(
    "QUESTIONNAIRE_REVIEW_BUSINESS_DAYS", 2, minimum=1, maximum=30
)
# Pre-infusion check-in: alcohol or recreational drugs within this many hours before the visit
# defer that day's infusion (reference A13 and §8: 12-24 h in published clinic instructions).
CHECK_IN_ABSTINENCE_HOURS = env_int("CHECK_IN_ABSTINENCE_HOURS", 24, minimum=1, maximum=72)
# The pre-infusion check-in opens this many hours before the visit and closes at its start.
CHECK_IN_OPENS_HOURS = env_int("CHECK_IN_OPENS_HOURS", 48, minimum=1, maximum=168)

# Infusion courses (the clinic's stated policy: 4-8 infusions over 4-8 weeks) and their spacing.
COURSE_MIN_SESSIONS = env_int("COURSE_MIN_SESSIONS", 4, minimum=1, maximum=20)
COURSE_MAX_SESSIONS = env_int("COURSE_MAX_SESSIONS", 8, minimum=1, maximum=20)
COURSE_MIN_WEEKS = env_int("COURSE_MIN_WEEKS", 4, minimum=1, maximum=26)
COURSE_MAX_WEEKS = env_int("COURSE_MAX_WEEKS", 8, minimum=1, maximum=26)
COURSE_MIN_HOURS_BETWEEN = env_int("COURSE_MIN_HOURS_BETWEEN", 48, minimum=1, maximum=336)
COURSE_MAX_PER_WEEK = env_int("COURSE_MAX_PER_WEEK", 2, minimum=1, maximum=7)

# Pre-infusion vital signs (reference §2.4, PROPOSED: the medical director approves these).
# A reading at or above a "flag" line asks for a repeat after VITALS_REPEAT_MINUTES; lower counts.
VITALS_NOTE_SYSTOLIC = env_int("VITALS_NOTE_SYSTOLIC", 140, minimum=100, maximum=250)
VITALS_NOTE_DIASTOLIC = env_int("VITALS_NOTE_DIASTOLIC", 90, minimum=50, maximum=150)
VITALS_SIGN_OFF_SYSTOLIC = env_int("VITALS_SIGN_OFF_SYSTOLIC", 160, minimum=100, maximum=250)
VITALS_SIGN_OFF_DIASTOLIC = env_int("VITALS_SIGN_OFF_DIASTOLIC", 100, minimum=50, maximum=150)
VITALS_DEFER_ABOVE_SYSTOLIC = env_int("VITALS_DEFER_ABOVE_SYSTOLIC", 180, minimum=100, maximum=250)
VITALS_DEFER_ABOVE_DIASTOLIC = env_int("VITALS_DEFER_ABOVE_DIASTOLIC", 110, minimum=50, maximum=150)
VITALS_HR_DEFER_BELOW = env_int("VITALS_HR_DEFER_BELOW", 50, minimum=20, maximum=100)
VITALS_HR_DEFER_ABOVE = env_int("VITALS_HR_DEFER_ABOVE", 120, minimum=60, maximum=250)
VITALS_HR_SIGN_OFF_FROM = env_int("VITALS_HR_SIGN_OFF_FROM", 100, minimum=60, maximum=250)
VITALS_SPO2_SIGN_OFF_BELOW = env_int("VITALS_SPO2_SIGN_OFF_BELOW", 95, minimum=80, maximum=100)
VITALS_SPO2_DEFER_BELOW = env_int("VITALS_SPO2_DEFER_BELOW", 90, minimum=70, maximum=100)
VITALS_REPEAT_MINUTES = env_int("VITALS_REPEAT_MINUTES", 5, minimum=1, maximum=30)

# Reminders (scheduling.reminder_plan): when each kind is due before or after the appointment,
# quiet hours for text messages (clinic time), retries with back-off, and the SMS provider.
REMINDER_CONSULTATION_HOURS_BEFORE = env_int("REMINDER_CONSULTATION_HOURS_BEFORE", 24, minimum=1)
REMINDER_INTAKE_NUDGE_HOURS_BEFORE = env_int("REMINDER_INTAKE_NUDGE_HOURS_BEFORE", 48, minimum=1)
REMINDER_INFUSION_PREP_HOURS_BEFORE = env_int("REMINDER_INFUSION_PREP_HOURS_BEFORE", 48, minimum=1)
REMINDER_INFUSION_SOON_HOURS_BEFORE = env_int("REMINDER_INFUSION_SOON_HOURS_BEFORE", 2, minimum=1)
REMINDER_CHECK_IN_HOURS_BEFORE = env_int("REMINDER_CHECK_IN_HOURS_BEFORE", 24, minimum=1)
REMINDER_FOLLOW_UP_HOURS_AFTER = env_int("REMINDER_FOLLOW_UP_HOURS_AFTER", 24, minimum=1)
# Forms to sign or documents to send before a consultation or a treatment visit (issue 21).
REMINDER_PAPERWORK_HOURS_BEFORE = env_int("REMINDER_PAPERWORK_HOURS_BEFORE", 72, minimum=1)
SMS_QUIET_HOURS_START = env_int("SMS_QUIET_HOURS_START", 21, minimum=0, maximum=23)
SMS_QUIET_HOURS_END = env_int("SMS_QUIET_HOURS_END", 8, minimum=0, maximum=23)
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
REMINDER_SEND_TIMEOUT_SECONDS = env_int("REMINDER_SEND_TIMEOUT_SECONDS", 300, minimum=30)
# The drain (scheduling.reminders.dispatch): a sweep claims due messages in chunks of this many,
# one worker task per chunk, and claims more while fewer than REMINDER_IN_FLIGHT_MAX rows are
# claimed and not yet finished (so a claim never waits in the queue for recover_stuck to find it).
REMINDER_CHUNK_SIZE = env_int("REMINDER_CHUNK_SIZE", 100, minimum=1, maximum=1000)
REMINDER_IN_FLIGHT_MAX = env_int("REMINDER_IN_FLIGHT_MAX", 1000, minimum=1, maximum=100_000)
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
SMS_FROM_NUMBER = env_str("SMS_FROM_NUMBER", "+19169159215")
SMS_WEBHOOK_SECRET = env_str("SMS_WEBHOOK_SECRET", "" if PRODUCTION else "demo-sms-webhook-secret")

# --- Crisis alerts at the moment of answering (intake.crisis; screening reference §5.3) ---------
# The clinic's regular hours for the crisis path: inside them the on-call clinician is texted at
# once; outside them the call is queued for the next opening and the patient is told to call 988
# or 911 now. Kept here (intake cannot read scheduling's OpeningHours); the clinic's published
# hours, Mon-Fri 9am-7pm (weekdays 0 = Monday).
_crisis_weekdays = env_list("CRISIS_CALL_WEEKDAYS", ["0", "1", "2", "3", "4"])
if not _crisis_weekdays or not set(_crisis_weekdays) <= {str(day) for day in range(7)}:
    raise ImproperlyConfigured("CRISIS_CALL_WEEKDAYS must list weekdays, 0 (Monday) to 6")
CRISIS_CALL_WEEKDAYS = sorted({int(day) for day in _crisis_weekdays})
CRISIS_CALL_HOURS_START = env_int("CRISIS_CALL_HOURS_START", 9, minimum=0, maximum=23)
CRISIS_CALL_HOURS_END = env_int("CRISIS_CALL_HOURS_END", 19, minimum=1, maximum=24)
if CRISIS_CALL_HOURS_END <= CRISIS_CALL_HOURS_START:
    raise ImproperlyConfigured("CRISIS_CALL_HOURS_END must be after CRISIS_CALL_HOURS_START")
# An immediate alert nobody has acknowledged this long after the call goes to the next clinician
# on the rota and to the admin, once per step.
CRISIS_ESCALATION_MINUTES = env_int("CRISIS_ESCALATION_MINUTES", 15, minimum=1, maximum=240)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("intake.context_processors.crisis_banner")
