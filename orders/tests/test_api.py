"""The orders API: list, detail with items and history, creation (idempotent, never
oversold) and the transitions as POST actions; with auth, scope and tenant rules."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from catalog.models import Product
from catalog.tests.factories import product
from leads.services import ensure_lead
from orders import services
from orders.models import Order
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


@pytest.fixture
def reader(client, store):
    return api_as(client, "store-a", ["read"])


@pytest.fixture
def store_b(client, store, other_store):
    return api_as(client, "store-b", ["app"])


@pytest.fixture
def ana(store):
    return ensure_lead("whatsapp", "5511988887777", name="Ana")


@pytest.fixture
def sapatilha(store):
    return product("SAP-1", "Sapatilha de Ponta", price="189.90", stock=2)


@pytest.fixture
def order(ana, sapatilha):
    return services.create_order(ana.pk, [(sapatilha.pk, 1)], "whatsapp")


ACTIONS = ["start-payment", "mark-paid", "ship", "deliver", "cancel", "refund"]
ENDPOINTS = [("get", "orders"), ("post", "orders"), ("get", "orders/1"),
             *[("post", f"orders/1/{action}") for action in ACTIONS]]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_orders_endpoint_needs_a_key(client, store, method, path):
    response = getattr(api_as(client, "store-a", None), method)(path)
    assert response.status_code == 401


@pytest.mark.parametrize("method, path", [e for e in ENDPOINTS if e[0] == "post"])
def test_a_read_key_cannot_change_orders(reader, order, method, path):
    response = getattr(reader, method)(path.replace("/1", f"/{order.pk}"))
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "draft"


def test_a_read_key_lists_and_opens_orders(reader, order):
    assert [o["number"] for o in reader.get("orders").json()["results"]] == [order.number]
    assert reader.get(f"orders/{order.pk}").json()["number"] == order.number


def test_a_webhook_key_cannot_read_orders(client, order):
    assert api_as(client, "store-a", ["webhook"]).get("orders").status_code == 403


@pytest.mark.parametrize("method, path", [e for e in ENDPOINTS if "/1" in e[1]])
def test_store_b_gets_404_for_store_a_orders(store_b, order, method, path):
    body = {"tracking_code": "BR1", "carrier": "Correios"} if path.endswith("ship") else {}
    call = getattr(store_b, method)
    url = path.replace("/1", f"/{order.pk}")
    response = call(url, body) if method == "post" else call(url)
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "draft"


def test_store_b_list_never_shows_store_a_orders(store_b, order, other_store):
    assert store_b.get("orders").json()["results"] == []


def test_store_b_cannot_order_store_a_products_or_for_its_leads(store_b, ana, sapatilha, other_store):
    with tenant_context(other_store):
        bob = ensure_lead("whatsapp", "5511977776666", name="Bob")
        assert not Product.objects.filter(pk=sapatilha.pk).exists()
    response = store_b.post("orders", {"lead_id": bob.pk, "items": [{"product_id": sapatilha.pk, "quantity": 1}]})
    assert response.status_code == 404
    assert "items" in error(response)["fields"]
    assert Product.objects.get(pk=sapatilha.pk).stock_quantity == 2
    for_a_lead = store_b.post("orders", {"lead_id": ana.pk, "items": [{"product_id": 1, "quantity": 1}]})
    assert for_a_lead.status_code == 404


def test_create_an_order_reserves_stock_and_returns_items_and_history(app, ana, sapatilha):
    response = app.post("orders", {
        "lead_id": ana.pk, "items": [{"product_id": sapatilha.pk, "quantity": 2}],
        "shipping_total": "20.00", "shipping_address": {"city": "São Paulo"},
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["subtotal"], body["total"], body["channel"]) == ("draft", "379.80", "399.80", "api")
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in body["items"]] == [("SAP-1", 2, "189.90")]
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("", "draft")]
    assert body["history"][0]["by"].startswith("api:")
    assert set(body["allowed_transitions"]) == {"pending_payment", "cancelled", "expired"}
    assert Product.objects.get(pk=sapatilha.pk).stock_quantity == 0


def test_a_retry_with_the_same_idempotency_key_gets_the_same_order(app, ana, sapatilha):
    payload = {"lead_id": ana.pk, "items": [{"product_id": sapatilha.pk, "quantity": 1}]}
    first = app.post("orders", payload, HTTP_IDEMPOTENCY_KEY="checkout-42")
    again = app.post("orders", payload, HTTP_IDEMPOTENCY_KEY="checkout-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=sapatilha.pk).stock_quantity == 1
    in_body = app.post("orders", {**payload, "idempotency_key": "checkout-42"})
    assert in_body.json()["id"] == first.json()["id"]


def test_an_idempotency_key_of_another_lead_is_a_conflict(app, ana, sapatilha):
    bia = ensure_lead("email", "bia@example.com")
    app.post("orders", {"lead_id": ana.pk, "items": [{"product_id": sapatilha.pk, "quantity": 1}]},
             HTTP_IDEMPOTENCY_KEY="k-1")
    response = app.post("orders", {"lead_id": bia.pk, "items": [{"product_id": sapatilha.pk, "quantity": 1}]},
                        HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert error(response)["code"] == "idempotency_conflict"


def test_the_last_unit_cannot_be_sold_twice(app, ana, sapatilha):
    response = app.post("orders", {"lead_id": ana.pk, "items": [{"product_id": sapatilha.pk, "quantity": 3}]})
    assert response.status_code == 409
    assert error(response)["code"] == "out_of_stock"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "payload, status, field",
    [
        ({"items": [{"product_id": 1, "quantity": 1}]}, 400, "lead_id"),
        ({"lead_id": "{ana}", "items": []}, 400, "items"),
        ({"lead_id": "{ana}", "items": [{"product_id": "{sap}", "quantity": 0}]}, 400, "items"),
        ({"lead_id": "{ana}", "items": [{"product_id": 999999, "quantity": 1}]}, 404, "items"),
        ({"lead_id": 999999, "items": [{"product_id": "{sap}", "quantity": 1}]}, 404, "lead_id"),
        ({"lead_id": "{ana}", "items": [{"product_id": "{sap}", "quantity": 1}], "shipping_total": "-1"},
         400, "shipping_total"),
    ],
)
def test_bad_order_input_names_the_field(app, ana, sapatilha, payload, status, field):
    def fill(value):
        if value == "{ana}":
            return ana.pk
        if value == "{sap}":
            return sapatilha.pk
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    response = app.post("orders", fill(payload))
    assert response.status_code == status, response.content
    assert field in error(response)["fields"]


def test_an_inactive_product_is_refused(app, ana):
    old = product("OLD-1", "Old", is_active=False)
    response = app.post("orders", {"lead_id": ana.pk, "items": [{"product_id": old.pk, "quantity": 1}]})
    assert response.status_code == 400
    assert error(response)["code"] == "product_unavailable"


def test_the_manual_payment_path_to_delivery(app, order):
    paying = app.post(f"orders/{order.pk}/start-payment", {"gateway": "manual"})
    assert paying.status_code == 200, paying.content
    assert paying.json()["status"] == "pending_payment"
    paid = app.post(f"orders/{order.pk}/mark-paid", {"note": "PIX received"})
    assert paid.json()["status"] == "paid" and paid.json()["paid_at"]
    shipped = app.post(f"orders/{order.pk}/ship", {"tracking_code": "BR123", "carrier": "Correios"})
    assert (shipped.json()["status"], shipped.json()["tracking_code"], shipped.json()["carrier"]) == (
        "shipped", "BR123", "Correios")
    delivered = app.post(f"orders/{order.pk}/deliver")
    history = [(h["from_status"], h["to_status"]) for h in delivered.json()["history"]]
    assert history == [("", "draft"), ("draft", "pending_payment"), ("pending_payment", "paid"),
                       ("paid", "shipped"), ("shipped", "delivered")]
    order.lead.refresh_from_db()
    assert order.lead.stage == "customer"


def test_cancel_gives_the_stock_back_and_then_nothing_else_is_allowed(app, order, sapatilha):
    cancelled = app.post(f"orders/{order.pk}/cancel", {"note": "changed her mind"})
    assert cancelled.json()["status"] == "cancelled"
    assert Product.objects.get(pk=sapatilha.pk).stock_quantity == 2
    again = app.post(f"orders/{order.pk}/cancel")
    assert again.status_code == 409
    assert error(again)["code"] == "illegal_transition" and "status" in error(again)["fields"]


@pytest.mark.parametrize("action", ["mark-paid", "ship", "deliver", "refund"])
def test_illegal_transitions_from_draft_are_409(app, order, action):
    body = {"tracking_code": "BR1", "carrier": "Correios"} if action == "ship" else {}
    response = app.post(f"orders/{order.pk}/{action}", body)
    assert response.status_code == 409
    assert "cannot become" in error(response)["message"]


@pytest.mark.parametrize("body, field", [({"carrier": "Correios"}, "tracking_code"),
                                         ({"tracking_code": "BR1"}, "carrier"),
                                         ({"tracking_code": " ", "carrier": "Correios"}, "tracking_code")])
def test_shipping_needs_carrier_and_tracking_code(app, order, body, field):
    services.start_payment(order.pk, "manual")
    services.mark_paid(order.pk, by="test")
    response = app.post(f"orders/{order.pk}/ship", body)
    assert response.status_code == 400
    assert field in error(response)["fields"]


def test_an_unknown_gateway_names_the_field(app, order):
    response = app.post(f"orders/{order.pk}/start-payment", {"gateway": "bitcoin"})
    assert response.status_code == 400
    assert "gateway" in error(response)["fields"]


def test_list_filters_by_status_and_lead(app, ana, sapatilha):
    first = services.create_order(ana.pk, [(sapatilha.pk, 1)])
    bia = ensure_lead("email", "bia@example.com")
    second = services.create_order(bia.pk, [(sapatilha.pk, 1)])
    services.cancel_order(first.pk, by="test")

    def numbers(**params):
        response = app.get("orders", params)
        assert response.status_code == 200, response.content
        return sorted(o["number"] for o in response.json()["results"])

    assert numbers(status="cancelled") == [first.number]
    assert numbers(status=["draft", "cancelled"]) == sorted([first.number, second.number])
    assert numbers(lead=bia.pk) == [second.number]
    assert "status" in error(app.get("orders", {"status": "lost"}))["fields"]


def test_created_filters_take_any_offset_python_accepts(app, order):
    response = app.get("orders", {"created_after": "2000-01-01T00:00:00-23:30"})
    assert [o["id"] for o in response.json()["results"]] == [order.pk]
    assert app.get("orders", {"created_before": "2000-01-01T00:00:00Z"}).json()["results"] == []
