"""A throw-away database for a benchmark, on the app's PostgreSQL server.

The server is ``DATABASE_URL``'s, or the embedded one when unset. A benchmark calls
``fresh_database(name)`` before ``django.setup()`` (and points ``DATABASE_URL`` at the
result), and ``drop_database(name)`` when done.
"""

from __future__ import annotations

import os
import sys
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
