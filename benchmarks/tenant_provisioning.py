"""How long a new store takes to be ready: Atendo's spare-schema claim vs migration replay.

    python benchmarks/tenant_provisioning.py                # 50 stores
    python benchmarks/tenant_provisioning.py --tenants 1000 # 1000 stores (slow: spares are migrated)

Runs in its own throw-away database (``atendo_bench``) on the same PostgreSQL server as
the app (the embedded one unless DATABASE_URL is set). For each of N stores it measures
``provision_store`` end to end (schema, row, domain, owner with a set-password link),
with the spare pool topped up between claims, untimed, as the Celery task does in
production. The peer is the same service with an empty pool, which falls back to
replaying every migration, measured in the same run. Then a no-op ``migrate_schemas``
over every schema. Prints p50/p95 per store and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_bench"

from benchmarks.throwaway_db import fresh_database  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<38} n={len(ms):>5}  p50={statistics.median(ms):8.1f} ms  "
        f"p95={percentile(ms, 95):8.1f} ms  max={max(ms):8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=50, help="stores provisioned by Atendo")
    parser.add_argument(
        "--replay", type=int, default=None,
        help="stores provisioned by migration replay (default: min(tenants, 50))",
    )
    args = parser.parse_args()
    replay_n = args.replay if args.replay is not None else min(args.tenants, 50)

    os.environ["DATABASE_URL"] = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"  # the benchmark tops up the pool itself
    # Top-up requests the service enqueues go to a Redis database no worker listens on.
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["CELERY_BROKER_URL"] = redis_url.rsplit("/", 1)[0] + "/15"
    import logging

    import django

    django.setup()
    logging.getLogger("tenants").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from tenants import services

    call_command("migrate_schemas", shared=True, verbosity=0)
    services.ensure_platform()
    migrations = len(MigrationLoader(connection).graph.nodes)
    print(f"database: {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{BENCH_DB}")
    print(f"migrations in the project: {migrations}")

    atendo: list[float] = []
    spare_build: list[float] = []
    for i in range(args.tenants):
        started = time.perf_counter()
        services.top_up_spare_schemas(target=1)  # the background worker's job, untimed
        spare_build.append(time.perf_counter() - started)
        store = services.provision_store(
            slug=f"shop-{i:05d}", name=f"Shop {i}", owner_email=f"owner{i}@shop.test"
        )
        assert store.from_spare, "the pool was topped up; the claim must use a spare"
        atendo.append(store.seconds)
        if (i + 1) % 100 == 0:
            print(f"  ... {i + 1} stores", flush=True)

    replay: list[float] = []
    for i in range(replay_n):
        store = services.provision_store(
            slug=f"replay-{i:05d}", name=f"Replay {i}", owner_email=f"owner{i}@replay.test"
        )
        assert not store.from_spare
        replay.append(store.seconds)

    print()
    print(summary("Atendo (claim a spare schema)", atendo))
    tenth = max(1, args.tenants // 10)
    print(summary("  first 10% of stores", atendo[:tenth]))
    print(summary("  last 10% of stores", atendo[-tenth:]))
    print(summary("peer: migration replay", replay))
    print(summary("background: build one spare schema", spare_build))
    p50_ratio = statistics.median(replay) / statistics.median(atendo)
    p95_ratio = percentile(replay, 95) / percentile(atendo, 95)
    print(f"ratio replay/Atendo: p50 {p50_ratio:.1f}x, p95 {p95_ratio:.1f}x", flush=True)
    schemas = args.tenants + replay_n + 1
    from django.conf import settings

    started = time.perf_counter()
    call_command("migrate_schemas", verbosity=0, interactive=False)
    noop_migrate = time.perf_counter() - started
    settings.TENANT_MIGRATE_SKIP_CURRENT = False  # the peer: migrate runs in every schema
    started = time.perf_counter()
    call_command("migrate_schemas", verbosity=0, interactive=False)
    noop_migrate_peer = time.perf_counter() - started

    from config.celery import app

    app.control.purge()
    print(f"no-op migrate_schemas over {schemas} schemas: {noop_migrate:.2f} s "
          f"({noop_migrate / schemas * 1000:.1f} ms per schema); django-tenants running "
          f"migrate in each ({settings.TENANT_MIGRATION_EXECUTOR}): {noop_migrate_peer:.1f} s "
          f"({noop_migrate_peer / noop_migrate:.0f}x)")


if __name__ == "__main__":
    main()
