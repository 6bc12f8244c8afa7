"""Requests/s and p50/p99 latency of the WhatsApp webhook, next to a bare Django view.

    python benchmarks/webhook_ingest.py                    # 10 s per target, 16 connections
    python benchmarks/webhook_ingest.py --seconds 20 --concurrency 32 --workers 8

Runs in its own throw-away database (``atendo_bench_webhooks``) on the app's PostgreSQL
server and Redis database 14 (no Celery worker listens there), with one store and one
WhatsApp channel. A gunicorn server (``--workers`` sync workers) serves the real
platform URLs plus ``/bench/bare`` (a view that only reads the body, behind the same
middleware). Load processes on loopback POST for ``--seconds`` to each target:

- webhook: ``POST /webhooks/meta/`` with Meta's inbound text payload, a new message id
  each time, signed (X-Hub-Signature-256): verify, route by phone_number_id, store the raw
  event, the lead, conversation and message, and enqueue the burst's close on Redis;
- bare: the same bodies to ``/bench/bare``.

Prints both, the throughput ratio and whether the targets hold (p99 under 25 ms, at
least half the bare view's throughput), then checks every acknowledged message was stored.
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
BENCH_DB = "atendo_bench_webhooks"
APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "1122334455667"
FIXTURE = ROOT / "channels" / "tests" / "fixtures" / "whatsapp" / "inbound_text.json"


def _server_url(base: str) -> str:
    return base.rpartition("/")[0]


def _database_url() -> str:
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        from config import embedded

        base = embedded.database_url()
    with psycopg.connect(f"{_server_url(base)}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return f"{_server_url(base)}/{BENCH_DB}"


def _drop_database(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{_server_url(url)}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


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


def _load(port: int, path: str, seconds: float, threads: int, worker: int, queue) -> None:
    """One load process: ``threads`` closed-loop clients for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    # Bodies are built and signed before the clock starts.
    prepared = [_bodies(worker * 1000 + n, 1500) for n in range(threads)]
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        nonlocal errors
        bodies = prepared[n]
        i = 0
        while time.monotonic() < deadline and i < len(bodies):
            body, signature = bodies[i]
            i += 1
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
    queue.put((latencies, errors))


def _run(port: int, path: str, seconds: float, concurrency: int, processes: int) -> dict:
    queue = multiprocessing.Queue()
    per_process = max(1, concurrency // processes)
    procs = [multiprocessing.Process(target=_load, args=(port, path, seconds, per_process, w, queue))
             for w in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
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
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--processes", type=int, default=4, help="load generator processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    database_url = _database_url()
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
    from channels.models import Message
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
        deadline = time.monotonic() + 30
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
        _run(port, "/webhooks/meta/", 2, args.concurrency, args.processes)
        _run(port, "/bench/bare", 1, args.concurrency, args.processes)

        connection.set_tenant(store)
        stored_before = Message.objects.count()
        connection.set_schema_to_public()
        webhook = _run(port, "/webhooks/meta/", args.seconds, args.concurrency, args.processes)
        bare = _run(port, "/bench/bare", args.seconds, args.concurrency, args.processes)
        connection.set_tenant(store)
        stored = Message.objects.count() - stored_before

        print(f"{args.workers} gunicorn sync workers, {args.concurrency} clients in {args.processes} processes, "
              f"{args.seconds:g} s per target, loopback")
        print(f"{'target':<10}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
        for name, r in (("webhook", webhook), ("bare", bare)):
            print(f"{name:<10}{r['requests']:>10}{r['errors']:>8}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}")
        ratio = webhook["rps"] / bare["rps"] if bare["rps"] else float("nan")
        print(f"webhook/bare throughput: {ratio:.2f}")
        print(f"targets: p99 < 25 ms {'OK' if webhook['p99'] < 25 else 'MISSED'}; "
              f"throughput >= 0.5 x bare {'OK' if ratio >= 0.5 else 'MISSED'}")
        print(f"stored messages: {stored} of {webhook['requests']} acknowledged "
              f"{'(all)' if stored == webhook['requests'] else '(MISMATCH)'}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis.Redis.from_url(redis_url).flushdb()
        if not args.keep:
            connection.set_schema_to_public()
            _drop_database(database_url)


if __name__ == "__main__":
    main()
