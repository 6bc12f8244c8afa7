"""Orders per second through the real ``create_order`` service, under contention.

    python benchmarks/orders.py                         # 8 threads x 100 orders per scenario
    python benchmarks/orders.py --threads 16 --orders 200
    python benchmarks/orders.py --processes             # one OS process per worker (no GIL)

Runs in its own throw-away database (``atendo_bench_orders``) on the same PostgreSQL
server as the app (the embedded one unless DATABASE_URL is set), with one store. Each
scenario runs ``--threads`` threads, each with its own connection, each creating
``--orders`` one-item orders (stock reserved with a row lock, items, history, a lead
event) as fast as it can:

- hot: every order takes one unit of the same product (all threads queue on its row lock);
- distinct: each thread orders its own product (no shared row).

Prints orders/s for both and the ratio distinct/hot, and checks nothing was oversold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_bench_orders"

from benchmarks.throwaway_db import drop_database, fresh_database  # noqa: E402


def _process_worker(store_id, product_id, lead_id, orders, barrier, out) -> None:
    from django.db import connection, connections

    from orders import services
    from tenants.models import Tenant

    connections.close_all()  # never share the parent's socket
    connection.set_tenant(Tenant.objects.get(pk=store_id))
    latencies = []
    barrier.wait()
    for _ in range(orders):
        started = time.perf_counter()
        services.create_order(lead_id, [(product_id, 1)], "benchmark")
        latencies.append(time.perf_counter() - started)
    connection.close()
    out.put(latencies)


def run_processes(
    store, product_for_thread, leads, workers: int, orders: int
) -> tuple[float, list[float]]:
    """The same with one OS process per worker (as gunicorn/Celery run): no GIL between them."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    out = ctx.Queue()
    pool = [
        ctx.Process(
            target=_process_worker,
            args=(store.pk, product_for_thread(i), leads[i], orders, barrier, out),
        )
        for i in range(workers)
    ]
    for process in pool:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    flat = [x for _ in pool for x in out.get(timeout=600)]
    elapsed = time.perf_counter() - started
    for process in pool:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a benchmark process failed (exit {process.exitcode})")
    return len(flat) / elapsed, flat


def run(
    store, product_for_thread, leads: list[int], threads: int, orders: int
) -> tuple[float, list[float]]:
    """Returns (orders per second over the whole run, per-order latencies in seconds)."""
    from django.db import connection

    from orders import services

    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        connection.set_tenant(store)
        product_id = product_for_thread(i)
        try:
            barrier.wait()
            for _ in range(orders):
                started = time.perf_counter()
                services.create_order(leads[i], [(product_id, 1)], "benchmark")
                latencies[i].append(time.perf_counter() - started)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    flat = [x for per_thread in latencies for x in per_thread]
    return len(flat) / elapsed, flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--orders", type=int, default=100, help="orders per thread per scenario"
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="one process per worker instead of threads",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the benchmark database"
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["CELERY_BROKER_URL"] = (
        redis_url.rsplit("/", 1)[0] + "/15"
    )  # no worker listens there
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Product
    from leads.services import ensure_lead
    from tenants import services as tenant_services
    from tenants.models import Tenant

    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        tenant_services.ensure_platform()
        provisioned = tenant_services.provision_store(
            slug="bench-shop", name="Bench shop", owner_email="owner@bench.test"
        )
        store = Tenant.objects.get(pk=provisioned.tenant_id)
        connection.set_tenant(store)
        total = args.threads * args.orders
        leads = [
            ensure_lead("whatsapp", f"551190000{i:04d}").pk for i in range(args.threads)
        ]
        hot = Product.objects.create(
            sku="HOT", name="Hot product", price=Decimal("99.90"), stock_quantity=total
        )
        distinct = [
            Product.objects.create(
                sku=f"D-{i}",
                name=f"Product {i}",
                price=Decimal("99.90"),
                stock_quantity=args.orders,
            )
            for i in range(args.threads)
        ]
        # Warm up each code path once (imports, prepared plans) outside the measurement.
        warm = Product.objects.create(
            sku="WARM", name="Warm-up", price=Decimal(1), stock_quantity=10
        )
        run(store, lambda i: warm.pk, leads[:1], 1, 5)

        measure = run_processes if args.processes else run
        hot_rate, hot_lat = measure(
            store, lambda i: hot.pk, leads, args.threads, args.orders
        )
        distinct_rate, distinct_lat = measure(
            store, lambda i: distinct[i].pk, leads, args.threads, args.orders
        )

        connection.set_tenant(store)
        assert Product.objects.get(pk=hot.pk).stock_quantity == 0
        assert all(Product.objects.get(pk=p.pk).stock_quantity == 0 for p in distinct)

        def ms(xs, q):
            return statistics.quantiles(xs, n=100)[q - 1] * 1000

        print(
            f"database: {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{BENCH_DB}"
        )
        workers = "processes" if args.processes else "threads"
        print(
            f"{args.threads} {workers} x {args.orders} orders per scenario, one item per order, real create_order"
        )
        print(
            f"hot product (one row, all workers) {hot_rate:8.1f} orders/s   p50 {ms(hot_lat, 50):6.1f} ms  p95 {ms(hot_lat, 95):6.1f} ms"
        )
        print(
            f"distinct products (one per worker) {distinct_rate:8.1f} orders/s   p50 {ms(distinct_lat, 50):6.1f} ms  p95 {ms(distinct_lat, 95):6.1f} ms"
        )
        print(
            f"ratio distinct/hot: {distinct_rate / hot_rate:.2f}x   (no oversell: every stock ended at exactly 0)"
        )
    finally:
        if not args.keep:
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
