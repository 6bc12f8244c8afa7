"""The tools the issue lists beyond search and orders: price filter, stock, lead updates,
forms, shipping address, outcome, web search, calculator and the store's HTTP tools."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from agents import services, tools, vault
from agents.models import CollectedForm, ConversationOutcome, HttpTool
from agents.tests.conftest import turn
from agents.tests.http_fakes import FakeHTTPServer
from agents.tools.web import calculate, guarded_url


@pytest.fixture
def agent(store):
    agent = services.create_agent_from_template("sales")
    agent.enabled_tools = list(tools.TOOLS)
    agent.save()
    return agent


def _ctx(agent, lead=None, **kw):
    return tools.ToolContext(agent=agent, request=turn("oi", lead=lead), lead_id=lead.pk if lead else None,
                             store_tools=tools.load_store_tools(agent.enabled_tools), **kw)


@pytest.fixture
def fake_http():
    server = FakeHTTPServer().start()
    yield server
    server.stop()


def test_filter_by_price_lists_in_stock_products_in_the_range_cheapest_first(agent, products):
    from catalog.models import Product

    Product.objects.create(sku="SAP-1", name="Sapatilha Meia Ponta", price=Decimal("79.00"), stock_quantity=0)

    outcome = tools.execute(_ctx(agent), "filter_products_by_price", {"max_price": 100}, "c1")
    empty = tools.execute(_ctx(agent), "filter_products_by_price", {"min_price": 500}, "c2")
    neither = tools.execute(_ctx(agent), "filter_products_by_price", {"query": "collant"}, "c3")

    assert [(p["name"], p["price"]) for p in outcome.result["products"]] == [
        ("Meia-calça Ballet com Pé", "39.90"), ("Collant Manga Longa", "99.90"),
    ]
    assert empty.result == {"products": [], "note": "Nothing in that price range; offer the closest products instead."}
    assert not neither.ok and "Invalid arguments for filter_products_by_price" in neither.result["error"]


def test_check_stock_says_whether_the_quantity_can_be_sold(agent, products):
    collant = products["collant"]

    enough = tools.execute(_ctx(agent), "check_stock", {"product_id": collant.pk, "quantity": 7}, "c1")
    too_many = tools.execute(_ctx(agent), "check_stock", {"product_id": collant.pk, "quantity": 8}, "c2")
    missing = tools.execute(_ctx(agent), "check_stock", {"product_id": 999999}, "c3")

    assert enough.result["items"] == [{"product_id": collant.pk, "sku": "COL-ML", "attributes": {}, "stock": 7,
                                       "in_stock": True, "can_sell_quantity": True}]
    assert too_many.result["items"][0]["can_sell_quantity"] is False
    assert missing.result == {"error": "No product with id 999999.", "code": "product_not_found"}


def test_update_lead_replaces_details_adds_tags_and_moves_the_stage(agent, lead):
    outcome = tools.execute(_ctx(agent, lead), "update_lead", {
        "email": "Ana.Nova@Example.com", "name": "Ana S. Souza", "tags": ["ponta"], "stage": "qualified",
        "reason": "quer comprar sapatilha de ponta",
    }, "c1")

    lead.refresh_from_db()
    assert outcome.ok
    assert (lead.name, lead.email, lead.stage, lead.tags) == ("Ana S. Souza", "ana.nova@example.com", "qualified", ["ponta"])
    assert lead.identities.filter(kind="email", value="ana.nova@example.com").exists()


def test_collect_form_validates_each_field_and_keeps_the_good_ones_until_complete(agent, lead):
    ctx = _ctx(agent, lead)

    first = tools.execute(ctx, "collect_form", {"form": "checkout", "values": {
        "name": "Ana Souza", "email": "ana@example.com", "cpf": "123.456.789-00",
    }}, "c1")
    second = tools.execute(ctx, "collect_form", {"form": "checkout", "values": {
        "cpf": "529.982.247-25", "address": "Rua das Flores, 120, São Paulo", "postal_code": "01310100",
    }}, "c2")

    assert first.result["invalid"] == {"cpf": "not a valid CPF (11 digits with matching check digits)"}
    assert first.result["missing"] == ["cpf", "address", "postal_code"]
    assert first.result["next"] == "Ask the customer for: cpf."
    assert second.result["complete"] is True
    stored = CollectedForm.objects.get(lead=lead, form="checkout")
    assert stored.data == {
        "name": "Ana Souza", "email": "ana@example.com", "cpf": "529.982.247-25",
        "address": "Rua das Flores, 120, São Paulo", "postal_code": "01310-100",
    }
    lead.refresh_from_db()
    assert lead.email == "ana@example.com"
    assert lead.events.filter(kind="note", payload__form="checkout").count() == 1


def test_collect_form_of_an_unknown_customer_creates_the_lead_from_the_email(agent):
    ctx = _ctx(agent)

    outcome = tools.execute(ctx, "collect_form", {"form": "contact", "values": {"email": "bia@example.com"}}, "c1")

    assert outcome.result["missing"] == ["name", "phone"]
    assert ctx.lead_id is not None
    assert CollectedForm.objects.get(lead_id=ctx.lead_id).data == {"email": "bia@example.com"}


def test_confirmed_shipping_address_goes_on_the_next_order(agent, lead, products):
    ctx = _ctx(agent, lead)

    confirmed = tools.execute(ctx, "confirm_shipping", {
        "recipient": "Ana Souza", "street": "Rua das Flores", "number": "120", "city": "São Paulo",
        "state": "sp", "postal_code": "01310-100",
    }, "c1")
    bad_cep = tools.execute(ctx, "confirm_shipping", {
        "street": "Rua X", "number": "1", "city": "Rio", "state": "RJ", "postal_code": "1234-567",
    }, "c2")
    order = tools.execute(ctx, "create_order", {"items": [{"product_id": products["meia"].pk, "quantity": 1}]}, "c3")

    assert confirmed.result["as_text"] == "Rua das Flores, 120, São Paulo/SP, 01310-100"
    assert bad_cep.result == {"error": "postal_code: a CEP has 8 digits; ask the customer again."}
    assert order.result["shipping_address"] == {
        "recipient": "Ana Souza", "street": "Rua das Flores", "number": "120", "city": "São Paulo", "state": "SP",
        "postal_code": "01310-100",
    }


def test_report_outcome_labels_the_conversation_and_the_latest_label_wins(agent, lead):
    ctx = _ctx(agent, lead)

    tools.execute(ctx, "report_outcome", {"outcome": "lead", "confidence": 0.6}, "c1")
    tools.execute(ctx, "report_outcome", {"outcome": "sale", "confidence": 0.95, "note": "pedido criado"}, "c2")
    dry = tools.execute(_ctx(agent, lead, dry_run=True), "report_outcome", {"outcome": "lost", "confidence": 1}, "c3")

    label = ConversationOutcome.objects.get(conversation_id=1)
    assert (label.outcome, label.confidence, label.note, label.lead_id) == ("sale", Decimal("0.95"), "pedido criado", lead.pk)
    assert dry.result["dry_run"] is True and ConversationOutcome.objects.count() == 1


def test_web_search_asks_the_configured_searxng_api(agent, fake_http, settings):
    fake_http.answer = lambda r: (200, {"results": [
        {"title": "Tabela Capezio", "url": "https://capezio.example/sizes", "content": "Medidas em cm"},
    ]})
    settings.AGENTS_WEB_SEARCH_URL = fake_http.url
    ctx = _ctx(agent)

    outcome = tools.execute(ctx, "web_search", {"query": "tabela de tamanhos capezio", "language": "pt-BR"}, "c1")

    assert outcome.result == {"results": [
        {"title": "Tabela Capezio", "url": "https://capezio.example/sizes", "snippet": "Medidas em cm"},
    ]}
    assert fake_http.requests[0].query == {"q": ["tabela de tamanhos capezio"], "format": ["json"], "language": ["pt-BR"]}
    assert ctx.sources == ["https://capezio.example/sizes"]


def test_web_search_off_or_down_is_an_answer_to_the_model(agent, fake_http, settings):
    settings.AGENTS_WEB_SEARCH_URL = ""
    off = tools.execute(_ctx(agent), "web_search", {"query": "capezio"}, "c1")
    settings.AGENTS_WEB_SEARCH_URL = fake_http.url
    fake_http.answer = lambda r: (502, {"error": "upstream"})
    down = tools.execute(_ctx(agent), "web_search", {"query": "capezio"}, "c2")

    assert off.result == {"error": "Web search is not configured for this store; answer from the store's own information."}
    assert down.result == {"error": "The web search is unavailable right now (HTTPStatusError)."}


@pytest.mark.parametrize(("expression", "result"), [
    ("3 * 99.90 * 0.9", "269.73"),
    ("0.1 + 0.2", "0.3"),
    ("round(259.70 / 3, 2)", "86.57"),
    ("2 ^ 10", "1024"),
    ("(10 - 4) % 4", "2"),
    ("sqrt(2)", "1.4142135624"),
])
def test_calculator_does_exact_arithmetic(agent, expression, result):
    assert tools.execute(_ctx(agent), "calculator", {"expression": expression}, "c1").result == {
        "expression": expression, "result": result,
    }


@pytest.mark.parametrize("expression", [
    "__import__('os').system('id')", "().__class__", "open('/etc/passwd')", "9 ** 9 ** 9", "1/0", "x + 1",
])
def test_calculator_refuses_anything_but_arithmetic(agent, expression):
    outcome = tools.execute(_ctx(agent), "calculator", {"expression": expression}, "c1")

    assert not outcome.ok and outcome.result["error"]


def test_calculate_has_no_eval_path_to_builtins():
    with pytest.raises(tools.ToolFailed):
        calculate("[1, 2]")


def _store_tool(agent, url, **fields) -> HttpTool:
    tool = HttpTool.objects.create(
        name=fields.pop("name", "shipping_quote"), description="Frete pela transportadora da loja.", url=url,
        parameters={"type": "object", "properties": {"cep": {"type": "string", "pattern": "^[0-9]{8}$"}},
                    "required": ["cep"], "additionalProperties": False},
        **fields,
    )
    tool.full_clean()
    agent.enabled_tools = [*agent.enabled_tools, tool.name]
    agent.save()
    return tool


def test_a_store_http_tool_calls_the_stores_system_with_vault_headers(agent, fake_http):
    fake_http.answer = lambda r: (200, {"price": "19.90", "days": 3})
    vault.set_credential("other", "transportadora", "tok-123")
    _store_tool(agent, fake_http.url + "/quote", method="POST", headers={"X-Store": "demo"},
                secret_headers={"Authorization": "transportadora"}, allowed_private_hosts=["127.0.0.1"], writes=False)
    ctx = _ctx(agent)

    outcome = tools.execute(ctx, "shipping_quote", {"cep": "01310100"}, "c1")
    bad = tools.execute(ctx, "shipping_quote", {"cep": "0131"}, "c2")

    assert outcome.result == {"status": 200, "response": {"price": "19.90", "days": 3}}
    [request] = fake_http.requests
    assert (request.method, request.path, request.json()) == ("POST", "/quote", {"cep": "01310100"})
    assert (request.headers["authorization"], request.headers["x-store"]) == ("tok-123", "demo")
    assert "Invalid arguments for shipping_quote" in bad.result["error"]
    assert "shipping_quote" in [s["function"]["name"] for s in tools.specs(agent.enabled_tools)]


def test_a_store_tool_may_not_reach_a_private_address_unless_the_store_allows_the_host(agent, fake_http):
    _store_tool(agent, fake_http.url + "/quote")

    outcome = tools.execute(_ctx(agent), "shipping_quote", {"cep": "01310100"}, "c1")

    assert outcome.result["error"].startswith("Refused: 127.0.0.1 is a private, loopback or link-local address")
    assert fake_http.requests == []


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "http://[::1]:8080/", "http://localhost/",
    "http://0.0.0.0/", "ftp://example.com/",
])
def test_the_guard_refuses_private_loopback_and_link_local_urls(url):
    with pytest.raises(tools.ToolFailed):
        guarded_url(url, [])


def test_a_store_webhook_tool_posts_the_conversation_signed_and_a_dry_run_calls_nothing(agent, fake_http, lead):
    fake_http.answer = lambda r: (202, {"ok": True})
    vault.set_credential("other", "tool:notify_crm", "whsec_test")
    _store_tool(agent, fake_http.url + "/hook", name="notify_crm", kind="webhook", allowed_private_hosts=["127.0.0.1"])

    dry = tools.execute(_ctx(agent, lead, dry_run=True), "notify_crm", {"cep": "01310100"}, "c0")
    outcome = tools.execute(_ctx(agent, lead), "notify_crm", {"cep": "01310100"}, "c1")

    assert dry.result["dry_run"] is True
    assert outcome.result == {"status": 202, "response": {"ok": True}}
    [request] = fake_http.requests
    assert request.json() == {"tool": "notify_crm", "call_id": "c1", "arguments": {"cep": "01310100"},
                              "conversation_id": 1, "channel": "whatsapp", "lead_id": lead.pk, "agent_id": agent.pk}
    expected = hmac.new(b"whsec_test", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-atendo-signature"] == f"sha256={expected}"


def test_a_store_tool_cannot_take_a_builtin_name(store):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        HttpTool(name="create_order", description="x", url="https://example.com/").full_clean()
