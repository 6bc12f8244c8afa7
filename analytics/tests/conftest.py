"""A small hand-built store: every figure of the dashboard can be counted by hand.

The range is 2026-03-01..2026-03-03 (UTC). Seven conversations:

- ``ana``   (customer)  2 in, 2 out, first answer after 30 s; order paid on 03-01 (100.00)
                        → sale; also a refunded order (20.00), which is no revenue
- ``bruno`` (qualified) 1 in, a failed reply then one after 120 s; handed off on 03-02;
                        an order pending payment → lead
- ``carla`` (new)       1 in, answered after 600 s; a cancelled order → lost
- no lead               1 in, never answered → support
- ``erin``  (engaged)   1 in, answered after 60 s, no order → support
- ``hugo``  (lost)      1 in, never answered → lost
- ``frank`` (customer)  messages, a handoff and a paid order only before the range → not counted

``gina`` buys without a conversation (shipped, 70.00, paid on 03-03): revenue, not conversion.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

START, END = date(2026, 3, 1), date(2026, 3, 3)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def make_lead(name: str, stage: str, created: datetime):
    from leads.models import Lead

    lead = Lead.objects.create(name=name, stage=stage)
    Lead.objects.filter(pk=lead.pk).update(created_at=created)
    return lead


def make_conversation(channel, contact: str, lead=None, handoff_at=None):
    from channels.models import Conversation

    return Conversation.objects.create(
        channel=channel, contact_id=contact, lead=lead, handoff_at=handoff_at,
        status="human" if handoff_at else "bot",
    )


def say(conversation, direction: str, when: datetime, status: str | None = None):
    from channels.models import Message

    return Message.objects.create(
        conversation=conversation, channel=conversation.channel, direction=direction,
        text=f"{direction} at {when:%d %H:%M:%S}", created_at=when,
        status=status or ("received" if direction == "in" else "sent"),
    )


def make_order(number: str, lead, status: str, total: str, created: datetime, paid: datetime | None = None):
    from orders.models import Order

    order = Order.objects.create(number=number, lead=lead, status=status, total=Decimal(total),
                                 subtotal=Decimal(total), paid_at=paid)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    return order


def build_store_a() -> None:
    from agents.models import Agent, TokenUsage
    from channels.models import Channel

    web = Channel.objects.create(kind="api", name="Web")
    ana = make_lead("Ana", "customer", at(1, 9))
    bruno = make_lead("Bruno", "qualified", at(1, 10))
    carla = make_lead("Carla", "new", at(2, 14))
    erin = make_lead("Erin", "engaged", at(3, 8))
    hugo = make_lead("Hugo", "lost", at(15, 8, month=2))
    frank = make_lead("Frank", "customer", at(1, 8, month=2))
    gina = make_lead("Gina", "customer", at(3, 9))

    c = make_conversation(web, "ana", ana)
    say(c, "in", at(1, 10, 0, 0))
    say(c, "out", at(1, 10, 0, 30))
    say(c, "in", at(1, 10, 5))
    say(c, "out", at(1, 10, 6))
    make_order("T-1", ana, "paid", "100.00", at(1, 11, 50), paid=at(1, 12))
    make_order("T-2", ana, "refunded", "20.00", at(1, 13), paid=at(1, 13, 5))

    c = make_conversation(web, "bruno", bruno, handoff_at=at(2, 9))
    say(c, "in", at(1, 11))
    say(c, "out", at(1, 11, 0, 10), status="failed")
    say(c, "out", at(1, 11, 2))
    make_order("T-3", bruno, "pending_payment", "50.00", at(2, 10))

    c = make_conversation(web, "carla", carla)
    say(c, "in", at(2, 15))
    say(c, "out", at(2, 15, 10))
    make_order("T-4", carla, "cancelled", "30.00", at(2, 16))

    c = make_conversation(web, "anonymous")
    say(c, "in", at(3, 8))

    c = make_conversation(web, "erin", erin)
    say(c, "in", at(3, 9))
    say(c, "out", at(3, 9, 1))

    c = make_conversation(web, "hugo", hugo)
    say(c, "in", at(3, 12))

    c = make_conversation(web, "frank", frank, handoff_at=at(28, 10, month=2))
    say(c, "in", at(28, 9, month=2))
    say(c, "out", at(28, 9, 1, month=2))
    say(c, "in", at(4, 0))  # the first instant after the range
    make_order("T-5", frank, "delivered", "500.00", at(20, 10, month=2), paid=at(27, 10, month=2))

    make_order("T-6", gina, "shipped", "70.00", at(3, 10), paid=at(3, 10, 30))

    sales = Agent.objects.create(name="Sales", role="sales")
    usage = [
        (sales, "openai", "gpt-4o-mini", 100, 20, "0.000027", at(1, 10)),
        (sales, "openai", "gpt-4o-mini", 100, 20, "0.000027", at(1, 10, 6)),
        (sales, "offline", "", 0, 0, "0", at(2, 15)),
        (None, "openai", "gpt-4o-mini", 10, 5, "0.000005", at(3, 9)),
        (sales, "openai", "gpt-4o-mini", 999, 999, "1.000000", at(28, 9, month=2)),
    ]
    for agent, provider, model, prompt, completion, cost, when in usage:
        TokenUsage.objects.create(agent=agent, provider=provider, model=model, prompt_tokens=prompt,
                                  completion_tokens=completion, cost=Decimal(cost), at=when)


def build_store_b() -> None:
    """Store B: one busy day inside A's range (none of it may show in A's figures)."""
    from channels.models import Channel

    web = Channel.objects.create(kind="api", name="Web B")
    zoe = make_lead("Zoe", "customer", at(1, 8))
    c = make_conversation(web, "zoe", zoe, handoff_at=at(1, 9))
    for minute in range(5):
        say(c, "in", at(1, 8, minute))
        say(c, "out", at(1, 8, minute, 5))
    make_order("B-1", zoe, "paid", "999.00", at(1, 8, 10), paid=at(1, 8, 20))


@pytest.fixture
def store_a_data(store):
    build_store_a()
    return store
