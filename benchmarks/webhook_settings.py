"""Settings of the webhook benchmark's server: the app's, plus a bare view to compare with."""

from config.settings import *  # noqa: F401,F403

PUBLIC_SCHEMA_URLCONF = "benchmarks.webhook_urls"
LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "ERROR", "handlers": []}}
