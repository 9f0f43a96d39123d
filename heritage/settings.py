"""Settings for the heritage damage register, read from the environment.

One file for every deployment: development needs no variables at all, production sets
SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL (see README.md).
"""

import datetime
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import xstatic.pkg.leaflet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def envint(name, default):
    return int(os.environ.get(name, default))


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment when DEBUG is off.")
    # Development only: derived from the checkout's path, so no key is ever committed.
    SECRET_KEY = "insecure-development-key-" + str(BASE_DIR)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

# HTTPS in production (DEBUG off), each switch overridable. Behind a proxy that ends
# TLS, set BEHIND_PROXY so that its X-Forwarded-Proto says whether the visitor used
# HTTPS; only do so if the proxy sets that header itself (docs/deploy.md).
if envbool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "heritage.sessions"
# Curators' sessions end with the working day rather than after Django's two weeks.
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Full-text search indexes on PostgreSQL; inert on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "simple_history",
    # Locks an admin login out after repeated failures.
    "axes",
    # The queue of background tasks, in the database (TASKS below).
    "django_tasks_db",
    "heritage",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "heritage.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: curators are not counted.
    "heritage.middleware.PageThrottleMiddleware",
    # After the throttle, which counts kept pages too.
    "heritage.kept.KeptPagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records which user made each change in the edit history.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "heritage.urls"
WSGI_APPLICATION = "heritage.wsgi.application"
ASGI_APPLICATION = "heritage.asgi.application"

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
                "django.template.context_processors.csp",
            ],
        },
    },
]

# SQLite unless DATABASE_URL names another database.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        # Connections are kept between requests (a new one costs more than a page of
        # rows, and on SQLite starts with a cold cache), and checked before reuse.
        conn_max_age=envint("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers at once (gunicorn workers, a curator, an import) must queue rather
    # than fail with "database is locked": WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock when a transaction starts instead of upgrading
    # midway (the cause of most lock errors), and the timeout says how long to queue.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": envint("SQLITE_TIMEOUT", 20),
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA cache_size=-64000;"
        ),
    }

# Reads from a streaming replica of the PostgreSQL primary when DATABASE_REPLICA_URL
# names one (heritage/routers.py, docs/deploy.md); writes, and the reads of a client that
# wrote less than REPLICA_LAG_SECONDS ago, stay on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=envint("CONN_MAX_AGE", 60),
        conn_health_checks=True,
        # Tests read the primary's test database through it rather than make another.
        test_options={"MIRROR": "default"},
    )
    if {db["ENGINE"] for db in DATABASES.values()} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured("A read replica needs PostgreSQL, in DATABASE_URL too.")
    DATABASE_ROUTERS = ["heritage.routers.ReplicaRouter"]
    # First, so that everything after it reads by the router's rule.
    MIDDLEWARE.insert(0, "heritage.routers.ReplicaMiddleware")
    REPLICA_LAG_SECONDS = envint("REPLICA_LAG_SECONDS", 5)

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 for new passwords; older hashes still verify, and are upgraded at next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
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

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Files named by their content's hash (collectstatic), which WhiteNoise then sends
    # with a cache lifetime of ten years: a changed file is a new name. In development,
    # Django's own, which needs no collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    # Evidence captures (reports.Capture): the original bytes of each source, kept apart
    # from the working copy in the database and never served by the web server. Any
    # Django storage: CAPTURE_STORAGE_BACKEND names it (e.g. django-storages'
    # "storages.backends.s3.S3Storage") and CAPTURE_STORAGE_OPTIONS (JSON) configures it;
    # docs/deploy.md, "Evidence captures". Files are written read-only: nothing rewrites
    # a capture in place.
    "captures": {
        "BACKEND": os.environ.get(
            "CAPTURE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("CAPTURE_STORAGE_OPTIONS") or "null")
        or {
            "location": os.environ.get("CAPTURE_ROOT", str(BASE_DIR / "var" / "captures")),
            "file_permissions_mode": 0o444,
            "directory_permissions_mode": 0o755,
        },
    },
}
# The largest capture a curator may bring in (a PDF report, a web archive), in bytes.
CAPTURE_MAX_BYTES = envint("CAPTURE_MAX_BYTES", 50 * 1024 * 1024)
# The register's Ed25519 key for signing evidence bundles: PEM (PKCS#8) or the 32-byte
# private key in base64. Unset, bundles are written unsigned and say so. `manage.py
# signing_key` makes a pair.
EVIDENCE_SIGNING_KEY = os.environ.get("EVIDENCE_SIGNING_KEY", "")
STATICFILES_DIRS = [("leaflet", xstatic.pkg.leaflet.BASE_DIR)]

