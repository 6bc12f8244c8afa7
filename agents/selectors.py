"""Reads of the agents app: token usage summaries and ratings per agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from agents.models import Agent, TokenUsage

USAGE_GROUPS = ("agent", "model", "day")


@dataclass(frozen=True)
class UsageLine:
    key: str  # the agent's name, "provider:model" or the day (YYYY-MM-DD)
    agent_id: int | None
    provider: str
    model: str
    day: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


def usage_summary(group_by: str, *, since: datetime | None = None, until: datetime | None = None,
                  agent_id: int | None = None) -> list[UsageLine]:
    """Calls, tokens and cost of the store's model calls grouped by ``agent``, ``model``
    (provider and model) or ``day`` (in the store's time zone), biggest cost first (days
    in order). ``since`` is inclusive, ``until`` exclusive."""
    if group_by not in USAGE_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(USAGE_GROUPS)}")
    rows = TokenUsage.objects.all()
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    keys = {"agent": ["agent_id", "agent__name"], "model": ["provider", "model"], "day": ["day"]}[group_by]
    if group_by == "day":
        rows = rows.annotate(day=TruncDate("at"))
    totals = (
        rows.values(*keys)
        .annotate(calls=Count("pk"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
                  total_cost=Coalesce(Sum("cost"), Decimal(0)))
        .order_by("day" if group_by == "day" else F("total_cost").desc(), *([] if group_by == "day" else keys))
    )
    lines = []
    for row in totals:
        day = row.get("day")
        if group_by == "agent":
            key = row["agent__name"] or "(deleted agent)"
        elif group_by == "model":
            key = f"{row['provider']}:{row['model']}" if row["model"] else row["provider"]
        else:
            key = day.isoformat()
        lines.append(UsageLine(
            key=key, agent_id=row.get("agent_id"), provider=row.get("provider", ""), model=row.get("model", ""),
            day=day.isoformat() if day else None, calls=row["calls"], prompt_tokens=row["prompt"] or 0,
            completion_tokens=row["completion"] or 0, cost=row["total_cost"],
        ))
    return lines


def agents_with_ratings():
    """The store's agents annotated with ``good_ratings`` and ``bad_ratings``."""
    return Agent.objects.annotate(
        good_ratings=Count("ratings", filter=Q(ratings__rating="good")),
        bad_ratings=Count("ratings", filter=Q(ratings__rating="bad")),
    )


ACCUMULATOR_FIELDS = ("burst_seconds", "burst_max_wait_seconds", "burst_max_messages", "burst_separator")


def accumulator_settings(agent_id: int | None) -> dict:
    """The message accumulator settings the answering agent sets (``agent_id``, else the
    store's default active agent): only those it sets, so the caller's defaults apply to
    the rest."""
    agents = Agent.objects.filter(pk=agent_id) if agent_id else Agent.objects.filter(is_active=True)
    row = agents.order_by("-is_default", "name").values(*ACCUMULATOR_FIELDS).first() or {}
    return {key: value for key, value in row.items() if value not in (None, "")}
