"""Settings for the rural toilet ledger, driven entirely by environment variables.

With no variable set, the project runs for development: DEBUG on, a SQLite file in the
project directory, Celery tasks executed eagerly in-process. Production sets at least
DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL (see docs/deploy.md).
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.dblocks import with_sqlite_options
from core.web.csp import tile_sources

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "core",
    "regions",
    "toilets",
    "surveys",
    "rectification",
    "reports",
    "imports",
    "apitokens",
    "dashboards",
    "dispatch",
    "public",
    "portal",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files go out without a policy of their own.
    "core.web.csp.PathCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.web.sessions.IdleSessionTimeoutMiddleware",
    "core.web.caching.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a login refused by django-axes into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username+IP before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"

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
                "regions.context_processors.user_scope",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": environ.Env.db_url_config(
        env_str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", 60 if not DEBUG else 0)
# A persistent connection is checked before a request reuses it, so that after a PostgreSQL
# restart the next request reconnects instead of failing (tests/config/test_faults.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# SQLite: writers queue on a busy timeout (BEGIN IMMEDIATE), and a write that still timed
# out answers 409 "请稍后重试" (core.dblocks), never a 500. The middleware is inert elsewhere
# (only SQLite raises "database is locked"), so it is always installed.
DATABASES["default"] = with_sqlite_options(DATABASES["default"])
MIDDLEWARE.append("core.dblocks.DatabaseLockedMiddleware")
# A job that cannot be queued (Redis down) answers "后台任务服务暂时不可用，请稍后再试。", not 500.
MIDDLEWARE.append("core.queue.QueueUnavailableMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "core.staticfiles.StaticStorage"  # whitenoise's, without source maps
        )
    },
}

# A township's plan posts one checkbox per problem toilet it covers, and bulk acceptance two
# fields per entry: a large township has well over Django's default 1,000 fields. Parsing
# 10,000 short fields is milliseconds; the body stays capped at 2.5 MB (the default).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end two weeks after the last sign-in (Django's SESSION_COOKIE_AGE) or after
# SESSION_IDLE_MINUTES without a request (core.web.sessions), whichever comes first.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", default=120) * 60
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", default=False)
if BEHIND_HTTPS_PROXY:
    # nginx (or another proxy) terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client IP for login lockouts and API throttles (core.web.client_ip): from
# X-Forwarded-For only behind the proxy, counting TRUSTED_PROXY_COUNT hops from the right.
CLIENT_IP_FROM_X_FORWARDED_FOR = BEHIND_HTTPS_PROXY
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0)

REST_FRAMEWORK = {
    # Token first: an anonymous API request then answers 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Personal API tokens (Bearer, or Token with a tl_ key), then DRF's /api/token/ keys.
        "apitokens.authentication.ApiTokenAuthentication",
        "apitokens.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.web.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Rates come from API_THROTTLE_RATES, read at each request.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.web.throttling.UserThrottle",
        "core.web.throttling.AnonThrottle",
    ],
    "EXCEPTION_HANDLER": "core.web.throttling.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "农村户厕问题摸排整改 API",
    "DESCRIPTION": "Rural toilet survey and rectification ledger. Every list and object is "
    "limited to the caller's own region subtree; another region's object answers 404.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI only for signed-in users and token holders.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets from the drf-spectacular-sidecar package: works on an intranet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LedgerStateEnum": "rectification.choices.LedgerState",
        "ConsentMethodEnum": "rectification.choices.ConsentMethod",
    },
}


def _throttle_rate(name: str, default: str) -> str | None:
    """``N/period`` (period s, min, hour or day), or ``off`` to disable the throttle."""
    raw = env_str(name, default)
    if raw.lower() in {"off", "none", "0"}:
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", raw):
        raise ImproperlyConfigured(f"{name} must look like 600/min or be off, got {raw!r}")
    return raw


# API throttles: authenticated callers per user, anonymous ones per client IP.
# Keys from POST /api/token/ expire this long after they were issued (a personal token from
# the "API 令牌" page has the expiry its owner chose).
AUTH_TOKEN_LIFETIME = timedelta(days=env_int("AUTH_TOKEN_DAYS", default=30))

API_THROTTLE_RATES = {
    "user": _throttle_rate("API_THROTTLE_USER", "600/min"),
    "anon": _throttle_rate("API_THROTTLE_ANON", "60/min"),
}

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one IP, that combination is locked for AXES_COOLOFF_MINUTES (on the login page, the admin
# login and /api/token/). Unlock early with `manage.py axes_reset_username NAME`.
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
# Its start-up banner ("AXES: BEGIN version …") would open the output of every command.
AXES_VERBOSE = env_bool("AXES_VERBOSE", default=False)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "core.web.lockout.lockout_response"
# django-ipware is not installed: the IP comes from our own function (see CLIENT_IP_*).
AXES_CLIENT_IP_CALLABLE = "core.web.client_ip.client_ip"
# Named on the lockout page as the one to ask for an early unlock.
LOCKOUT_CONTACT = env_str("LOCKOUT_CONTACT", "本县（区）系统管理员")

# Celery: with no REDIS_URL, tasks run eagerly in-process (the embedded default for `make run`).
REDIS_URL = env_str("REDIS_URL")
# The cache holds the API throttle counters: it must be shared by all gunicorn workers, so it
# is Redis when configured (CACHE_URL, else REDIS_URL) and per-process memory otherwise.
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            # Redis down: cache reads miss and writes are dropped (throttles stop counting),
            # pages and the API keep working (core.cache).
            "BACKEND": "core.cache.ForgivingRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "toilet-ledger",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Job rows carry every job's state: nothing reads task results from Redis (and a Redis result
# backend blocks a publish for ~20 s and then raises RuntimeError when Redis is down). The
# in-process default keeps an in-memory one for the tests' .get().
CELERY_RESULT_BACKEND = None if REDIS_URL else "cache+memory://"
# Redis down: queueing a job fails within a few seconds (core.queue.enqueue says so in
# Chinese) instead of hanging the request.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
# Beat: each township's overdue ledger entries are recorded once a day (after midnight,
# county time) so the dashboard can show the trend.
CELERY_BEAT_SCHEDULE = {
    # Jobs whose worker died end as failed ("任务执行中断，请重新提交"); jobs whose message was
    # lost (Redis restarted without its data) are queued again (imports/reports jobs.py).
    "sweep-import-jobs": {"task": "imports.sweep_jobs", "schedule": 300},
    "sweep-report-jobs": {"task": "reports.sweep_jobs", "schedule": 300},
    "sweep-briefing-jobs": {"task": "dispatch.sweep_jobs", "schedule": 300},
    "sweep-campaign-draws": {"task": "surveys.sweep_draws", "schedule": 300},
    "record-overdue-daily": {
        "task": "rectification.record_overdue",
        "schedule": crontab(hour=0, minute=30),
    },
    # The dashboard's 整改进度趋势: each township's open and closed entries at the day's end.
    "record-ledger-snapshots-daily": {
        "task": "dashboards.record_snapshots",
        "schedule": crontab(hour=23, minute=50),
    },
    # Dispatch briefings (调度通报), county time: the week's every Friday at 15:00; the month's
    # on its last working day at 15:00 (the task runs every weekday and acts on that day only).
    "dispatch-weekly-briefings": {
        "task": "dispatch.weekly_briefings",
        "schedule": crontab(hour=15, minute=0, day_of_week="fri"),
    },
    "dispatch-monthly-briefings": {
        "task": "dispatch.monthly_briefings",
        "schedule": crontab(hour=15, minute=0, day_of_week="mon-fri"),
    },
}

# The dashboard map's tile layer (e.g. a provincial map service or 天地图 with its key in the
# URL: https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=KEY). Empty: no tiles are requested
# at all and the map shows the villages on a plain background (offline deployments).
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")
MAP_TILE_SUBDOMAINS = env_list("MAP_TILE_SUBDOMAINS", [])

# The public side (public/): plates' QR codes encode PUBLIC_BASE_URL + /p/<token>/ (empty: the
# host of the request that prints them); a public report or maintenance request not answered
# within LEAD_ANSWER_DAYS is overdue; the public forms are throttled per client IP and per
# toilet, the lookup page per client IP (rates checked at startup like the API's; off: none).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "").rstrip("/")
LEAD_ANSWER_DAYS = env_int("LEAD_ANSWER_DAYS", default=7)
PUBLIC_LEAD_RATE_IP = _throttle_rate("PUBLIC_LEAD_RATE_IP", "5/h")
PUBLIC_LEAD_RATE_TOILET = _throttle_rate("PUBLIC_LEAD_RATE_TOILET", "10/d")
PUBLIC_LOOKUP_RATE = _throttle_rate("PUBLIC_LOOKUP_RATE", "30/h")

# Content-Security-Policy (django-csp): scripts, styles, fetches and workers from this site
# only; no inline script, event handler or style anywhere (data for a page's script goes in
# data-* attributes or json_script). Images also from data:/blob: URLs (photo previews, the
# signature pad) and from the map's tile hosts when MAP_TILE_URL is set.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *tile_sources(MAP_TILE_URL, MAP_TILE_SUBDOMAINS)],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# The admin's third-party templates (django-simple-history's history list,
# django-import-export's export form) carry a few inline style attributes: allowed there
# only, for styles only. Scripts stay 'self' everywhere.
CONTENT_SECURITY_POLICY_PATH_UPDATES = {"/admin/": {"style-src": ["'unsafe-inline'"]}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
