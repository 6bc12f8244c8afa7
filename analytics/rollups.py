"""What a day of messages and token usage comes to, and which days of a range can be read
from the rollups (``analytics.models``) and which must be read live.

The same two statements (``MESSAGE_DAYS``, ``USAGE_DAYS``) fill the rollups and give the
live part of a dashboard, so a rolled-up day and a live day are the same figures by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agents.models import TokenUsage
from analytics.models import ConversationDay, RollupState, StaleDay, UsageDay
from channels.models import Direction, Message, MessageStatus

# Rows older than this mark their day stale (the database triggers of migration 0001 say
# two days); only days that ended longer ago than ROLL_AFTER are rolled up, so a row that
# was not marked can only belong to a day not rolled up yet.
ROLL_AFTER = timedelta(days=3)

# Per conversation and day (of %(tz)s): messages each way, the first inbound message, and
# the first outbound one that did not fail. {where} selects the messages.
MESSAGE_DAYS = f"""
    SELECT conversation_id,
           (created_at AT TIME ZONE %(tz)s)::date AS day,
           count(*) FILTER (WHERE direction = '{Direction.IN.value}') AS n_in,
           count(*) FILTER (WHERE direction = '{Direction.OUT.value}') AS n_out,
           min(created_at) FILTER (WHERE direction = '{Direction.IN.value}') AS first_in,
           min(created_at) FILTER (WHERE direction = '{Direction.OUT.value}'
                                     AND status <> '{MessageStatus.FAILED.value}') AS first_out
      FROM {Message._meta.db_table}
     WHERE {{where}}
     GROUP BY 1, 2
"""
ROLLED_MESSAGE_DAYS = f"""
    SELECT conversation_id, day, messages_in, messages_out, first_in, first_out
      FROM {ConversationDay._meta.db_table}
     WHERE day >= %(rolled_first)s AND day <= %(rolled_last)s AND day <> ALL(%(live_days)s::date[])
"""

# Per day, agent, provider and model: calls, tokens and cost.
USAGE_DAYS = f"""
    SELECT (at AT TIME ZONE %(tz)s)::date AS day, agent_id, provider, model, count(*) AS calls,
           sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
           sum(cost) AS cost
      FROM {TokenUsage._meta.db_table}
     WHERE {{where}}
     GROUP BY 1, 2, 3, 4
"""
ROLLED_USAGE_DAYS = f"""
    SELECT day, agent_id, provider, model, calls, prompt_tokens, completion_tokens, cost
      FROM {UsageDay._meta.db_table}
     WHERE day >= %(rolled_first)s AND day <= %(rolled_last)s AND day <> ALL(%(live_days)s::date[])
"""


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def closed_through(now: datetime, zone: ZoneInfo) -> date:
    """The last day (of ``zone``) that ended at least ``ROLL_AFTER`` before ``now``."""
    return (now - ROLL_AFTER).astimezone(zone).date() - timedelta(days=1)


def runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    found: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def time_filter(column: str, spans: list[tuple[date, date]], zone: ZoneInfo, params: dict, prefix: str) -> str:
    """A WHERE condition on ``column`` for runs of days (adds its bounds to ``params``)."""
    conditions = []
    for index, (first, last) in enumerate(spans):
        since, until = f"{prefix}_since_{index}", f"{prefix}_until_{index}"
        params[since], params[until] = day_start(first, zone), day_start(last + timedelta(days=1), zone)
        conditions.append(f"({column} >= %({since})s AND {column} < %({until})s)")
    return " OR ".join(conditions) or "false"


def local_days_of_utc_day(day: date, zone: ZoneInfo) -> list[date]:
    """The days of ``zone`` that share at least an instant with the UTC ``day``."""
    first = datetime.combine(day, time.min, tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    last = (datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo("UTC"))
            - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class DaySources:
    """Where each day of a range is read from: rollups for ``rolled_first..rolled_last``
    except ``live_days``; the messages and usage rows for ``live`` (runs of days)."""

    rolled_first: date
    rolled_last: date
    live_days: tuple[date, ...]
    live: tuple[tuple[date, date], ...]

    def params(self) -> dict:
        return {"rolled_first": self.rolled_first, "rolled_last": self.rolled_last,
                "live_days": list(self.live_days)}


def day_sources(start: date, end: date, zone: ZoneInfo, *, use_rollups: bool = True) -> DaySources:
    """Rolled-up days of the range that no later change made stale come from the rollups;
    every other day (not rolled yet, stale, or rolled in another zone) is read live."""
    state = RollupState.objects.first() if use_rollups else None
    if state is None or state.rolled_through is None or state.zone != str(zone) or state.rolled_through < start:
        return DaySources(start, start - timedelta(days=1), (), ((start, end),))
    rolled_last = min(end, state.rolled_through)
    # A stale UTC day reaches at most one day either side in any zone.
    marks = StaleDay.objects.filter(day__gte=start - timedelta(days=1), day__lte=rolled_last + timedelta(days=1))
    stale = sorted({
        local for mark in marks.values_list("day", flat=True)
        for local in local_days_of_utc_day(mark, zone) if start <= local <= rolled_last
    })
    tail = [rolled_last + timedelta(days=n + 1) for n in range((end - rolled_last).days)]
    return DaySources(start, rolled_last, tuple(stale), tuple(runs(stale + tail)))
