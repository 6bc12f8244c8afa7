"""Every figure of the dashboard, counted by hand on the dataset of ``conftest``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from analytics.errors import InvalidRange
from analytics.selectors import (
    DayFigures,
    Outcomes,
    StageFigures,
    StatusFigures,
    UsageFigures,
    store_dashboard,
)
from analytics.tests.conftest import END, START, build_store_b


def test_conversations_messages_and_first_response(store_a_data):
    dashboard = store_dashboard(START, END)

    assert dashboard.conversations == 6
    assert (dashboard.messages_in, dashboard.messages_out) == (7, 6)
    # 30 s, 60 s, 120 s (the failed reply does not count), 600 s -> median 90 s
    assert dashboard.first_response_median_seconds == 90.0
    assert (dashboard.answered, dashboard.unanswered) == (4, 2)


def test_handoffs_conversion_and_outcomes(store_a_data):
    dashboard = store_dashboard(START, END)

    assert dashboard.handoffs == 1
    assert dashboard.handoff_rate == round(1 / 6, 4)
    assert dashboard.converted_conversations == 1
    assert dashboard.conversion_rate == round(1 / 6, 4)
    assert dashboard.outcomes == Outcomes(sale=1, lead=1, support=2, lost=2)
    assert sum(vars(dashboard.outcomes).values()) == dashboard.conversations


def test_leads_orders_and_revenue(store_a_data):
    dashboard = store_dashboard(START, END)

    assert dashboard.new_leads == 5
    assert dashboard.leads_by_stage == (
        StageFigures("new", 1), StageFigures("engaged", 1), StageFigures("qualified", 1),
        StageFigures("customer", 2), StageFigures("lost", 0),
    )
    assert dashboard.orders == 5
    by_status = {s.status: s for s in dashboard.orders_by_status}
    assert by_status["paid"] == StatusFigures("paid", 1, Decimal("100.00"))
    assert by_status["refunded"] == StatusFigures("refunded", 1, Decimal("20.00"))
    assert by_status["pending_payment"] == StatusFigures("pending_payment", 1, Decimal("50.00"))
    assert by_status["cancelled"] == StatusFigures("cancelled", 1, Decimal("30.00"))
    assert by_status["shipped"] == StatusFigures("shipped", 1, Decimal("70.00"))
    assert by_status["delivered"] == StatusFigures("delivered", 0, Decimal(0))
    # paid on 03-01 and shipped on 03-03; the refunded order and Frank's February order are not
    assert (dashboard.paid_orders, dashboard.revenue) == (2, Decimal("170.00"))


def test_tokens_and_cost_by_agent_and_model(store_a_data):
    dashboard = store_dashboard(START, END)
    sales_id = dashboard.usage[0].agent_id

    assert dashboard.usage == (
        UsageFigures(sales_id, "Sales", "openai", "gpt-4o-mini", 2, 200, 40, Decimal("0.000054")),
        UsageFigures(None, "", "openai", "gpt-4o-mini", 1, 10, 5, Decimal("0.000005")),
        UsageFigures(sales_id, "Sales", "offline", "", 1, 0, 0, Decimal(0)),
    )
    assert (dashboard.prompt_tokens, dashboard.completion_tokens) == (210, 45)
    assert dashboard.cost == Decimal("0.000059")


def test_one_row_per_day_of_the_range(store_a_data):
    dashboard = store_dashboard(START, END)

    assert dashboard.days == (
        DayFigures(date(2026, 3, 1), conversations=2, messages=7, revenue=Decimal("100.00"), handoffs=0),
        DayFigures(date(2026, 3, 2), conversations=1, messages=2, revenue=Decimal(0), handoffs=1),
        DayFigures(date(2026, 3, 3), conversations=3, messages=4, revenue=Decimal("70.00"), handoffs=0),
    )


def test_an_empty_store_has_zeros_not_errors(store):
    dashboard = store_dashboard(date(2026, 1, 1), date(2026, 1, 2))

    assert dashboard.conversations == 0
    assert dashboard.first_response_median_seconds is None
    assert (dashboard.handoff_rate, dashboard.conversion_rate) == (0.0, 0.0)
    assert dashboard.revenue == Decimal(0)
    assert dashboard.usage == ()
    assert [d.messages for d in dashboard.days] == [0, 0]


def test_another_stores_data_is_never_counted(store_a_data, other_store):
    with tenant_context(other_store):
        build_store_b()
        other = store_dashboard(START, END)

    mine = store_dashboard(START, END)

    assert (other.conversations, other.messages_in, other.revenue) == (1, 5, Decimal("999.00"))
    assert (mine.conversations, mine.messages_in, mine.messages_out) == (6, 7, 6)
    assert (mine.handoffs, mine.revenue, mine.paid_orders) == (1, Decimal("170.00"), 2)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "The end is before the start."),
        (date(2025, 1, 1), date(2026, 1, 2), "A range covers at most 366 days."),
    ],
)
def test_a_bad_range_is_refused(store, start, end, message):
    with pytest.raises(InvalidRange) as raised:
        store_dashboard(start, end)
    assert (raised.value.message, raised.value.field) == (message, "end")


def test_first_response_counts_from_the_customers_first_message(store):
    from analytics.tests.conftest import at, make_conversation, say
    from channels.models import Channel

    web = Channel.objects.create(kind="api", name="Web")
    store_first = make_conversation(web, "template")
    say(store_first, "out", at(1, 9))  # the store wrote first: not a response
    say(store_first, "in", at(1, 9, 10))
    say(store_first, "out", at(1, 9, 15))  # 300 s
    late = make_conversation(web, "late")
    say(late, "in", at(3, 23, 59))
    say(late, "out", at(4, 0, 1))  # after the range, within a day: 120 s
    never = make_conversation(web, "never")
    say(never, "in", at(3, 10))
    say(never, "out", at(5, 10))  # two days after the range: not looked for

    dashboard = store_dashboard(START, END)

    assert (dashboard.conversations, dashboard.messages_in, dashboard.messages_out) == (3, 3, 2)
    assert dashboard.first_response_median_seconds == 210.0
    assert (dashboard.answered, dashboard.unanswered) == (2, 1)


def test_the_agents_own_label_decides_the_outcome_a_paid_order_aside(store_a_data):
    from agents.models import ConversationOutcome
    from channels.models import Conversation

    def label(contact: str, outcome: str) -> None:
        conversation = Conversation.objects.get(contact_id=contact)
        ConversationOutcome.objects.create(conversation_id=conversation.pk, outcome=outcome, confidence=Decimal("0.9"))

    label("anonymous", "lost")  # rules alone: support
    label("erin", "sale")       # claimed, but nothing paid: counts as a lead, not a sale
    label("ana", "support")     # paid in the range: a sale whatever the label

    dashboard = store_dashboard(START, END)

    assert dashboard.outcomes == Outcomes(sale=1, lead=2, support=0, lost=3)
    assert dashboard.converted_conversations == 1
