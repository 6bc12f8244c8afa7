"""API conventions every response follows: a request id (header and logs) and GZip."""

from __future__ import annotations

import gzip
import json
import logging

from tenants.request_id import RequestIdFilter
from tenants.tests.api_helpers import api_as


def test_every_response_carries_a_request_id_that_the_logs_carry_too(client, store, caplog):
    api = api_as(client, "store-a", ["app"])
    caplog.handler.addFilter(RequestIdFilter())  # as the console handler of LOGGING has it
    with caplog.at_level(logging.INFO, logger="tenants.store_users"):
        response = client.post("/api/v1/auth/password-reset", {"email": "nobody@example.com"},
                               content_type="application/json", HTTP_HOST="store-a.localhost")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (record,) = [r for r in caplog.records if r.getMessage() == "auth.password_reset.unknown_email"]
    assert record.request_id == request_id

    assert api.get("api-keys")["X-Request-ID"] != request_id
    # An unknown host (no store) still gets one.
    assert client.get("/health", HTTP_HOST="nowhere.example")["X-Request-ID"]


def test_a_callers_request_id_is_kept_and_a_bad_one_replaced(client, store):
    api = api_as(client, "store-a", ["app"])
    assert api.get("api-keys", HTTP_X_REQUEST_ID="lb-4f2a-01")["X-Request-ID"] == "lb-4f2a-01"
    replaced = api.get("api-keys", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert replaced != "bad id\nwith newline" and len(replaced) == 32


def test_large_api_responses_are_gzipped_when_the_client_accepts_it(client, store):
    api = api_as(client, "store-a", ["app"])
    for i in range(30):
        api.post("api-keys", {"name": f"key number {i}", "scopes": ["read"]})
    response = api.get("api-keys", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.content))) >= 30
    assert "Content-Encoding" not in api.get("api-keys")


def test_a_task_enqueued_while_a_request_is_served_logs_with_its_id(store, celery_worker):
    from tenants import request_id
    from tenants.tests.probe_tasks import which_request

    token = request_id._request_id.set("req-7f3a")  # as RequestIdMiddleware does
    try:
        during = which_request.delay()
    finally:
        request_id._request_id.reset(token)
    outside = which_request.delay()

    assert during.get(timeout=60) == "req-7f3a"
    assert outside.get(timeout=60) == ""
