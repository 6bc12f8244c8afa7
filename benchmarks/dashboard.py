"""How fast the store dashboard answers on a store with a year of data.

    python benchmarks/dashboard.py                       # 400k messages, 40k orders over 365 days
    python benchmarks/dashboard.py --messages 100000 --orders 10000 --days 90 --ranges 90
    python benchmarks/dashboard.py --keep                # keep the database; later: --reuse

Runs in its own throw-away database (``atendo_bench_dash``, ``benchmarks/throwaway_db.py``)
on the app's PostgreSQL server. Provisions one store and fills it with bulk inserts
(conversations of ~10 messages answered within minutes, leads in every stage, orders in
every status, a handoff in ~8% of conversations, a token-usage row per reply) spread over
``--days`` days up to now; runs ANALYZE and the rollup refresh (``refresh_rollups``, timed),
then for each range of ``--ranges`` days ending today times:

- ``dashboard``: ``store_dashboard`` as the API calls it (closed days from the rollups, the
  last days and any stale day live);
- ``live``: ``store_dashboard(use_rollups=False)``, every day from the messages (what it
  cost before the rollups);
- ``floor``: one ``SELECT count(*)`` of the range's messages, the least any dashboard
  over them must do;

and prints p50/p95 of each, the mean CPU time per call (this process plus its database
backend, read from /proc: what a call costs when it does not wait for CPUs other work
holds), the ratio of the dashboard's p95 to the floor's, and checks that the dashboard and
the live figures are equal.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.throwaway_db import database_exists, drop_database, fresh_database  # noqa: E402

BENCH_DB = "atendo_bench_dash"
TARGET_P95_MS = 200.0
BATCH = 5000


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


def _cpu_seconds(backend_pid: int | None) -> float:
    """CPU time of this process plus the database backend serving it (when that runs on
    this machine): what a call costs without waiting for a CPU other work holds."""
    used = time.process_time()
    if backend_pid:
        try:
            fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return used


def timed(call, runs: int, backend_pid: int | None) -> tuple[list[float], float]:
    """Wall-clock milliseconds of each run, and the mean CPU milliseconds per run."""
    call()  # warm-up
    times = []
    cpu_before = _cpu_seconds(backend_pid)
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return times, (_cpu_seconds(backend_pid) - cpu_before) * 1000 / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--days", type=int, default=365, help="days of generated history")
    parser.add_argument("--ranges", default="30,90,365", help="days the dashboard covers, comma-separated")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--live-runs", type=int, default=5, help="runs of the live (no rollups) dashboard")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the store a previous --keep run generated")
    args = parser.parse_args()

    reused = args.reuse and database_exists(BENCH_DB)
    os.environ["DATABASE_URL"] = fresh_database(BENCH_DB, keep_existing=reused)
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

    from analytics.rollups import day_start
    from analytics.selectors import store_dashboard
    from analytics.services import refresh_rollups
    from channels.models import Message
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
            began = time.perf_counter()
            counts = generate(messages=args.messages, orders=args.orders, days=args.days)
            print("generated in {:.1f} s: {}".format(
                time.perf_counter() - began, ", ".join(f"{v} {k}" for k, v in counts.items())))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        began = time.perf_counter()
        refreshed = refresh_rollups()
        print(f"refresh_rollups: {refreshed.days_rolled} days rolled, {refreshed.stale_days_redone} stale days "
              f"redone, through {refreshed.rolled_through}, in {time.perf_counter() - began:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        def count_messages(since, until):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {Message._meta.db_table} "
                               "WHERE created_at >= %s AND created_at < %s", [since, until])
                return cursor.fetchone()[0]

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0] if Path(f"/proc/{os.getpid()}").exists() else None
        end = timezone.localdate()
        zone = timezone.get_current_timezone()
        print(f"{'range':>9} {'what':>9} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8}  notes")
        for days in [int(d) for d in args.ranges.split(",")]:
            start = end - timedelta(days=days - 1)
            since, until = day_start(start, zone), day_start(end + timedelta(days=1), zone)
            fast = store_dashboard(start, end)
            live = store_dashboard(start, end, use_rollups=False)
            rows = {
                "dashboard": timed(partial(store_dashboard, start, end), args.runs, backend_pid),
                "live": timed(partial(store_dashboard, start, end, use_rollups=False), args.live_runs, backend_pid),
                "floor": timed(partial(count_messages, since, until), args.runs, backend_pid),
            }
            floor_p95 = percentile(rows["floor"][0], 95)
            for what, (ms, cpu) in rows.items():
                p95 = percentile(ms, 95)
                if what == "dashboard":
                    note = (f"{p95 / floor_p95:.1f}x the floor; target p95 < {TARGET_P95_MS:.0f} ms: "
                            f"{'met' if p95 < TARGET_P95_MS else 'NOT met'}; "
                            f"{fast.conversations} conversations, {fast.messages_in + fast.messages_out} messages, "
                            f"{fast.orders} orders")
                elif what == "live":
                    note = f"{p95 / floor_p95:.1f}x the floor; same figures as the dashboard: {fast == live}"
                else:
                    note = f"count(*) of {count_messages(since, until)} messages"
                print(f"{days:>5} d {what:>9} {len(ms):>5} {statistics.median(ms):>8.1f} {p95:>8.1f} {cpu:>8.1f}  {note}")
            if fast != live:
                raise SystemExit(f"the rollups disagree with the live figures over {days} days")
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work shares them)")
    finally:
        if not args.keep:
            drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
