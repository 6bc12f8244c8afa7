"""The store's dashboard: figures over a range of days, computed by aggregate queries.

``store_dashboard(start, end)`` runs in the current store's schema (the caller's
connection, as every store read does) and reads the models of ``channels``, ``orders``,
``leads`` and ``agents``; nothing imports ``analytics``. Every figure comes from aggregate
queries (two statements, after reading which days are rolled up): closed days of messages
and token usage come from the daily rollups (``analytics.rollups``), every other day live,
with the same SQL, so the figures never depend on whether the rollups are current. Python
only shapes a handful of result rows.

Definitions (what a caller may rely on):

- **Range**: from ``start`` 00:00 to the end of ``end`` (inclusive) in the current time
  zone (``TIME_ZONE``); days of the series are days of that zone.
- **Conversation**: a conversation with at least one message (either way) in the range.
  Per day: conversations with a message that day.
- **Messages in/out**: messages created in the range, by direction.
- **First response time**: per conversation, from its first inbound message in the range
  to the first outbound message at or after it that did not fail (looked for until a day
  after ``end``); the median over the conversations that got one (``percentile_cont``).
  ``unanswered`` counts conversations with an inbound message in the range and no such
  reply.
- **Handoffs**: conversations whose ``handoff_at`` falls in the range (a conversation
  handed off twice counts once, on its latest handoff: that is what ``Conversation``
  keeps). Handoff rate: handed-off conversations among the range's conversations /
  conversations.
- **Leads by stage**: leads created in the range, by their current stage.
- **Orders by status**: orders created in the range, by current status, with their totals.
- **Revenue**: the totals of orders paid in the range (``paid_at``) that are still paid,
  shipped or delivered (a refund takes it back). Orders are summed as they are: a store
  sells in one currency.
- **Conversion**: conversations whose lead has an order paid in the range (as above) /
  conversations.
- **Outcome** of each conversation, the first rule that matches:
  ``sale`` its lead has an order paid in the range;
  the agent's own label (``report_outcome``) when it gave one: ``support``, ``lead`` or
  ``lost`` as labelled, and ``sale`` as ``lead`` (a sale counts once it is paid);
  ``lost`` its lead's stage is ``lost``, or an order of the lead created in the range was
  cancelled or expired and none is still open;
  ``lead`` its lead has an open order (draft, pending payment) created in the range or
  is ``qualified``;
  ``support`` everything else (questions answered, handoffs, no lead). The four add up
  to ``conversations``.
- **Usage**: token usage rows (``TokenUsage.at``) in the range, by agent, provider, model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent, ConversationOutcome
from analytics.errors import InvalidRange
from analytics.rollups import (
    MESSAGE_DAYS,
    ROLLED_MESSAGE_DAYS,
    ROLLED_USAGE_DAYS,
    USAGE_DAYS,
    DaySources,
    day_sources,
    time_filter,
)
from channels.models import Conversation, Direction, Message, MessageStatus
from leads.models import Lead, Stage
from orders.models import Order, Status

# Orders that count as sold: paid and not given back.
PAID_STATUSES = (Status.PAID, Status.SHIPPED, Status.DELIVERED)
OPEN_STATUSES = (Status.DRAFT, Status.PENDING_PAYMENT)
DROPPED_STATUSES = (Status.CANCELLED, Status.EXPIRED)
OUTCOMES = ("sale", "lead", "support", "lost")
MAX_DAYS = 366


@dataclass(frozen=True)
class StageFigures:
    stage: str
    leads: int


@dataclass(frozen=True)
class StatusFigures:
    status: str
    orders: int
    total: Decimal


@dataclass(frozen=True)
class Outcomes:
    sale: int
    lead: int
    support: int
    lost: int


@dataclass(frozen=True)
class UsageFigures:
    agent_id: int | None
    agent: str
    provider: str
    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


@dataclass(frozen=True)
class DayFigures:
    day: date
    conversations: int
    messages: int
    revenue: Decimal
    handoffs: int


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    timezone: str
    conversations: int
    messages_in: int
    messages_out: int
    first_response_median_seconds: float | None
    answered: int
    unanswered: int
    handoffs: int
    handoff_rate: float
    new_leads: int
    leads_by_stage: tuple[StageFigures, ...]
    orders: int
    orders_by_status: tuple[StatusFigures, ...]
    paid_orders: int
    revenue: Decimal
    converted_conversations: int
    conversion_rate: float
    outcomes: Outcomes
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    usage: tuple[UsageFigures, ...]
    days: tuple[DayFigures, ...]


def check_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidRange("The end is before the start.", field="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidRange(f"A range covers at most {MAX_DAYS} days.", field="end")


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The message statement's CTEs carry no statistics: the planner guesses 200 conversations
# where there are thousands, and picks an index lookup per conversation and a sort-based
# grouping that spills. Hash joins and in-memory hash aggregates are what it needs; these
# settings are set for this statement only (set_config(..., is_local) in a transaction, and
# put back afterwards for a caller already inside one).
PLANNER_SETTINGS = {"work_mem": "32MB", "enable_nestloop": "off"}


def _fetch_with_planner_settings(sql: str, params: dict) -> list[tuple]:
    settings = [item for pair in PLANNER_SETTINGS.items() for item in pair]
    # Set "local" settings end with the transaction: only a caller already inside one
    # needs them put back (one round trip fewer for the API's autocommit requests).
    outer = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outer:
            cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(PLANNER_SETTINGS)),
                           list(PLANNER_SETTINGS))
            before = [item for pair in zip(PLANNER_SETTINGS, cursor.fetchone(), strict=True) for item in pair]
        cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(PLANNER_SETTINGS)), settings)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if outer:
            cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(PLANNER_SETTINGS)), before)
    return rows


def store_dashboard(start: date, end: date, *, use_rollups: bool = True) -> Dashboard:
    """The current store's figures from ``start`` to ``end``, both days included.

    Read-only, no locks. Raises ``InvalidRange`` for an end before the start or a range
    over ``MAX_DAYS`` days. See the module docstring for each figure's rule. The figures
    are the same with or without the rollups (``use_rollups=False`` reads every day from
    the messages and usage rows): days not rolled up yet or marked stale are read live.
    """
    check_range(start, end)
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    params = {
        "since": since, "until": until, "reply_until": until + timedelta(days=1),
        "start": start, "end": end, "tz": str(zone),
        "in": Direction.IN.value, "out": Direction.OUT.value, "failed": MessageStatus.FAILED.value,
        "paid": [s.value for s in PAID_STATUSES], "open": [s.value for s in OPEN_STATUSES],
        "dropped": [s.value for s in DROPPED_STATUSES],
        "lost": Stage.LOST.value, "qualified": Stage.QUALIFIED.value,
    }
    tables = {
        "message": Message._meta.db_table, "conversation": Conversation._meta.db_table,
        "order": Order._meta.db_table, "lead": Lead._meta.db_table,
        "outcome": ConversationOutcome._meta.db_table,
    }

    sources = day_sources(start, end, zone, use_rollups=use_rollups)
    figures = _figures(tables, params, sources)
    leads = figures["leads"]
    by_status = figures["by_status"]
    usage = _usage(params, sources)

    total = figures["conversations"]
    outcomes = Outcomes(**{name: figures[name] for name in OUTCOMES})
    return Dashboard(
        start=start,
        end=end,
        timezone=str(zone),
        conversations=total,
        messages_in=figures["messages_in"],
        messages_out=figures["messages_out"],
        first_response_median_seconds=figures["median"],
        answered=figures["answered"],
        unanswered=figures["unanswered"],
        handoffs=figures["handoffs"],
        handoff_rate=_rate(figures["handed_off"], total),
        new_leads=sum(leads.values()),
        leads_by_stage=tuple(StageFigures(stage, leads.get(stage, 0)) for stage in Stage.values),
        orders=sum(row["n"] for row in by_status.values()),
        orders_by_status=tuple(
            StatusFigures(status, row["n"], row["amount"])
            for status in Status.values
            for row in [by_status.get(status, {"n": 0, "amount": Decimal(0)})]
        ),
        paid_orders=sum(row["sold"] for row in by_status.values()),
        revenue=sum((row["revenue"] for row in by_status.values()), Decimal(0)),
        converted_conversations=outcomes.sale,
        conversion_rate=_rate(outcomes.sale, total),
        outcomes=outcomes,
        prompt_tokens=sum(u.prompt_tokens for u in usage),
        completion_tokens=sum(u.completion_tokens for u in usage),
        cost=sum((u.cost for u in usage), Decimal(0)),
        usage=usage,
        days=figures["days"],
    )


def _figures(tables: dict, params: dict, sources: DaySources) -> dict:
    """Everything but usage in one statement. The range's messages come grouped by
    (conversation, day): closed days from the rollups, the others live (``sources``); the
    conversation figures, the per-day series and the first-response wait are all read
    from that small set. The range's orders are read once, for outcomes, revenue and
    orders by status.

    The reply to a conversation's first inbound message is its first reply of the range
    when that came after it; only the others (a store that wrote first, a reply after the
    range's end, no reply) are looked up, by index, up to a day after the range."""
    sql = f"""
        WITH by_day AS (
            SELECT conversation_id, day, messages_in AS n_in, messages_out AS n_out, first_in, first_out
              FROM ({{rolled}}) rolled
            UNION ALL
            SELECT conversation_id, day, n_in, n_out, first_in, first_out
              FROM ({{live}}) live
        ),
        active AS (
            SELECT conversation_id, sum(n_in) AS n_in, sum(n_out) AS n_out,
                   min(first_in) AS first_in, min(first_out) AS first_out
              FROM by_day
             GROUP BY 1
        ),
        replies AS (
            -- The conversation's first reply of the range, when it came after the first
            -- inbound message (the common case); else one indexed look-up for the reply.
            SELECT extract(epoch FROM coalesce(
                       CASE WHEN a.first_out >= a.first_in THEN a.first_out END,
                       (SELECT min(m.created_at)
                          FROM {tables["message"]} m
                         WHERE m.conversation_id = a.conversation_id AND m.direction = %(out)s
                           AND m.status <> %(failed)s
                           AND m.created_at >= a.first_in AND m.created_at < %(reply_until)s)
                   ) - a.first_in) AS seconds
              FROM active a
             WHERE a.first_in IS NOT NULL
        ),
        range_orders AS MATERIALIZED (
            SELECT lead_id, status, total, paid_at,
                   created_at >= %(since)s AND created_at < %(until)s AS created,
                   status = ANY(%(paid)s) AND paid_at >= %(since)s AND paid_at < %(until)s AS sold
              FROM {tables["order"]}
             WHERE (created_at >= %(since)s AND created_at < %(until)s)
                OR (paid_at >= %(since)s AND paid_at < %(until)s)
        ),
        lead_orders AS (
            SELECT lead_id,
                   bool_or(sold) AS sold,
                   bool_or(status = ANY(%(open)s) AND created) AS open,
                   bool_or(status = ANY(%(dropped)s) AND created) AS dropped
              FROM range_orders
             WHERE lead_id IS NOT NULL
             GROUP BY lead_id
        ),
        classified AS (
            SELECT a.n_in, a.n_out, a.first_in,
                   c.handoff_at >= %(since)s AND c.handoff_at < %(until)s AS handed_off,
                   CASE WHEN lo.sold THEN 'sale'
                        WHEN co.outcome = 'sale' THEN 'lead'
                        WHEN co.outcome IS NOT NULL THEN co.outcome
                        WHEN l.stage = %(lost)s OR (lo.dropped AND NOT lo.open) THEN 'lost'
                        WHEN lo.open OR l.stage = %(qualified)s THEN 'lead'
                        ELSE 'support' END AS outcome
              FROM active a
              JOIN {tables["conversation"]} c ON c.id = a.conversation_id
              LEFT JOIN {tables["lead"]} l ON l.id = c.lead_id
              LEFT JOIN lead_orders lo ON lo.lead_id = c.lead_id
              LEFT JOIN {tables["outcome"]} co ON co.conversation_id = a.conversation_id
        ),
        handoffs AS (
            SELECT (handoff_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS handoffs
              FROM {tables["conversation"]}
             WHERE handoff_at >= %(since)s AND handoff_at < %(until)s
             GROUP BY 1
        ),
        revenue AS (
            SELECT (paid_at AT TIME ZONE %(tz)s)::date AS day, sum(total) AS revenue
              FROM range_orders
             WHERE sold
             GROUP BY 1
        ),
        by_status AS (
            SELECT status, count(*) FILTER (WHERE created) AS n,
                   coalesce(sum(total) FILTER (WHERE created), 0) AS amount,
                   count(*) FILTER (WHERE sold) AS sold, coalesce(sum(total) FILTER (WHERE sold), 0) AS revenue
              FROM range_orders
             GROUP BY status
        ),
        leads AS (
            SELECT stage, count(*) AS n
              FROM {tables["lead"]}
             WHERE created_at >= %(since)s AND created_at < %(until)s
             GROUP BY stage
        ),
        messages AS (
            SELECT day, count(*) AS conversations, sum(n_in + n_out) AS messages
              FROM by_day
             GROUP BY 1
        ),
        days AS (
            SELECT d.day, coalesce(m.conversations, 0) AS conversations, coalesce(m.messages, 0) AS messages,
                   coalesce(r.revenue, 0) AS revenue, coalesce(h.handoffs, 0) AS handoffs
              FROM (SELECT generate_series(%(start)s::date, %(end)s::date, interval '1 day')::date AS day) d
              LEFT JOIN messages m ON m.day = d.day
              LEFT JOIN revenue r ON r.day = d.day
              LEFT JOIN handoffs h ON h.day = d.day
        )
        SELECT count(*),
               coalesce(sum(n_in), 0),
               coalesce(sum(n_out), 0),
               count(*) FILTER (WHERE handed_off),
               count(*) FILTER (WHERE outcome = 'sale'),
               count(*) FILTER (WHERE outcome = 'lead'),
               count(*) FILTER (WHERE outcome = 'support'),
               count(*) FILTER (WHERE outcome = 'lost'),
               (SELECT coalesce(sum(handoffs), 0) FROM handoffs),
               count(*) FILTER (WHERE first_in IS NOT NULL),
               (SELECT count(seconds) FROM replies),
               (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FROM replies),
               (SELECT json_agg(json_build_array(day, conversations, messages, revenue::text, handoffs)
                                ORDER BY day) FROM days),
               (SELECT json_agg(json_build_array(status, n, amount::text, sold, revenue::text)) FROM by_status),
               (SELECT json_agg(json_build_array(stage, n)) FROM leads)
          FROM classified
    """
    params = {**params, **sources.params()}
    live = time_filter("created_at", list(sources.live), timezone.get_current_timezone(), params, "live")
    sql = sql.replace("{rolled}", ROLLED_MESSAGE_DAYS).replace("{live}", MESSAGE_DAYS.format(where=live))
    (row,) = _fetch_with_planner_settings(sql, params)
    names = ("conversations", "messages_in", "messages_out", "handed_off", *OUTCOMES, "handoffs",
             "with_inbound", "answered")
    *counts, median, days, by_status, leads = row
    figures = dict(zip(names, (int(v) for v in counts), strict=True))
    figures["median"] = round(float(median), 1) if median is not None else None
    figures["unanswered"] = figures["with_inbound"] - figures["answered"]
    figures["days"] = tuple(
        DayFigures(day=date.fromisoformat(day), conversations=conversations, messages=messages,
                   revenue=Decimal(revenue), handoffs=handoffs)
        for day, conversations, messages, revenue, handoffs in days
    )
    figures["by_status"] = {
        status: {"n": n, "amount": Decimal(amount), "sold": sold, "revenue": Decimal(revenue)}
        for status, n, amount, sold, revenue in by_status or ()
    }
    figures["leads"] = dict(leads or ())
    return figures


def _usage(params: dict, sources: DaySources) -> tuple[UsageFigures, ...]:
    """Rolled-up and live days summed, then named: the agents join touches a handful of rows."""
    params = {"tz": params["tz"], **sources.params()}
    live = time_filter("at", list(sources.live), timezone.get_current_timezone(), params, "live")
    sql = f"""
        SELECT u.agent_id, coalesce(a.name, ''), u.provider, u.model, u.calls, u.prompt, u.completion, u.cost
          FROM (SELECT agent_id, provider, model, sum(calls) AS calls, sum(prompt_tokens) AS prompt,
                       sum(completion_tokens) AS completion, sum(cost) AS cost
                  FROM ({ROLLED_USAGE_DAYS} UNION ALL {USAGE_DAYS.format(where=live)}) days
                 GROUP BY 1, 2, 3) u
          LEFT JOIN {Agent._meta.db_table} a ON a.id = u.agent_id
         ORDER BY u.cost DESC, a.name, u.provider, u.model
    """
    return tuple(
        UsageFigures(agent_id=agent_id, agent=agent, provider=provider, model=model, calls=int(calls),
                     prompt_tokens=int(prompt), completion_tokens=int(completion), cost=cost)
        for agent_id, agent, provider, model, calls, prompt, completion, cost in _fetch(sql, params)
    )
