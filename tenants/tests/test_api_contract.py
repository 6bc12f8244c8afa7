"""Schemathesis against the generated OpenAPI schema: the main GET endpoints, called with
a valid key of a store that has data, never answer 500 and answer what the schema says.

The schema documents success bodies only (errors share one documented-by-prose shape), so
the checks are "no server error", "the body matches the schema" and "the content type is
the documented one", not "every status code is documented".
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from catalog.models import Synonym
from catalog.tests.factories import category, product
from knowledge.services import add_text_document, create_collection
from leads.models import EventKind
from leads.services import ensure_lead, record_event
from orders.services import create_order, start_payment
from tenants.api.throttling import ApiKeyRateThrottle
from tenants.api_keys import create_api_key

# Paths whose GET is fuzzed: all but the SSE stream (it never ends) and auth/me (a session's
# user: a key gets 401 by design, tested in test_frontend_auth). The store's only channel is an
# API channel, so its status calls no provider.
FUZZED_PATHS = [
    "/api/v1/dashboard",
    "/api/v1/audit-log",
    "/api/v1/auth/csrf",
    "/api/v1/agents",
    "/api/v1/agents/{agent_id}",
    "/api/v1/agents/models",
    "/api/v1/agents/runs/{run_id}",
    "/api/v1/agents/templates",
    "/api/v1/agents/tools",
    "/api/v1/agents/usage",
    "/api/v1/agents/usage/summary",
    "/api/v1/catalog/connections",
    "/api/v1/channels/{channel_id}/status",
    "/api/v1/channels/{channel_id}/templates",
    "/api/v1/products/{product_id}/files",
    "/api/v1/products",
    "/api/v1/products/{product_id}",
    "/api/v1/categories",
    "/api/v1/categories/{category_id}",
    "/api/v1/synonyms",
    "/api/v1/synonyms/{synonym_id}",
    "/api/v1/store/profile",
    "/api/v1/api-keys",
    "/api/v1/orders",
    "/api/v1/orders/{order_id}",
    "/api/v1/leads",
    "/api/v1/leads/{lead_id}",
    "/api/v1/leads/{lead_id}/events",
    "/api/v1/knowledge/collections",
    "/api/v1/knowledge/collections/{collection_id}",
    "/api/v1/knowledge/documents",
    "/api/v1/knowledge/documents/{document_id}",
    "/api/v1/knowledge/search",
]
# Writes that are not fuzzed: they call Meta's Graph API or a catalog's remote source, or
# sign staff in and out (their throttles and sessions are tested in test_frontend_auth).
UNFUZZED_WRITES = [
    "/api/v1/channels/{channel_id}/meta-signup",
    "/api/v1/channels/{channel_id}/templates/sync",
    "/api/v1/catalog/connections/{connection_id}/sync",
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
]
WRITE_EXAMPLES = 15
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 25


@pytest.fixture
def keep_the_test_connection():
    """Like Django's test client: the WSGI app must not close the test's connection (its
    transaction holds the test's rows) at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    return schema


@pytest.fixture
def openapi(keep_the_test_connection):
    return _schema().include(method="GET", path=FUZZED_PATHS)


@pytest.fixture
def openapi_writes(keep_the_test_connection):
    return _schema().include(method=["POST", "PUT", "PATCH", "DELETE"]).exclude(path=UNFUZZED_WRITES)


@pytest.fixture
def stocked_store(store):
    ballet = category("Ballet")
    parent = product("SAP", "Sapatilha de Ponta", category=ballet)
    product("SAP-36", "Sapatilha de Ponta 36", parent=parent, attributes={"tamanho": "36"})
    product("COL-1", "Collant Alça Fina", price="89.90", stock=0, category=ballet)
    Synonym.objects.create(term="maio", equivalents=["collant"])
    ana = ensure_lead("whatsapp", "5511988887777", name="Ana")
    record_event(ana.pk, EventKind.NOTE, {"text": "Prefers pink."})
    order = create_order(ana.pk, [(parent.pk, 1)], "whatsapp")
    start_payment(order.pk, "manual")
    policies = create_collection("Policies")
    add_text_document(policies.pk, title="Returns", text="Returns within 30 days.", ingest="sync")
    _conversation_history(ana)
    return store


def _conversation_history(lead) -> None:
    """Ten days of a conversation with usage, rolled up but for the last days, so the
    dashboard reads both its rollups and live rows."""
    from agents.models import Agent, TokenUsage
    from analytics.services import refresh_rollups
    from channels.models import Channel, Conversation, Message

    sales = Agent.objects.create(name="Sales", role="sales")
    web = Channel.objects.create(kind="api", name="Web")
    conversation = Conversation.objects.create(channel=web, contact_id="ana", lead=lead)
    now = timezone.now()
    for days_ago in range(10):
        asked = now - timedelta(days=days_ago, minutes=5)
        Message.objects.create(conversation=conversation, channel=web, direction="in", text="Tem 36?",
                               status="received", created_at=asked)
        Message.objects.create(conversation=conversation, channel=web, direction="out", text="Tem sim!",
                               status="sent", created_at=asked + timedelta(seconds=30))
        TokenUsage.objects.create(agent=sales, provider="openai", model="gpt-4o-mini", prompt_tokens=300,
                                  completion_tokens=20, cost=Decimal("0.000057"), at=asked)
    refresh_rollups()


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == set(FUZZED_PATHS)
    return operations


def test_main_get_endpoints_match_the_schema_and_never_fail(openapi, stocked_store, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "100000/minute", raising=False)
    # Both scopes: channel status and templates take `read` only (an `app` key gets 403 there).
    key = create_api_key(stocked_store, "contract", ["app", "read"]).key
    # GZip middleware: the in-process WSGI transport would not inflate the body.
    # The store's own host: anonymous endpoints (auth/csrf) find the store by it.
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity",
               "Host": stocked_store.get_primary_domain().domain}

    statuses: dict[str, set[int]] = {}
    for operation in _operations(openapi):

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.setdefault(case.operation.path, set()).add(response.status_code)

        call()

    # The key was accepted everywhere: every operation answered at least once with a body.
    refused = {path: codes for path, codes in statuses.items() if not codes & {200, 400, 404} or 401 in codes}
    assert refused == {}
    assert 200 in statuses["/api/v1/products"] and 200 in statuses["/api/v1/store/profile"]
    assert 200 in statuses["/api/v1/dashboard"] and 400 in statuses["/api/v1/dashboard"]


