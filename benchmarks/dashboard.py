"""How fast the store dashboard answers on a busy store.

    python benchmarks/dashboard.py                                  # 100k messages, 10k orders, 90 days
    python benchmarks/dashboard.py --messages 400000 --orders 40000 --days 365 --range-days 90

Runs in its own throw-away database (``atendo_bench_dash``) on the same PostgreSQL server
as the app (the embedded one unless DATABASE_URL is set). Provisions one store, fills it
with bulk inserts (conversations of ~10 messages answered within minutes, leads in every
stage, orders in every status, a handoff in ~8% of conversations, a token-usage row per
reply) spread over ``--days`` days up to now, runs ANALYZE, then times
``store_dashboard`` over the last ``--range-days`` days ``--runs`` times (after two warm-up
calls) and prints p50/p95 against the target, and the time of each of its queries.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "atendo_bench_dash"
TARGET_P95_MS = 200.0
BATCH = 5000


def _bench_database_url(*, reuse: bool) -> tuple[str, bool]:
    """The throw-away database's URL, and whether it already holds a generated store."""
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        from config import embedded

        base = embedded.database_url()
    server, _, _ = base.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if reuse and exists:
            return f"{server}/{BENCH_DB}", True
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return f"{server}/{BENCH_DB}", False


def _drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    server = os.environ["DATABASE_URL"].rpartition("/")[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _keep_given_timestamps(*models) -> None:
    """Bulk inserts of past data: ``auto_now_add`` would stamp every row with now."""
    for model in models:
        model._meta.get_field("created_at").auto_now_add = False


def generate(*, messages: int, orders: int, days: int, seed: int = 7) -> dict[str, int]:
    """Fill the current store's schema; returns the row counts."""
    from django.utils import timezone

    from agents.models import Agent, TokenUsage
    from channels.models import Channel, Conversation, Message
    from leads.models import Lead, Stage
    from orders.models import Order, Status

    rng = random.Random(seed)
    now = timezone.now()
    span = timedelta(days=days)
    _keep_given_timestamps(Lead, Order, Conversation)

    def moment():
        return now - span * rng.random()

    channels = [Channel.objects.create(kind="whatsapp", name="WhatsApp"),
                Channel.objects.create(kind="api", name="Web")]
    agents = [Agent.objects.create(name="Sales", role="sales", provider="openai", model="gpt-4o-mini"),
              Agent.objects.create(name="Support", role="support", provider="openai", model="deepseek-chat")]

    n_conversations = max(1, messages // 10)
    n_leads = max(1, int(n_conversations * 0.8))
    stages = rng.choices(Stage.values, weights=[30, 30, 15, 20, 5], k=n_leads)
    Lead.objects.bulk_create(
        [Lead(name=f"Lead {i}", stage=stages[i], created_at=moment()) for i in range(n_leads)],
        batch_size=BATCH,
    )
    lead_ids = list(Lead.objects.values_list("pk", flat=True))

    starts = sorted(moment() for _ in range(n_conversations))
    Conversation.objects.bulk_create(
        [
            Conversation(
                channel=channels[i % 2], contact_id=f"55119{i:08d}",
                lead_id=lead_ids[i] if i < n_leads else None, created_at=start,
                last_activity_at=start,
                handoff_at=start + timedelta(minutes=rng.randint(1, 30)) if rng.random() < 0.08 else None,
                status="bot",
            )
            for i, start in enumerate(starts)
        ],
        batch_size=BATCH,
    )
    conversations = list(Conversation.objects.values_list("pk", "created_at"))

    rows, usage = [], []
    per_conversation, extra = divmod(messages, len(conversations))
    for index, (conversation_id, start) in enumerate(conversations):
        when = start
        for k in range(per_conversation + (1 if index < extra else 0)):
            inbound = k % 2 == 0
            when += timedelta(seconds=rng.randint(5, 900) if inbound else rng.randint(2, 300))
            rows.append(Message(
                conversation_id=conversation_id, channel=channels[index % 2],
                direction="in" if inbound else "out", author="" if inbound else "agent",
                text="Oi, vocês têm sapatilha 36?" if inbound else "Temos sim! Quer que eu separe?",
                status="received" if inbound else ("failed" if rng.random() < 0.01 else "delivered"),
                created_at=min(when, now),
            ))
            if not inbound:
                agent = agents[index % 2]
                prompt, completion = rng.randint(300, 2000), rng.randint(20, 200)
                usage.append(TokenUsage(
                    agent=agent, provider="openai", model=agent.model, prompt_tokens=prompt,
                    completion_tokens=completion, cost=Decimal(prompt * 15 + completion * 60) / 10**8,
                    at=min(when, now),
                ))
        if len(rows) >= BATCH:
            Message.objects.bulk_create(rows, batch_size=BATCH)
            TokenUsage.objects.bulk_create(usage, batch_size=BATCH)
            rows, usage = [], []
    Message.objects.bulk_create(rows, batch_size=BATCH)
    TokenUsage.objects.bulk_create(usage, batch_size=BATCH)

    statuses = rng.choices(Status.values, weights=[5, 10, 25, 20, 20, 10, 7, 3], k=orders)
    order_rows = []
    for i, status in enumerate(statuses):
        created = moment()
        total = Decimal(rng.randint(2000, 60000)) / 100
        paid = status in ("paid", "shipped", "delivered", "refunded")
        order_rows.append(Order(
            number=f"B{i:07d}", lead_id=rng.choice(lead_ids), status=status, subtotal=total, total=total,
            created_at=created, paid_at=min(created + timedelta(minutes=rng.randint(1, 120)), now) if paid else None,
        ))
    Order.objects.bulk_create(order_rows, batch_size=BATCH)
    return {
        "leads": Lead.objects.count(), "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(), "orders": Order.objects.count(),
        "token_usage": TokenUsage.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90, help="days of generated history")
    parser.add_argument("--range-days", type=int, default=90, help="days the dashboard covers")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time the store a previous --keep run generated (its own sizes)")
    args = parser.parse_args()

    os.environ["DATABASE_URL"], reused = _bench_database_url(reuse=args.reuse)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TENANT_SPARE_POOL_SIZE"] = "0"
    from config import embedded

    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["CELERY_BROKER_URL"] = redis_url.rsplit("/", 1)[0] + "/15"  # no worker listens
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from analytics.selectors import store_dashboard
    from tenants import services
    from tenants.models import Tenant

    try:
        if not reused:
            call_command("migrate_schemas", shared=True, verbosity=0)
            services.ensure_platform()
            services.provision_store(slug="busy", name="Busy store", owner_email="owner@busy.test")
        connection.set_tenant(Tenant.objects.get(slug="busy"))
        print(f"database: {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{BENCH_DB}")
        if not reused:
            started = time.perf_counter()
            counts = generate(messages=args.messages, orders=args.orders, days=args.days)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE" if connection.get_autocommit() else "ANALYZE")
            print("generated in {:.1f} s: {}".format(
                time.perf_counter() - started, ", ".join(f"{v} {k}" for k, v in counts.items())))

        end = timezone.localdate()
        start = end - timedelta(days=args.range_days - 1)
        query_ms: dict[int, list[float]] = defaultdict(list)
        query_text: dict[int, str] = {}

        def timed(execute, sql, params, many, context):
            position = len(current)
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                current.append(position)
                query_ms[position].append((time.perf_counter() - began) * 1000)
                query_text.setdefault(position, " ".join(sql.split())[:90])

        for _ in range(2):
            store_dashboard(start, end)
        seconds = []
        for _ in range(args.runs):
            current: list[int] = []
            with connection.execute_wrapper(timed):
                began = time.perf_counter()
                dashboard = store_dashboard(start, end)
                seconds.append(time.perf_counter() - began)

        ms = [s * 1000 for s in seconds]
        p50, p95 = statistics.median(ms), percentile(ms, 95)
        print(f"dashboard {start}..{end} ({args.range_days} days): {dashboard.conversations} conversations, "
              f"{dashboard.messages_in + dashboard.messages_out} messages, {dashboard.orders} orders, "
              f"revenue {dashboard.revenue}")
        print(f"store_dashboard  n={len(ms)}  p50={p50:.1f} ms  p95={p95:.1f} ms  max={max(ms):.1f} ms  "
              f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'NOT met'}")
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work shares them)")
        print("its queries (median ms):")
        for position in sorted(query_ms):
            print(f"  {statistics.median(query_ms[position]):7.1f}  {query_text[position]}")
    finally:
        if not args.keep:
            _drop_database()


if __name__ == "__main__":
    main()
