"""The store's dashboard: figures over a range of days, computed by aggregate queries.

``store_dashboard(start, end)`` runs in the current store's schema (the caller's
connection, as every store read does) and reads the models of ``channels``, ``orders``,
``leads`` and ``agents``; nothing imports ``analytics``. Every figure is an aggregate
query (seven in all); Python only shapes a handful of result rows.

Definitions (what a caller may rely on):

- **Range**: from ``start`` 00:00 to the end of ``end`` (inclusive) in the current time
  zone (``TIME_ZONE``); days of the series are days of that zone.
- **Conversation**: a conversation with at least one message (either way) in the range.
  Per day: conversations with a message that day.
- **Messages in/out**: messages created in the range, by direction.
- **First response time**: per conversation, from its first inbound message in the range
  to the first outbound message at or after it that did not fail (an answer may come
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

from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from agents.models import TokenUsage
from analytics.errors import InvalidRange
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


def store_dashboard(start: date, end: date) -> Dashboard:
    """The current store's figures from ``start`` to ``end``, both days included.

    Read-only, no locks. Raises ``InvalidRange`` for an end before the start or a range
    over ``MAX_DAYS`` days. See the module docstring for each figure's rule.
    """
    check_range(start, end)
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    params = {
        "since": since, "until": until, "start": start, "end": end, "tz": str(zone),
        "in": Direction.IN.value, "out": Direction.OUT.value, "failed": MessageStatus.FAILED.value,
        "paid": [s.value for s in PAID_STATUSES], "open": [s.value for s in OPEN_STATUSES],
        "dropped": [s.value for s in DROPPED_STATUSES],
        "lost": Stage.LOST.value, "qualified": Stage.QUALIFIED.value,
    }
    tables = {
        "message": Message._meta.db_table, "conversation": Conversation._meta.db_table,
        "order": Order._meta.db_table, "lead": Lead._meta.db_table,
    }

    conversations = _conversation_figures(tables, params)
    first_response = _first_response(tables, params)
    days = _days(tables, params)

    leads = dict(
        Lead.objects.filter(created_at__gte=since, created_at__lt=until)
        .values_list("stage").annotate(n=Count("id")).order_by()
    )
    by_status = {
        row["status"]: row
        for row in Order.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("status").annotate(n=Count("id"), total=Sum("total")).order_by()
    }
    sold = Order.objects.filter(paid_at__gte=since, paid_at__lt=until, status__in=PAID_STATUSES).aggregate(
        n=Count("id"), revenue=Sum("total")
    )
    usage = tuple(
        UsageFigures(
            agent_id=row["agent_id"], agent=row["agent__name"] or "", provider=row["provider"],
            model=row["model"], calls=row["calls"], prompt_tokens=row["prompt"] or 0,
            completion_tokens=row["completion"] or 0, cost=row["cost"] or Decimal(0),
        )
        for row in TokenUsage.objects.filter(at__gte=since, at__lt=until)
        .values("agent_id", "agent__name", "provider", "model")
        .annotate(calls=Count("id"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
                  cost=Sum("cost"))
        .order_by("-cost", "agent__name", "provider", "model")
    )

    total = conversations["conversations"]
    outcomes = Outcomes(**{name: conversations[name] for name in OUTCOMES})
    return Dashboard(
        start=start,
        end=end,
        timezone=str(zone),
        conversations=total,
        messages_in=conversations["messages_in"],
        messages_out=conversations["messages_out"],
        first_response_median_seconds=first_response["median"],
        answered=first_response["answered"],
        unanswered=first_response["unanswered"],
        handoffs=conversations["handoffs"],
        handoff_rate=_rate(conversations["handed_off"], total),
        new_leads=sum(leads.values()),
        leads_by_stage=tuple(StageFigures(stage, leads.get(stage, 0)) for stage in Stage.values),
        orders=sum(row["n"] for row in by_status.values()),
        orders_by_status=tuple(
            StatusFigures(
                status,
                by_status[status]["n"] if status in by_status else 0,
                by_status[status]["total"] if status in by_status else Decimal(0),
            )
            for status in Status.values
        ),
        paid_orders=sold["n"],
        revenue=sold["revenue"] or Decimal(0),
        converted_conversations=outcomes.sale,
        conversion_rate=_rate(outcomes.sale, total),
        outcomes=outcomes,
        prompt_tokens=sum(u.prompt_tokens for u in usage),
        completion_tokens=sum(u.completion_tokens for u in usage),
        cost=sum((u.cost for u in usage), Decimal(0)),
        usage=usage,
        days=days,
    )


def _conversation_figures(tables: dict, params: dict) -> dict:
    """Conversations, messages, handoffs and outcomes in one pass over the range's messages."""
    sql = f"""
        WITH active AS (
            SELECT conversation_id,
                   count(*) FILTER (WHERE direction = %(in)s) AS n_in,
                   count(*) FILTER (WHERE direction = %(out)s) AS n_out
              FROM {tables["message"]}
             WHERE created_at >= %(since)s AND created_at < %(until)s
             GROUP BY conversation_id
        ),
        lead_orders AS (
            SELECT lead_id,
                   bool_or(status = ANY(%(paid)s) AND paid_at >= %(since)s AND paid_at < %(until)s) AS sold,
                   bool_or(status = ANY(%(open)s) AND created_at >= %(since)s AND created_at < %(until)s)
                       AS open,
                   bool_or(status = ANY(%(dropped)s) AND created_at >= %(since)s AND created_at < %(until)s)
                       AS dropped
              FROM {tables["order"]}
             WHERE (created_at >= %(since)s AND created_at < %(until)s)
                OR (paid_at >= %(since)s AND paid_at < %(until)s)
             GROUP BY lead_id
        ),
        classified AS (
            SELECT a.n_in, a.n_out,
                   c.handoff_at >= %(since)s AND c.handoff_at < %(until)s AS handed_off,
                   CASE WHEN lo.sold THEN 'sale'
                        WHEN l.stage = %(lost)s OR (lo.dropped AND NOT lo.open) THEN 'lost'
                        WHEN lo.open OR l.stage = %(qualified)s THEN 'lead'
                        ELSE 'support' END AS outcome
              FROM active a
              JOIN {tables["conversation"]} c ON c.id = a.conversation_id
              LEFT JOIN {tables["lead"]} l ON l.id = c.lead_id
              LEFT JOIN lead_orders lo ON lo.lead_id = c.lead_id
        )
        SELECT count(*),
               coalesce(sum(n_in), 0),
               coalesce(sum(n_out), 0),
               count(*) FILTER (WHERE handed_off),
               count(*) FILTER (WHERE outcome = 'sale'),
               count(*) FILTER (WHERE outcome = 'lead'),
               count(*) FILTER (WHERE outcome = 'support'),
               count(*) FILTER (WHERE outcome = 'lost'),
               (SELECT count(*) FROM {tables["conversation"]}
                 WHERE handoff_at >= %(since)s AND handoff_at < %(until)s)
          FROM classified
    """
    (row,) = _fetch(sql, params)
    names = ("conversations", "messages_in", "messages_out", "handed_off", *OUTCOMES, "handoffs")
    return dict(zip(names, (int(v) for v in row), strict=True))


