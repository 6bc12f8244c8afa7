from django_tenants.utils import tenant_context

from conftest import OWNER_PASSWORD, STORE_A
from orders import services
from orders.models import Order

HOST = "store-a.localhost"


def _login(client):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302


def test_staff_see_an_order_with_its_items_and_history(
    client, store, lead, make_product
):
    order = services.create_order(
        lead.pk, [(make_product(name="Sapatilha de ponta 36").pk, 1)], "whatsapp"
    )
    services.start_payment(order.pk)
    _login(client)

    listing = client.get("/admin/orders/order/", HTTP_HOST=HOST)
    page = client.get(f"/admin/orders/order/{order.pk}/change/", HTTP_HOST=HOST)

    assert listing.status_code == 200 and order.number.encode() in listing.content
    assert page.status_code == 200
    assert b"Sapatilha de ponta 36" in page.content
    assert b"History" in page.content and b"pending_payment" in page.content
    assert b"paid, cancelled, expired" in page.content  # allowed next


def test_staff_move_orders_with_admin_actions(client, store, lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "whatsapp")
    services.start_payment(order.pk)
    _login(client)

    response = client.post(
        "/admin/orders/order/",
        {"action": "mark_paid", "_selected_action": [order.pk]},
        HTTP_HOST=HOST,
        follow=True,
    )
    assert response.status_code == 200
    with tenant_context(store):
        order.refresh_from_db()
        assert order.status == "paid"
        assert order.transitions.last().by == f"staff:{STORE_A['owner_email']}"

    # An action the state machine forbids shows its error and changes nothing.
    response = client.post(
        "/admin/orders/order/",
        {"action": "cancel", "_selected_action": [order.pk]},
        HTTP_HOST=HOST,
        follow=True,
    )
    assert b"it cannot become cancelled" in response.content
    with tenant_context(store):
        assert Order.objects.get(pk=order.pk).status == "paid"


def test_staff_see_a_lead_with_identities_timeline_and_orders(
    client, store, lead, make_product
):
    from leads.services import add_identity

    add_identity(lead.pk, "chatwoot", "contact-77")
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "whatsapp")
    _login(client)

    page = client.get(f"/admin/leads/lead/{lead.pk}/change/", HTTP_HOST=HOST)

    assert page.status_code == 200
    for text in (
        b"contact-77",
        b"+5511988887777",
        b"Order created",
        order.number.encode(),
    ):
        assert text in page.content


def test_the_demo_is_idempotent_and_shows_orders_in_several_states(store, make_product):
    from leads import demo as leads_demo
    from leads.models import Lead
    from orders import demo as orders_demo

    assert orders_demo.populate() == []  # no products yet: no orders
    for _ in range(3):
        make_product(stock=20)

    leads_demo.populate()
    first = orders_demo.populate()
    leads_demo.populate()
    again = orders_demo.populate()

    assert Lead.objects.count() == len(leads_demo.DEMO_LEADS)
    assert [o.pk for o in again] == [o.pk for o in first]
    assert Order.objects.count() == 5
    assert sorted(o.status for o in again) == [
        "cancelled",
        "delivered",
        "draft",
        "paid",
        "pending_payment",
    ]


def test_the_demo_orders_use_the_catalog_demo_products(store):
    from catalog import demo as catalog_demo
    from leads import demo as leads_demo
    from orders import demo as orders_demo

    catalog_demo.populate()
    leads_demo.populate()
    orders = orders_demo.populate()

    assert len(orders) == 5
    assert all(o.items.exists() for o in orders)


def test_an_order_of_one_store_is_invisible_and_unpayable_from_another(
    store, other_store, lead, make_product, abacatepay
):
    import json

    import pytest

    from orders.errors import OrderNotFound
    from orders.payments.abacatepay import sign

    order = services.start_payment(
        services.create_order(lead.pk, [(make_product().pk, 1)], "api").pk, "abacatepay"
    )
    body = json.dumps(
        {
            "id": "log_x",
            "event": "checkout.completed",
            "apiVersion": 2,
            "data": {
                "checkout": {
                    "id": order.payment_reference,
                    "externalId": order.number,
                    "paidAmount": 10000,
                }
            },
        }
    ).encode()

    with tenant_context(other_store):
        assert not Order.objects.filter(number=order.number).exists()
        with pytest.raises(OrderNotFound):
            services.mark_paid(order.pk, by="intruder")
        # Store B's own vault decides: store A's webhook secret is not B's.
        from agents import vault
        from orders.errors import WebhookRejected

        vault.set_credential("payment", "abacatepay_webhook_secret", "whsec-store-b")
        with pytest.raises(WebhookRejected):
            services.handle_payment_webhook(
                "abacatepay",
                body,
                {"X-Webhook-Signature": sign(body)},
                {"webhookSecret": "whsec-store-a"},
            )
        outcome = services.handle_payment_webhook(
            "abacatepay",
            body,
            {"X-Webhook-Signature": sign(body)},
            {"webhookSecret": "whsec-store-b"},
        )
        assert outcome.outcome == "order_not_found"
    assert Order.objects.get(pk=order.pk).status == "pending_payment"


def _inline_management(prefix: str, pks: list[int]) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(pks)),
        f"{prefix}-INITIAL_FORMS": str(len(pks)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    data.update({f"{prefix}-{i}-id": str(pk) for i, pk in enumerate(pks)})
    return data


def test_saving_shipping_details_of_a_paid_order_ships_it(
    client, store, lead, make_product
):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "whatsapp")
    services.start_payment(order.pk)
    services.mark_paid(order.pk, by="gateway:manual")
    _login(client)

    response = client.post(
        f"/admin/orders/order/{order.pk}/change/",
        {
            "shipping_address": '{"city": "Recife"}',
            "notes": "fragile",
            "carrier": "Correios",
            "tracking_code": "BR987654321BR",
            **_inline_management(
                "items", list(order.items.values_list("pk", flat=True))
            ),
            **_inline_management(
                "transitions", list(order.transitions.values_list("pk", flat=True))
            ),
        },
        HTTP_HOST=HOST,
    )

    errors = response.context and [
        response.context["adminform"].form.errors,
        *[f.formset.errors for f in response.context["inline_admin_formsets"]],
        [
            f.formset.non_form_errors()
            for f in response.context["inline_admin_formsets"]
        ],
    ]
    assert response.status_code == 302, errors
    with tenant_context(store):
        order.refresh_from_db()
        assert (order.status, order.carrier, order.tracking_code) == (
            "shipped",
            "Correios",
            "BR987654321BR",
        )
        assert order.shipping_address == {"city": "Recife"} and order.notes == "fragile"
        assert order.transitions.last().by == f"staff:{STORE_A['owner_email']}"
