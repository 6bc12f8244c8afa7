"""``migrate_schemas`` that skips stores whose schema is already current.

django-tenants runs Django's whole ``migrate`` command once per schema, even when there is
nothing to apply (~0.1-0.2 s each: hours of no-ops across thousands of stores). Here one
query per 500 schemas finds which schemas already have every leaf migration recorded;
only the others go to the real executor (``TENANT_MIGRATION_EXECUTOR``, multiprocessing
by default). Any targeted run (an app label, --fake, --plan, ...) skips nothing.
"""

from __future__ import annotations

import multiprocessing
import sys

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import StandardExecutor
from django_tenants.migration_executors import get_executor as get_django_tenants_executor
from django_tenants.utils import get_public_schema_name

CHUNK = 500
_TARGETED_OPTIONS = ("fake", "fake_initial", "plan", "check_unapplied", "prune")


def get_executor(codename: str | None = None):
    inner_cls = get_django_tenants_executor(codename or settings.TENANT_MIGRATION_EXECUTOR)

    def build(args, options):
        return CurrentSchemaSkippingExecutor(inner_cls, args, options)

    return build


def current_schemas(schemas: list[str]) -> set[str]:
    """The schemas among ``schemas`` that have every leaf migration on disk recorded."""
    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
    if not schemas or not leaves:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [list(schemas)],
        )
        migrated = [row[0] for row in cursor.fetchall()]
        current: set[str] = set()
        leaf_values = ", ".join(["(%s, %s)"] * len(leaves))
        leaf_params = [part for leaf in leaves for part in leaf]
        for start in range(0, len(migrated), CHUNK):
            chunk = migrated[start:start + CHUNK]
            selects = " UNION ALL ".join(
                f"SELECT %s AS schema, app, name FROM {connection.ops.quote_name(s)}.django_migrations"
                for s in chunk
            )
            cursor.execute(
                f"SELECT schema FROM ({selects}) recorded "
                f"WHERE (app, name) IN ({leaf_values}) GROUP BY schema HAVING count(*) = %s",
                [*chunk, *leaf_params, len(leaves)],
            )
            current.update(row[0] for row in cursor.fetchall())
    return current


class CurrentSchemaSkippingExecutor:
    def __init__(self, inner_cls, args, options):
        self.inner_cls = inner_cls
        self.args = args
        self.options = options

    def _inner(self, schema_count: int):
        # One schema gains nothing from a process pool, and a Celery prefork worker (a
        # daemonic process: a new store's schema, a spare top-up) may not fork one.
        if schema_count <= 1 or multiprocessing.current_process().daemon:
            return StandardExecutor(self.args, self.options)
        return self.inner_cls(self.args, self.options)

    def _may_skip(self) -> bool:
        if not getattr(settings, "TENANT_MIGRATE_SKIP_CURRENT", True):
            return False
        return not self.args and not any(self.options.get(o) for o in _TARGETED_OPTIONS)

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        public = get_public_schema_name()
        if self._may_skip():
            stores = [t for t in tenants if t != public]
            skip = current_schemas(stores)
            if skip and int(self.options.get("verbosity", 1)) >= 1:
                sys.stdout.write(f"{len(skip)} store schema(s) already current, skipped.\n")
            tenants = [t for t in tenants if t not in skip]
        if tenants:
            self._inner(len(tenants)).run_migrations(tenants=tenants)

    def run_multi_type_migrations(self, tenants):
        return self._inner(len(tenants)).run_multi_type_migrations(tenants=tenants)
