"""Fixtures for tenant tests: two stores per test session, a transaction per test.

Provisioning happens once (``django_db_setup``), outside any test transaction; each test
then runs inside pytest-django's transaction with the connection set to its store's
schema, so what a test writes is rolled back and the stores stay clean.
"""

from __future__ import annotations

import pytest
from django.db import connection

STORE_A = {"slug": "store-a", "name": "Store A", "owner_email": "owner@store-a.test"}
STORE_B = {"slug": "store-b", "name": "Store B", "owner_email": "owner@store-b.test"}
OWNER_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from tenants import services

    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
        if database != connection.settings_dict.get("TEST", {}).get("NAME", f"test_{database}"):
            raise RuntimeError(f"refusing to provision test stores in '{database}', not a test database")
        services.ensure_platform()
        for spec in (STORE_A, STORE_B):
            services.provision_store(**spec, owner_password=OWNER_PASSWORD)
        connection.set_schema_to_public()


def _store(slug: str):
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug)


@pytest.fixture
def store(db):
    """Store A, with the connection in its schema for the test's duration."""
    tenant = _store(STORE_A["slug"])
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def other_store(db):
    """Store B (the connection stays where the test puts it; use ``tenant_context``)."""
    return _store(STORE_B["slug"])


@pytest.fixture
def public_schema(db):
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def client(client):
    """The test client of a staff member who picked English in the console's language switch.

    A store's console otherwise speaks the store's language (Portuguese by default); tests
    of that behaviour clear the cookie (see ``config/test_console.py``).
    """
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture(autouse=True)
def _forget_cached_routes():
    """Rolled-back test rows leave no cached hostname routes behind (Redis is not rolled back)."""
    from django.core.cache import cache

    from tenants.services import forget_local_routes

    cache.clear()
    forget_local_routes()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the real (test) Redis broker and the test database."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings

    from config.celery import app

    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
    )
    app.control.purge()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--queues", "default,webhooks,agent_turns,ingestion", "--hostname", "pytest@%h",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        env=env,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[f"pytest@{os.uname().nodename}"]):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError("the test Celery worker did not start")
    yield worker
    worker.terminate()
    worker.wait(timeout=30)


def shared_fixture(*parts: str):
    """A file of the shared public fixtures (``../shared/fixtures`` beside the checkout).

    ``ATENDO_SHARED_FIXTURES`` names the folder explicitly; a clone elsewhere on this
    machine finds ``/work/shared/fixtures``. Missing fixtures fail loudly, never skip.
    """
    import os
    from pathlib import Path

    candidates = [
        os.environ.get("ATENDO_SHARED_FIXTURES", ""),
        str(Path(__file__).resolve().parent.parent / "shared" / "fixtures"),
        "/work/shared/fixtures",
    ]
    for folder in filter(None, candidates):
        path = Path(folder).joinpath(*parts)
        if path.exists():
            return path
    raise FileNotFoundError(f"shared fixture {'/'.join(parts)} not found in {candidates}")
