"""The rollups give exactly the figures of the live aggregate: for closed days, for today,
after late changes to days already rolled up, and in another time zone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import ConversationDay, StaleDay, UsageDay
from analytics.rollups import day_sources
from analytics.selectors import store_dashboard
from analytics.services import refresh_rollups
from analytics.tasks import refresh_rollups_in_all_stores
from analytics.tests.conftest import END, START, at, make_conversation, make_order, say


def assert_same_as_live(start: date, end: date):
    rolled, live = store_dashboard(start, end), store_dashboard(start, end, use_rollups=False)
    assert rolled == live
    return rolled


def read_from_rollups(start: date, end: date) -> bool:
    return day_sources(start, end, timezone.get_current_timezone()).live == ()


def test_closed_days_come_from_the_rollups_with_the_live_figures(store_a_data):
    live = store_dashboard(START, END, use_rollups=False)

    refresh_rollups()

    assert read_from_rollups(START, END)
    assert ConversationDay.objects.filter(day__range=(START, END)).count() == 6
    assert UsageDay.objects.filter(day__range=(START, END)).count() == 3
    dashboard = store_dashboard(START, END)
    assert dashboard == live
    assert (dashboard.conversations, dashboard.messages_in, dashboard.messages_out) == (6, 7, 6)
    assert dashboard.first_response_median_seconds == 90.0
    assert (dashboard.prompt_tokens, dashboard.cost) == (210, Decimal("0.000059"))


def test_late_changes_to_rolled_days_show_at_once(store_a_data):
    from agents.models import TokenUsage
    from channels.models import Conversation, Message
    from orders.models import Order

    refresh_rollups()
    assert not StaleDay.objects.exists()

    # Days later: Ana's first reply turns out to have failed, a message of 03-02 arrives
    # late, Bruno's order is paid on 03-03, and a usage row of 03-01 is deleted.
    Message.objects.filter(conversation__contact_id="ana", text="out at 01 10:00:30").update(status="failed")
    say(Conversation.objects.get(contact_id="carla"), "in", at(2, 18))
    Order.objects.filter(number="T-3").update(status="paid", paid_at=at(3, 18))
    TokenUsage.objects.filter(at=at(1, 10)).delete()

    assert sorted(StaleDay.objects.values_list("day", flat=True)) == [date(2026, 3, 1), date(2026, 3, 2)]
    dashboard = assert_same_as_live(START, END)
    # Ana now waited 6 min (10:00 -> 10:06): 60, 120, 360, 600 -> median 240 s
    assert dashboard.first_response_median_seconds == 240.0
    assert dashboard.messages_in == 8
    assert (dashboard.paid_orders, dashboard.revenue) == (3, Decimal("220.00"))
    assert dashboard.outcomes.sale == 2
    assert dashboard.prompt_tokens == 110

    refresh_rollups()

    assert not StaleDay.objects.exists()
    assert read_from_rollups(START, END)
    assert store_dashboard(START, END) == dashboard


def test_today_and_the_last_days_are_read_live(store):
    from channels.models import Channel

    web = Channel.objects.create(kind="api", name="Web")
    now = timezone.now()
    conversation = make_conversation(web, "today")
    say(conversation, "in", now - timedelta(days=6))
    say(conversation, "out", now - timedelta(days=6) + timedelta(seconds=40))
    refresh_rollups()

    say(conversation, "in", now - timedelta(seconds=5))
    say(conversation, "out", now)
    today = timezone.localdate()

    dashboard = assert_same_as_live(today - timedelta(days=9), today)
    assert (dashboard.messages_in, dashboard.messages_out) == (2, 2)
    assert dashboard.days[-1].messages == 2
    assert sum(day.messages for day in dashboard.days) == 4


def test_another_time_zone_gets_its_own_days(store_a_data):
    refresh_rollups()  # in UTC

    with timezone.override("America/Sao_Paulo"):
        dashboard = assert_same_as_live(START, END)  # read live: the rollups are UTC days
        assert [day.messages for day in dashboard.days] == [7, 2, 5]  # 03-04 00:00 UTC is 03-03 21:00 here

        refresh_rollups()

        assert read_from_rollups(START, END)
        assert store_dashboard(START, END) == dashboard


def test_random_store_history_and_late_changes_agree_with_the_live_figures(store):
    """Three weeks of random traffic, rolled up, then random late changes: every range
    agrees with the live aggregate before and after the next refresh."""
    from agents.models import TokenUsage
    from channels.models import Channel, Message
    from leads.models import Lead
    from orders.models import Order

    rng = random.Random(20260301)
    web = Channel.objects.create(kind="api", name="Web")
    now = timezone.now()
    first_day = now - timedelta(days=21)
    leads = [Lead.objects.create(name=f"Lead {n}", stage=rng.choice(["new", "qualified", "lost"]))
             for n in range(8)]
    conversations = [make_conversation(web, f"c{n}", rng.choice([*leads, None])) for n in range(15)]
    for _ in range(160):
        when = first_day + timedelta(seconds=rng.randint(0, 21 * 86400))
        direction = rng.choice(["in", "out"])
        say(rng.choice(conversations), direction, when,
            status=rng.choice(["sent", "failed"]) if direction == "out" else None)
        if direction == "out":
            TokenUsage.objects.create(provider="openai", model=rng.choice(["a", "b"]), prompt_tokens=10,
                                      completion_tokens=2, cost=Decimal("0.001"), at=when)
    for n in range(6):
        make_order(f"R-{n}", rng.choice(leads), "pending_payment", "10.00",
                   first_day + timedelta(days=rng.randint(0, 20)))
    today = timezone.localdate()
    ranges = [(today - timedelta(days=days), today) for days in (2, 7, 14, 30)]
    ranges.append((today - timedelta(days=20), today - timedelta(days=10)))

    refresh_rollups()
    for start, end in ranges:
        assert_same_as_live(start, end)

    messages = list(Message.objects.order_by("?")[:30])
    for message in messages[:10]:
        Message.objects.filter(pk=message.pk).update(status="failed" if message.direction == "out" else "received")
    for message in messages[10:15]:
        message.delete()
    for message in messages[15:20]:
        Message.objects.filter(pk=message.pk).update(created_at=message.created_at - timedelta(days=3))
    for order in Order.objects.all()[:3]:
        Order.objects.filter(pk=order.pk).update(status="paid", paid_at=now - timedelta(days=rng.randint(0, 5)))
    TokenUsage.objects.filter(model="a").update(model="c")

    for start, end in ranges:
        assert_same_as_live(start, end)
    refresh_rollups()
    for start, end in ranges:
        assert_same_as_live(start, end)
    assert read_from_rollups(today - timedelta(days=20), today - timedelta(days=10))


def test_the_beat_task_refreshes_every_store(store_a_data, other_store):
    from django_tenants.utils import tenant_context

    rolled = refresh_rollups_in_all_stores()

    closed = str((datetime.now(UTC) - timedelta(days=3)).date() - timedelta(days=1))
    assert rolled == {"store-a": closed, "store-b": closed}
    assert read_from_rollups(START, END)
    with tenant_context(other_store):
        assert not ConversationDay.objects.exists()


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_refreshing_twice_changes_nothing(store_a_data, zone):
    with timezone.override(zone):
        first = refresh_rollups()
        rows = sorted(ConversationDay.objects.values_list("day", "conversation_id", "messages_in", "messages_out"))
        second = refresh_rollups()

        assert second.rolled_through == first.rolled_through
        assert (second.days_rolled, second.stale_days_redone) == (0, 0)
        assert sorted(ConversationDay.objects.values_list(
            "day", "conversation_id", "messages_in", "messages_out")) == rows
        assert_same_as_live(START, END)


def test_the_demo_store_rolls_up_its_closed_days_idempotently(store_a_data):
    from analytics import demo

    demo.populate()
    demo.populate()

    assert read_from_rollups(START, END)
    assert ConversationDay.objects.filter(day__range=(START, END)).count() == 6
