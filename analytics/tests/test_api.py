"""GET /api/v1/dashboard: keys decide the store, `read` and `app` keys may read it, bad input is 400."""

from __future__ import annotations

import pytest
from django.db import connection

from analytics.tests.conftest import build_store_b
from tenants.api_keys import create_api_key

A_HOST = "store-a.localhost"


@pytest.fixture
def keys(store, other_store):
    return {
        "read": create_api_key(store, "dashboard", ["read"]).key,
        "app": create_api_key(store, "frontend", ["app"]).key,
        "webhook": create_api_key(store, "erp", ["webhook"]).key,
        "b_read": create_api_key(other_store, "dashboard", ["read"]).key,
    }


def get_dashboard(client, key: str | None, host: str = A_HOST, **params):
    tenant = connection.tenant
    headers = {"HTTP_HOST": host}
    if key:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    try:
        return client.get("/api/v1/dashboard", params, **headers)
    finally:
        connection.set_tenant(tenant)  # the request moves the connection to the key's store


def test_a_read_key_gets_the_figures_of_its_store(client, store_a_data, keys):
    response = get_dashboard(client, keys["read"], start="2026-03-01", end="2026-03-03")

    assert response.status_code == 200
    body = response.json()
    assert (body["start"], body["end"], body["timezone"]) == ("2026-03-01", "2026-03-03", "UTC")
    assert (body["conversations"], body["messages_in"], body["messages_out"]) == (6, 7, 6)
    assert body["first_response_median_seconds"] == 90.0
    assert body["revenue"] == "170.00"
    assert body["outcomes"] == {"sale": 1, "lead": 1, "support": 2, "lost": 2}
    assert body["days"][0] == {"day": "2026-03-01", "conversations": 2, "messages": 7,
                               "revenue": "100.00", "handoffs": 0}
    assert len(body["days"]) == 3


def test_the_frontends_app_key_reads_it_too(client, store_a_data, keys):
    response = get_dashboard(client, keys["app"], start="2026-03-01", end="2026-03-03")
    assert response.status_code == 200
    assert response.json()["conversations"] == 6


def test_without_dates_it_covers_the_last_30_days(client, store, keys):
    body = get_dashboard(client, keys["read"]).json()
    assert len(body["days"]) == 30
    assert body["days"][-1]["day"] == body["end"]


def test_no_key_is_401(client, store):
    response = get_dashboard(client, None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_webhook_key_is_403(client, store, keys):
    response = get_dashboard(client, keys["webhook"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_another_stores_key_on_this_host_is_401(client, store_a_data, keys):
    response = get_dashboard(client, keys["b_read"], start="2026-03-01", end="2026-03-03")
    assert response.status_code == 401
    assert "another store" in response.json()["error"]["message"]


def test_a_key_reads_its_own_store_on_the_platform_domain(client, store_a_data, other_store, keys):
    from django_tenants.utils import tenant_context

    with tenant_context(other_store):
        build_store_b()
    response = get_dashboard(client, keys["b_read"], host="localhost", start="2026-03-01", end="2026-03-03")
    assert response.status_code == 200
    assert (response.json()["conversations"], response.json()["revenue"]) == (1, "999.00")


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"start": "2026-02-30", "end": "2026-03-03"}, "start", "invalid"),
        ({"start": "yesterday"}, "start", "invalid"),
        ({"start": "2026-03-01", "end": "03/03/2026"}, "end", "invalid"),
        ({"start": "2026-03-03", "end": "2026-03-01"}, "end", "invalid_range"),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "end", "invalid_range"),
        ({"end": "9999-12-31"}, "end", "invalid"),
        ({"start": "0001-01-01", "end": "2026-01-02"}, "start", "invalid"),
    ],
)
def test_bad_dates_are_400_naming_the_field(client, store, keys, params, field, code):
    response = get_dashboard(client, keys["read"], **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert list(error["fields"]) == [field]


def test_a_full_year_is_allowed(client, store, keys):
    response = get_dashboard(client, keys["read"], start="2024-01-01", end="2024-12-31")
    assert response.status_code == 200
    assert len(response.json()["days"]) == 366