def test_write_endpoints_never_fail_and_answer_what_the_schema_says(openapi_writes, stocked_store, monkeypatch):
    """Creates, updates, transitions and deletes with generated bodies: bad input is a 4xx
    with the error body, never a 500, and what succeeds matches the schema."""
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "100000/minute", raising=False)
    key = create_api_key(stocked_store, "contract", ["app", "webhook"]).key
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity",
               "Host": stocked_store.get_primary_domain().domain}

    known = _known_ids(stocked_store)

    statuses: dict[str, set[int]] = {}
    for operation in (result.ok() for result in openapi_writes.get_all_operations()):

        @given(case=operation.as_strategy(), on_real_objects=st.booleans())
        @settings(max_examples=WRITE_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case, on_real_objects):
            if on_real_objects and case.path_parameters:
                # Half the calls act on the store's real objects, not only on unknown ids.
                case.path_parameters = {name: known.get(name, value) for name, value in case.path_parameters.items()}
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)

        call()

    assert not any(code >= 500 for codes in statuses.values() for code in codes), statuses
    # The real objects were reached: the order's transitions and the lead's updates answered.
    assert statuses["PATCH /api/v1/leads/{lead_id}"] & {200, 400}
    assert statuses["POST /api/v1/orders/{order_id}/cancel"] & {200, 409}


def _known_ids(store) -> dict[str, int]:
    from agents.models import Agent
    from catalog.models import Category, Product
    from channels.models import Channel, Conversation
    from knowledge.models import Collection, Document
    from leads.models import Lead
    from orders.models import Order

    return {
        "product_id": Product.objects.order_by("pk").first().pk,
        "category_id": Category.objects.first().pk,
        "synonym_id": Synonym.objects.first().pk,
        "lead_id": Lead.objects.first().pk,
        "order_id": Order.objects.first().pk,
        "collection_id": Collection.objects.first().pk,
        "document_id": Document.objects.first().pk,
        "agent_id": Agent.objects.first().pk,
        "channel_id": Channel.objects.first().pk,
        "conversation_id": Conversation.objects.first().pk,
        "key_id": create_api_key(store, "spare", ["read"]).id,
    }
