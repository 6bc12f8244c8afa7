"""Requests/s and p50/p99 latency of the WhatsApp webhook, next to a bare Django view.

    python benchmarks/webhook_ingest.py                    # 2000 requests per target, 4 workers, 4 clients
    python benchmarks/webhook_ingest.py --requests 5000 --concurrency 16 --workers 8

Runs in its own throw-away database (``atendo_bench_webhooks``) on the app's PostgreSQL
server and Redis database 14, with one store and one WhatsApp channel. A gunicorn server
(``--workers`` sync workers) serves the real platform URLs plus ``/bench/bare`` (a view
that only reads the body, behind the same middleware). After a warm-up, load processes
on loopback POST ``--requests`` to each target, in alternating rounds (webhook, bare,
webhook, ...) so a change in the machine's load during the run hits both alike:

- webhook: ``POST /webhooks/meta/`` with Meta's inbound text payload, a new message id
  each time, signed (X-Hub-Signature-256): verify, parse, route by phone_number_id, store
  the delivery in the store's inbox and wake its drain (the work the request does);
- bare: the same bodies to ``/bench/bare``.

No Celery worker runs while the requests are timed. Then one starts (a real worker on
the same broker) and the benchmark times how long it takes to turn every acknowledged
delivery into its lead, conversation and message (the inbox's drain), and checks that
every acknowledged message was stored exactly once.

Prints both targets, the throughput ratio and whether the targets hold (p99 under 25 ms,
at least half the bare view's throughput), then the drain's rate.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.throwaway_db import drop_database, fresh_database  # noqa: E402

BENCH_DB = "atendo_bench_webhooks"
APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "1122334455667"
FIXTURE = ROOT / "channels" / "tests" / "fixtures" / "whatsapp" / "inbound_text.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bodies(worker: int, count: int) -> list[tuple[bytes, str]]:
    template = json.loads(FIXTURE.read_text())
    out = []
    stamp = time.time_ns()
    for i in range(count):
        payload = copy.deepcopy(template)
        value = payload["entry"][0]["changes"][0]["value"]
        contact = f"55119{(worker * 7919 + i) % 500:08d}"
        value["contacts"][0]["wa_id"] = contact
        value["messages"][0].update({"id": f"wamid.BENCH-{worker}-{i}-{stamp}", "from": contact,
                                     "text": {"body": f"mensagem {i}"}})
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        out.append((body, signature))
    return out


def _load(port: int, path: str, per_client: int, max_seconds: float, threads: int, worker: int, queue) -> None:
    """One load process: ``threads`` closed-loop clients, ``per_client`` requests each
    (or until ``max_seconds``). Reports latencies, errors and its wall-clock span."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    # Bodies are built and signed before the clock starts.
    prepared = [_bodies(worker * 1000 + n, per_client) for n in range(threads)]
    started_at = time.monotonic()
    deadline = started_at + max_seconds

    def client(n: int) -> None:
        nonlocal errors
        for body, signature in prepared[n]:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", path, body=body, headers={
                    "Host": "localhost", "Content-Type": "application/json", "X-Hub-Signature-256": signature})
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    queue.put((latencies, errors, started_at, time.monotonic()))


