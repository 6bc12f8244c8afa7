"""The store's monthly token budget: past it, its agents answer with the offline responder
(no generative model) until the month ends, and staff are told once (event + admin)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from channels.events import emit
from channels.models import EventKind, TokenBudget

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BudgetState:
    monthly_tokens: int  # 0: no budget
    used_tokens: int  # this calendar month (UTC), every agent of the store
    month: date

    @property
    def exceeded(self) -> bool:
        return self.monthly_tokens > 0 and self.used_tokens >= self.monthly_tokens


def _month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def store_budget() -> TokenBudget:
    """The store's budget row (created from ``CHANNELS_MONTHLY_TOKEN_BUDGET`` on first use)."""
    budget, _ = TokenBudget.objects.get_or_create(
        pk=1, defaults={"monthly_tokens": settings.CHANNELS_MONTHLY_TOKEN_BUDGET})
    return budget


def set_monthly_tokens(tokens: int) -> TokenBudget:
    """Set the store's monthly budget (0: none). A raised budget lets the agents use their
    models again at once; staff are told again if the new one runs out this month."""
    budget = store_budget()
    forget_usage()
    TokenBudget.objects.filter(pk=budget.pk).update(monthly_tokens=max(0, int(tokens)), exceeded_month=None,
                                                    exceeded_at=None, updated_at=timezone.now())
    budget.refresh_from_db()
    return budget


def tokens_used(*, since: datetime) -> int:
    """Prompt + completion tokens the store's agents recorded since ``since`` (the agents
    app's token usage; the offline responder's turns count zero)."""
    from agents.models import TokenUsage

    total = TokenUsage.objects.filter(at__gte=since).aggregate(
        tokens=Sum(F("prompt_tokens") + F("completion_tokens")))["tokens"]
    return int(total or 0)


# Every turn checks the budget, and summing a busy month's usage each time would cost more
# as the month goes on. So the month is split: the part older than ``SETTLED_AFTER`` (no
# turn still running writes there) is summed once and kept in the shared cache, extended
# as time passes; only the recent rows are summed on every check. Exact, and each check
# reads minutes of rows, not the month.
SETTLED_AFTER = timedelta(minutes=15)


def _usage_key(start: datetime) -> str:
    from django.db import connection

    return f"token-usage:{connection.schema_name}:{start:%Y-%m}"


def _usage_this_month(start: datetime, now: datetime) -> int:
    from django.core.cache import cache

    from agents.models import TokenUsage

    key = _usage_key(start)
    settled_until, settled = cache.get(key) or (start, 0)
    until = max(settled_until, now - SETTLED_AFTER)
    tokens = F("prompt_tokens") + F("completion_tokens")
    sums = TokenUsage.objects.filter(at__gte=settled_until).aggregate(
        older=Sum(tokens, filter=Q(at__lt=until)), recent=Sum(tokens, filter=Q(at__gte=until)))
    settled += int(sums["older"] or 0)
    if until > settled_until:
        cache.set(key, (until, settled), 40 * 24 * 3600)
    return settled + int(sums["recent"] or 0)


def forget_usage() -> None:
    """Drop the kept sum (it is summed again on the next check)."""
    from django.core.cache import cache

    cache.delete(_usage_key(_month_start(timezone.now())))


def budget_state(*, now: datetime | None = None) -> BudgetState:
    now = now or timezone.now()
    start = _month_start(now)
    budget = store_budget()
    used = _usage_this_month(start, now) if budget.monthly_tokens else 0
    return BudgetState(monthly_tokens=budget.monthly_tokens, used_tokens=used, month=start.date())


def check_budget(*, now: datetime | None = None) -> BudgetState:
    """The store's budget this month. The first time in a month it is found exhausted,
    staff are told: a ``budget.exceeded`` event (outbound webhooks, live dashboard), a
    warning log, and the admin shows it. Idempotent per month (a conditional update)."""
    now = now or timezone.now()
    state = budget_state(now=now)
    if not state.exceeded:
        return state
    with transaction.atomic():
        first_time = TokenBudget.objects.filter(pk=1).exclude(exceeded_month=state.month).update(
            exceeded_month=state.month, exceeded_at=now)
        if first_time:
            emit(EventKind.BUDGET_EXCEEDED, {
                "monthly_tokens": state.monthly_tokens, "used_tokens": state.used_tokens,
                "month": state.month.isoformat(), "fallback": "offline responder",
            })
    if first_time:
        logger.warning("channels.budget.exceeded", extra={"monthly_tokens": state.monthly_tokens,
                                                          "used_tokens": state.used_tokens})
    return state
