"""Test settings: the same real PostgreSQL and Redis, a separate Redis database."""

from config.settings import *  # noqa: F401,F403
from config.settings import REDIS_URL, env

# Keep tests off the Redis database a running `make run` uses (db 0). Two test runs at
# once (e.g. two checkouts) pick their own TEST_REDIS_DB and TEST_DATABASE_NAME.
TEST_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/" + env("TEST_REDIS_DB", default="1")
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_atendo")}  # noqa: F405
CACHES["default"]["LOCATION"] = TEST_REDIS_URL  # noqa: F405
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
CELERY_IMPORTS = ["tenants.tests.probe_tasks"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TENANT_SPARE_POOL_SIZE = 0
TENANT_MIGRATION_EXECUTOR = "standard"
# A test server (the browser tests' gunicorn) serves static files straight from the apps.
WHITENOISE_USE_FINDERS = True