def _run(port: int, path: str, requests: int, max_seconds: float, concurrency: int, processes: int) -> dict:
    """``requests`` POSTs to ``path`` from ``concurrency`` clients in ``processes``."""
    queue = multiprocessing.Queue()
    per_process = max(1, concurrency // processes)
    per_client = max(1, requests // (per_process * processes))
    procs = [multiprocessing.Process(target=_load, args=(port, path, per_client, max_seconds, per_process, w, queue))
             for w in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return {
        "latencies": [x for r in results for x in r[0]],
        "errors": sum(r[1] for r in results),
        "seconds": max(r[3] for r in results) - min(r[2] for r in results),
    }


def _summary(runs: list[dict]) -> dict:
    latencies = sorted(x for r in runs for x in r["latencies"])
    seconds = sum(r["seconds"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    if not latencies:
        return {"requests": 0, "errors": errors, "rps": 0.0, "p50": float("nan"), "p99": float("nan")}
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per target (split over the rounds)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating webhook/bare rounds (a load drift hits both targets alike)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap on each round")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="concurrent clients (default: one per worker, so latency is service time, not queueing)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    database_url = fresh_database(BENCH_DB)
    from config import embedded

    redis_url = (os.environ.get("REDIS_URL") or embedded.redis_url()).rsplit("/", 1)[0] + "/14"
    env = dict(
        os.environ, PYTHONWARNINGS="ignore", DATABASE_URL=database_url, REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url,
        DJANGO_SETTINGS_MODULE="benchmarks.webhook_settings", TENANT_SPARE_POOL_SIZE="0",
        CHANNELS_META_APP_SECRET=APP_SECRET, CHANNELS_BURST_SECONDS="3600", DEBUG="false",
    )
    os.environ.update(env)
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    import redis
    from django.core.management import call_command
    from django.db import connection

    from channels import services as channel_services
    from channels.models import InboundEvent, Message
    from tenants import services as tenant_services
    from tenants.models import Tenant

    server = None
    try:
        call_command("migrate_schemas", shared=True, verbosity=0)
        tenant_services.ensure_platform()
        provisioned = tenant_services.provision_store(
            slug="bench-webhooks", name="Bench webhooks", owner_email="owner@bench.test")
        store = Tenant.objects.get(pk=provisioned.tenant_id)
        connection.set_tenant(store)
        channel_services.create_channel(kind="whatsapp", name="WhatsApp", config={
            "phone_number_id": PHONE_NUMBER_ID, "access_token": "unused"})
        connection.set_schema_to_public()
        connection.close()

        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--chdir", str(ROOT),
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--log-level", "warning"],
            env=env, cwd=ROOT,
        )
        deadline = time.monotonic() + 120  # a loaded machine imports slowly
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/bench/bare", headers={"Host": "localhost"})
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        # Warm every worker (imports, connections, cached routes) before measuring.
        warm = _run(port, "/webhooks/meta/", 200, 30, args.concurrency, args.processes)
        _run(port, "/bench/bare", 200, 30, args.concurrency, args.processes)
        per_round = max(1, args.requests // args.rounds)
        webhook_runs, bare_runs = [], []
        for _ in range(args.rounds):
            webhook_runs.append(_run(port, "/webhooks/meta/", per_round, args.max_seconds, args.concurrency,
                                     args.processes))
            bare_runs.append(_run(port, "/bench/bare", per_round, args.max_seconds, args.concurrency, args.processes))
        webhook, bare = _summary(webhook_runs), _summary(bare_runs)
        connection.set_tenant(store)
        pending = InboundEvent.objects.filter(processed=False).count()
        connection.set_schema_to_public()

        # Now the inbox's worker: how fast the acknowledged deliveries become messages.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--queues", "webhooks",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--hostname", "bench-inbox@%h"],
            env=env, cwd=ROOT,
        )
        try:
            connection.set_tenant(store)
            drain_started = time.monotonic()
            drain_deadline = drain_started + 600
            while InboundEvent.objects.filter(processed=False, failed_at__isnull=True).exists():
                if time.monotonic() > drain_deadline or worker.poll() is not None:
                    break
                time.sleep(0.05)
            drain_seconds = time.monotonic() - drain_started
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        stored = Message.objects.count()
        acknowledged = len(warm["latencies"]) + webhook["requests"]
        failed = InboundEvent.objects.exclude(error="").count()

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.workers} gunicorn sync workers, {args.concurrency} clients in {args.processes} processes, "
              f"{args.rounds} alternating rounds, loopback; {os.cpu_count()} CPUs, load average {load}")
        print(f"{'target':<10}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
        for name, r in (("webhook", webhook), ("bare", bare)):
            print(f"{name:<10}{r['requests']:>10}{r['errors']:>8}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}")
        ratio = webhook["rps"] / bare["rps"] if bare["rps"] else float("nan")
        print(f"webhook/bare throughput: {ratio:.2f}")
        print(f"targets: p99 < 25 ms {'OK' if webhook['p99'] < 25 else 'MISSED'}; "
              f"throughput >= 0.5 x bare {'OK' if ratio >= 0.5 else 'MISSED'}")
        print(f"inbox after the timed rounds: {pending} deliveries waiting for the worker")
        print(f"drain (1 Celery worker, --pool solo): {pending} deliveries in {drain_seconds:.1f} s = "
              f"{pending / drain_seconds:.0f}/s (worker start-up included)")
        print(f"stored messages: {stored} of {acknowledged} acknowledged (warm-up included) "
              f"{'(all, once each)' if stored == acknowledged else '(MISMATCH)'}; "
              f"deliveries with an error: {failed}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis.Redis.from_url(redis_url).flushdb()
        if not args.keep:
            connection.set_schema_to_public()
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
