"""``{% store_dashboard_panel %}``: the last 30 days' figures and charts on the store console's
home page. It renders nothing outside a store (the platform admin on the public schema)."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from analytics import selectors
from analytics.charts import bar_chart

register = template.Library()
DAYS = 30
# The home page is opened often; a minute-old dashboard is fine there (the cache keys carry
# the store's schema).
CACHE_SECONDS = 60


@register.inclusion_tag("analytics/admin_dashboard.html", takes_context=True)
def store_dashboard_panel(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if connection.schema_name == get_public_schema_name() or not getattr(user, "is_staff", False):
        return {"dashboard": None}
    end = timezone.localdate()
    dashboard = cache.get_or_set(
        f"analytics:admin-home:{end}",
        lambda: selectors.store_dashboard(end - timedelta(days=DAYS - 1), end),
        CACHE_SECONDS,
    )
    days = dashboard.days
    charts = (
        bar_chart(_("Conversations per day"), [(d.day, d.conversations) for d in days]),
        bar_chart(_("Revenue per day"), [(d.day, d.revenue) for d in days]),
        bar_chart(_("Handoffs per day"), [(d.day, d.handoffs) for d in days]),
    )
    return {"dashboard": dashboard, "charts": charts, "days": DAYS}


@register.filter
def duration(seconds: float | None) -> str:
    """90.0 -> '1 min 30 s'; None -> '—'."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@register.filter
def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"
