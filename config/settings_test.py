"""Test settings: the same real PostgreSQL and Redis, a separate Redis database."""

from config.settings import *  # noqa: F401,F403
from config.settings import REDIS_URL

# Keep tests off the Redis database a running `make run` uses (db 0).
TEST_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/1"
CACHES["default"]["LOCATION"] = TEST_REDIS_URL  # noqa: F405
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
CELERY_IMPORTS = ["tenants.tests.probe_tasks"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TENANT_SPARE_POOL_SIZE = 0
TENANT_MIGRATION_EXECUTOR = "standard"
