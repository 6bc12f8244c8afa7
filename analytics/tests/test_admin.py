"""The store console's home page shows the last 30 days; the platform admin's does not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from analytics.charts import bar_chart
from analytics.templatetags.analytics_admin import duration
from analytics.tests.conftest import make_conversation, make_lead, make_order, say
from conftest import STORE_A


@pytest.fixture
def staff(client, store):
    client.force_login(get_user_model().objects.get(username=STORE_A["owner_email"]))
    return client


def test_the_store_console_home_shows_figures_and_three_daily_charts(staff, store):
    from channels.models import Channel

    now = timezone.now()
    lead = make_lead("Ana", "customer", now)
    conversation = make_conversation(Channel.objects.create(kind="api", name="Web"), "ana", lead,
                                     handoff_at=now)
    say(conversation, "in", now - timedelta(minutes=2))
    say(conversation, "out", now - timedelta(minutes=1))
    make_order("T-1", lead, "paid", "123.45", now, paid=now)
    say(make_conversation(Channel.objects.get(), "old"), "in", now - timedelta(days=45))

    page = staff.get("/admin/", HTTP_HOST="store-a.localhost")
    connection.set_tenant(store)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="store-dashboard"' in html
    assert re.search(r'id="dash-conversations">1<', html)
    assert re.search(r'id="dash-revenue">123.45<', html)
    assert "1 min" in html  # median first response
    assert html.count("<svg viewBox=\"0 0 600 120\" role=\"img\"") == 3
    assert html.count("<rect") == 3 * 30
    assert 'id="content-main"' in html  # the app list is still there
    assert "cdn" not in html.lower()


def test_the_platform_admin_home_has_no_store_figures(client, public_schema):
    operator = get_user_model().objects.create_superuser("ops-test@atendo.local", "ops-test@atendo.local", "x")
    client.force_login(operator)

    page = client.get("/admin/", HTTP_HOST="localhost")

    assert page.status_code == 200
    assert 'id="content-main"' in page.content.decode()
    assert 'id="store-dashboard"' not in page.content.decode()


def test_bars_are_scaled_to_the_busiest_day():
    from datetime import date

    chart = bar_chart("Conversations", [(date(2026, 3, 1), 2), (date(2026, 3, 2), 0), (date(2026, 3, 3), 4)])

    assert [b.height for b in chart.bars] == [60.0, 0.0, 120.0]
    assert [b.y for b in chart.bars] == [60.0, 120.0, 0.0]
    assert (chart.total, chart.peak) == (6, 4)


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (42.4, "42 s"), (90.0, "1 min 30 s"),
                                               (120, "2 min"), (7260, "2 h 1 min")])
def test_durations_read_like_a_person_would_say_them(seconds, text):
    assert duration(seconds) == text