def _first_response(tables: dict, params: dict) -> dict:
    sql = f"""
        WITH first_in AS (
            SELECT conversation_id, min(created_at) AS at
              FROM {tables["message"]}
             WHERE direction = %(in)s AND created_at >= %(since)s AND created_at < %(until)s
             GROUP BY conversation_id
        ),
        answered AS (
            SELECT extract(epoch FROM reply.at - f.at) AS seconds
              FROM first_in f
              CROSS JOIN LATERAL (
                  SELECT m.created_at AS at
                    FROM {tables["message"]} m
                   WHERE m.conversation_id = f.conversation_id AND m.direction = %(out)s
                     AND m.created_at >= f.at AND m.status <> %(failed)s
                   ORDER BY m.created_at
                   LIMIT 1
              ) reply
        )
        SELECT (SELECT count(*) FROM first_in),
               count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)
          FROM answered
    """
    (row,) = _fetch(sql, params)
    with_inbound, answered, median = row
    return {
        "answered": answered,
        "unanswered": with_inbound - answered,
        "median": round(float(median), 1) if median is not None else None,
    }


def _days(tables: dict, params: dict) -> tuple[DayFigures, ...]:
    """One row per day of the range, zeros included (generate_series)."""
    sql = f"""
        WITH days AS (
            SELECT generate_series(%(start)s::date, %(end)s::date, interval '1 day')::date AS day
        ),
        messages AS (
            SELECT (created_at AT TIME ZONE %(tz)s)::date AS day,
                   count(*) AS messages, count(DISTINCT conversation_id) AS conversations
              FROM {tables["message"]}
             WHERE created_at >= %(since)s AND created_at < %(until)s
             GROUP BY 1
        ),
        revenue AS (
            SELECT (paid_at AT TIME ZONE %(tz)s)::date AS day, sum(total) AS revenue
              FROM {tables["order"]}
             WHERE paid_at >= %(since)s AND paid_at < %(until)s AND status = ANY(%(paid)s)
             GROUP BY 1
        ),
        handoffs AS (
            SELECT (handoff_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS handoffs
              FROM {tables["conversation"]}
             WHERE handoff_at >= %(since)s AND handoff_at < %(until)s
             GROUP BY 1
        )
        SELECT d.day, coalesce(m.conversations, 0), coalesce(m.messages, 0),
               coalesce(r.revenue, 0), coalesce(h.handoffs, 0)
          FROM days d
          LEFT JOIN messages m ON m.day = d.day
          LEFT JOIN revenue r ON r.day = d.day
          LEFT JOIN handoffs h ON h.day = d.day
         ORDER BY d.day
    """
    return tuple(
        DayFigures(day=day, conversations=conversations, messages=messages, revenue=revenue, handoffs=handoffs)
        for day, conversations, messages, revenue, handoffs in _fetch(sql, params)
    )