# The map's background. Pages stay useful without it: markers, the legend and every
# coordinate are also in the page's text. Set MAP_TILES_URL empty to draw no tiles.
MAP_TILES_URL = os.environ.get("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILES_ATTRIBUTION = os.environ.get(
    "MAP_TILES_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
# What pages may load and run: only our own files, and scripts or styles written into a
# page only with the request's nonce (there are none today). Tiles come from the map's
# tile server.
MAP_TILES_ORIGIN = (
    "{0.scheme}://{0.netloc}".format(urlsplit(MAP_TILES_URL)) if MAP_TILES_URL else ""
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", *([MAP_TILES_ORIGIN] if MAP_TILES_ORIGIN else [])],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

# Site images: what a curator may upload. Larger files and pictures with more pixels
# than this are refused before Pillow decodes them.
IMAGE_MAX_BYTES = envint("IMAGE_MAX_BYTES", 10 * 1024 * 1024)
IMAGE_MAX_PIXELS = envint("IMAGE_MAX_PIXELS", 40_000_000)
# The memory an upload may take while it is checked and re-encoded, counted from its
# decoded size (heritage/images.py).
IMAGE_MAX_MEMORY = envint("IMAGE_MAX_MEMORY", 256 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)

# Admin logins: after AXES_FAILURE_LIMIT failures for one username from one address,
# that pair is refused for AXES_COOLOFF_MINUTES; a success resets the count.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "heritage.settings.client_ip"


def client_ip(request):
    """The visitor's address as the API's throttles read it (NUM_PROXIES trusted
    proxies in X-Forwarded-For), so that logins and the API agree on who is who."""
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)


# Shared by every process when CACHE_URL names a Redis server (throttle counts, kept
# API answers); otherwise each process keeps its own in memory.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "heritage"),
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's, refusing keys no token could have (heritage/authentication.py). First:
        # its WWW-Authenticate makes a refused request a 401 that says how to log in.
        "heritage.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_ANON_RATE", "600/minute"),
        # Public pages, for anonymous visitors (heritage/middleware.py).
        "pages": os.environ.get("PAGE_ANON_RATE", "300/minute"),
    },
    "COERCE_DECIMAL_TO_STRING": False,
    # Proxies in front of the server whose X-Forwarded-For is trusted (docs/deploy.md).
    "NUM_PROXIES": envint("NUM_PROXIES", 0) or None,
}

# Public pages made for anonymous readers are kept in the cache for this many seconds
# (0: never), under their address and the public record's version (heritage/kept.py).
PAGE_CACHE_SECONDS = envint("PAGE_CACHE_SECONDS", 300)

# Anonymous API answers are kept in the cache, under their ETag, for this many seconds
# (0: never); answers larger than API_CACHE_MAX_BYTES are not kept.
API_CACHE_SECONDS = envint("API_CACHE_SECONDS", 300)
# 8 MB: the GeoJSON of ten thousand sites (4 MB) is the answer most worth keeping.
API_CACHE_MAX_BYTES = envint("API_CACHE_MAX_BYTES", 8 * 1024 * 1024)

SPECTACULAR_SETTINGS = {
    "TITLE": "Heritage damage register API",
    "DESCRIPTION": (BASE_DIR / "docs" / "api.md").read_text(encoding="utf-8"),
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"DamageLevelEnum": "heritage.models.DamageLevel"},
}

# What the pages may ask the browser for: nothing of the kind (heritage/middleware.py).
PERMISSIONS_POLICY = os.environ.get(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), browsing-topics=()",
)

# A reason is kept whole in the history: the workflow takes up to 500 characters, and
# django-simple-history's default column holds 100 (PostgreSQL refuses the rest).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# The API may be read from any web page; writing needs a session or token anyway.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]

# Four eyes: whoever drafted an event, or last changed it or its evidence, does not
# publish it, and whoever proposed a change to the published record does not approve it
# (heritage/workflow.py). Turn it off for a one-person team.
FOUR_EYES = envbool("FOUR_EYES", True)

# Where `manage.py backup` writes, and `restore` keeps a copy of what it replaces.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", BASE_DIR / "var" / "backups"))

# Where `manage.py build_dump` writes the full dataset that /api/v1/dump/ serves.
DUMP_PATH = Path(os.environ.get("DUMP_PATH", BASE_DIR / "var" / "dump" / "heritage-register.zip"))

# Where `manage.py release` keeps the numbered releases that /data/ lists and serves,
# with their index, releases.json (heritage/releases.py).
RELEASES_DIR = Path(os.environ.get("RELEASES_DIR", BASE_DIR / "var" / "releases"))

# Spreadsheet imports (heritage/imports/): what one import may upload in all, unpack to (a
# workbook is a zip), and hold in rows; where an upload waits between preview and confirm.
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_UNPACKED = envint("IMPORT_MAX_UNPACKED", 200 * 1024 * 1024)
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 10_000)
IMPORT_UPLOAD_DIR = os.environ.get("IMPORT_UPLOAD_DIR", "")

# Background tasks (heritage/tasks.py: the dump rebuilt after each publication). Queued in
# the database by default, so no other server is needed: `manage.py db_worker` runs them,
# and until it does the dump stays as it was. TASKS_BACKEND names another backend, such
# as a Redis-backed one for larger installations (docs/deploy.md).
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
