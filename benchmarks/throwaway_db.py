"""A throw-away database for a benchmark, on the app's PostgreSQL server.

The server is ``DATABASE_URL``'s, or the embedded one when unset. A benchmark calls
``fresh_database(name)`` before ``django.setup()`` (and points ``DATABASE_URL`` at the
result), and ``drop_database(name)`` when done.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _server_url() -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        from config import embedded

        base = embedded.database_url()
    return base.rpartition("/")[0]


def _admin(statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fresh_database(name: str, *, keep_existing: bool = False) -> str:
    """Drop ``name`` if it exists, create it empty, and return its URL (with
    ``keep_existing``, an existing ``name`` is kept as it is, to time it again)."""
    server = _server_url()
    if not (keep_existing and database_exists(name)):
        _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return f"{server}/{name}"


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    """Drop ``name``, closing this process's Django connections to it first."""
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


@contextmanager
def store_in_throwaway_db(name: str, *, slug: str, keep: bool = False,
                          env: dict[str, str] | None = None,
                          quiet: tuple[str, ...] = ("tenants",)) -> Iterator:
    """Django set up on a fresh database ``name`` holding the platform and one store
    ``slug`` (no spare schemas); yields the store with the connection in its schema, and
    drops the database afterwards unless ``keep``. ``env`` sets settings' environment
    variables first; ``quiet`` names loggers turned down to warnings. Celery tasks the
    benchmark enqueues go to Redis database 15, which no worker reads."""
    os.environ["DATABASE_URL"] = fresh_database(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"
    os.environ.update(env or {})
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["CELERY_BROKER_URL"] = redis_url.rsplit("/", 1)[0] + "/15"
    import django

    django.setup()
    for logger in quiet:
        logging.getLogger(logger).setLevel(logging.WARNING)
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from tenants import services as tenant_services

    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        tenant_services.ensure_platform()
        store = tenant_services.provision_store(
            slug=slug, name=slug, owner_email=f"owner@{slug}.test"
        )
        with tenant_context(store):
            yield store
    finally:
        if keep:
            from django.db import connections

            connections.close_all()
        else:
            drop_database(name)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank ``pct`` percentile of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
