"""migrate_schemas migrates only the stores that need it."""

from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tenants.migration_executor import current_schemas


def test_migrate_schemas_skips_current_stores_and_migrates_the_rest(public_schema, capsys):
    assert current_schemas(["store_a", "store_b"]) == {"store_a", "store_b"}
    # The newest migration of a shared-only app: recorded in store schemas, never run there.
    _, latest = MigrationLoader(None).graph.leaf_nodes("tenants")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM store_b.django_migrations WHERE app = 'tenants' AND name = %s", [latest]
        )
    assert current_schemas(["store_a", "store_b"]) == {"store_a"}

    call_command("migrate_schemas", verbosity=1)

    out = capsys.readouterr().out
    assert "already current, skipped" in out
    assert "store_b" in out and f"Applying tenants.{latest}" in out
    assert "[standard:store_a]" not in out
    assert current_schemas(["store_a", "store_b"]) == {"store_a", "store_b"}


def test_a_schema_without_migrations_table_is_not_current(public_schema):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA empty_one")
    assert current_schemas(["empty_one", "store_a"]) == {"store_a"}


def test_one_schema_or_a_daemonic_worker_never_uses_a_process_pool(monkeypatch):
    """Celery's prefork workers are daemonic and may not fork: a new store's schema built
    there (a spare top-up) must migrate in-process."""
    import multiprocessing

    from django_tenants.migration_executors import MultiprocessingExecutor, StandardExecutor

    from tenants.migration_executor import get_executor

    executor = get_executor("multiprocessing")((), {})
    assert isinstance(executor._inner(1), StandardExecutor)
    assert isinstance(executor._inner(3), MultiprocessingExecutor)
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    assert isinstance(executor._inner(3), StandardExecutor)
