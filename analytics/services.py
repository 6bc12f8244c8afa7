"""Keeping the dashboard's rollups current. The dashboard is exact whether or not this
has run (days not rolled up or marked stale are read live); running it keeps the live
part small."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from agents.models import TokenUsage
from analytics.models import ConversationDay, RollupState, StaleDay, UsageDay
from analytics.rollups import (
    MESSAGE_DAYS,
    USAGE_DAYS,
    closed_through,
    local_days_of_utc_day,
    runs,
    time_filter,
)
from channels.models import Message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RollupRefresh:
    rolled_through: date | None
    days_rolled: int
    stale_days_redone: int


def refresh_rollups(*, now: datetime | None = None) -> RollupRefresh:
    """Roll up the current store's closed days not rolled up yet and recompute the rolled
    days marked stale since the last refresh, in one transaction.

    Idempotent; concurrent refreshes of a store wait for each other (the state row is
    locked). When ``TIME_ZONE`` changed since the last refresh, everything is rolled up
    again in the new zone.
    """
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    with transaction.atomic():
        RollupState.objects.get_or_create(pk=1, defaults={"zone": str(zone)})
        state = RollupState.objects.select_for_update().get(pk=1)
        if state.zone != str(zone):
            ConversationDay.objects.all().delete()
            UsageDay.objects.all().delete()
            state.zone, state.rolled_through = str(zone), None
        with connection.cursor() as cursor:
            # Waits for a writer that still holds a mark, so what is recomputed below
            # includes its change; a mark made after this stays for the next refresh.
            cursor.execute(f"DELETE FROM {StaleDay._meta.db_table} RETURNING day")
            marked = [row[0] for row in cursor.fetchall()]
        redo = sorted({
            local for mark in marked for local in local_days_of_utc_day(mark, zone)
            if state.rolled_through is not None and local <= state.rolled_through
        })
        last = closed_through(now, zone)
        first = _first_day_to_roll(state.rolled_through, zone)
        new = [first + timedelta(days=n) for n in range((last - first).days + 1)] if first else []
        for span in runs(redo + new):
            _roll(span, zone)
        if state.rolled_through is None or last > state.rolled_through:
            state.rolled_through = last
        state.save()
    logger.info("analytics.rollups_refreshed", extra={"rolled_through": str(state.rolled_through),
                                                       "days_rolled": len(new), "stale_days_redone": len(redo)})
    return RollupRefresh(state.rolled_through, len(new), len(redo))


def _first_day_to_roll(rolled_through: date | None, zone) -> date | None:
    if rolled_through is not None:
        return rolled_through + timedelta(days=1)
    earliest = [
        moment for moment in (
            Message.objects.aggregate(first=Min("created_at"))["first"],
            TokenUsage.objects.aggregate(first=Min("at"))["first"],
        ) if moment is not None
    ]
    return min(earliest).astimezone(zone).date() if earliest else None


def _roll(span: tuple[date, date], zone) -> None:
    """Replace the rollups of the days ``span`` (first, last) with what the rows say now."""
    first, last = span
    params = {"tz": str(zone), "first": first, "last": last}
    messages = time_filter("created_at", [span], zone, params, "m")
    usage = time_filter("at", [span], zone, params, "u")
    with connection.cursor() as cursor:
        for table in (ConversationDay._meta.db_table, UsageDay._meta.db_table):
            cursor.execute(f"DELETE FROM {table} WHERE day >= %(first)s AND day <= %(last)s", params)
        cursor.execute(
            f"""INSERT INTO {ConversationDay._meta.db_table}
                    (conversation_id, day, messages_in, messages_out, first_in, first_out)
                {MESSAGE_DAYS.format(where=messages)}""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO {UsageDay._meta.db_table}
                    (day, agent_id, provider, model, calls, prompt_tokens, completion_tokens, cost)
                {USAGE_DAYS.format(where=usage)}""",
            params,
        )
