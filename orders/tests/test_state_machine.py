from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalog.models import Product
from leads.models import Lead, LeadEvent
from orders import services, tasks
from orders.errors import IllegalTransition, ShippingDetailsMissing
from orders.models import Order


def _stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


def test_an_order_goes_from_draft_to_delivered_and_every_step_is_recorded(
    lead, make_product
):
    shoes = make_product(stock=2)
    order = services.create_order(lead.pk, [(shoes.pk, 1)], "whatsapp")

    services.start_payment(order.pk, "manual", by="agent")
    services.mark_paid(order.pk, by="staff:ana")
    services.ship_order(
        order.pk, tracking_code="BR123456789BR", carrier="Correios", by="staff:ana"
    )
    order = services.mark_delivered(order.pk, by="staff:ana")

    assert order.status == "delivered"
    assert (order.carrier, order.tracking_code) == ("Correios", "BR123456789BR")
    assert order.paid_at and order.shipped_at
    assert list(order.transitions.values_list("from_status", "to_status", "by")) == [
        ("", "draft", "channel:whatsapp"),
        ("draft", "pending_payment", "agent"),
        ("pending_payment", "paid", "staff:ana"),
        ("paid", "shipped", "staff:ana"),
        ("shipped", "delivered", "staff:ana"),
    ]
    assert _stock(shoes) == 1  # sold: the reservation stays taken


def test_paying_makes_the_lead_a_customer_and_records_it(lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "whatsapp")
    services.start_payment(order.pk)
    services.mark_paid(order.pk, by="staff:ana")

    assert Lead.objects.get(pk=lead.pk).stage == "customer"
    assert (
        LeadEvent.objects.get(lead=lead, kind="order_paid").payload["number"]
        == order.number
    )


@pytest.mark.parametrize(
    ("steps", "target"),
    [
        ([], "paid"),  # a draft is not paid without asking for payment
        ([], "shipped"),
        (["pay"], "cancelled"),  # paid orders are refunded, not cancelled
        (["pay", "ship"], "pending_payment"),
        (["cancel"], "pending_payment"),
        (["cancel"], "cancelled"),
    ],
)
def test_an_illegal_transition_is_refused_with_a_clear_error(
    lead, make_product, steps, target
):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    for step in steps:
        if step == "pay":
            services.start_payment(order.pk)
            services.mark_paid(order.pk, by="t")
        elif step == "ship":
            services.ship_order(
                order.pk, tracking_code="X1", carrier="Correios", by="t"
            )
        elif step == "cancel":
            services.cancel_order(order.pk, by="t")
    before = Order.objects.get(pk=order.pk).status
    count = order.transitions.count()

    with pytest.raises(IllegalTransition) as error:
        services.transition_order(order.pk, target, by="t")

    assert error.value.code == "illegal_transition"
    assert (
        f"Order {order.number} is {before}; it cannot become {target}"
        in error.value.message
    )
    assert Order.objects.get(pk=order.pk).status == before
    assert order.transitions.count() == count


def test_cancelling_restores_stock_exactly_once(lead, make_product):
    shoes = make_product(stock=3)
    order = services.create_order(lead.pk, [(shoes.pk, 2)], "api")
    assert _stock(shoes) == 1

    services.cancel_order(order.pk, by="customer", reason="changed my mind")
    with pytest.raises(IllegalTransition):
        services.cancel_order(order.pk, by="customer")
    assert services.expire_unpaid_orders(older_than_minutes=0) == []
    with pytest.raises(IllegalTransition):
        services.transition_order(order.pk, "expired", by="t")

    assert _stock(shoes) == 3
    assert list(order.transitions.values_list("to_status", "note")) == [
        ("draft", "created"),
        ("cancelled", "changed my mind"),
    ]


def test_refunding_a_shipped_order_restores_stock_once(lead, make_product):
    shoes = make_product(stock=3)
    order = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    services.start_payment(order.pk)
    services.mark_paid(order.pk, by="t")
    services.ship_order(order.pk, tracking_code="X1", carrier="Correios", by="t")

    services.refund_order(order.pk, by="staff:ana", reason="damaged")
    with pytest.raises(IllegalTransition):
        services.refund_order(order.pk, by="staff:ana")

    assert _stock(shoes) == 3
    assert Order.objects.get(pk=order.pk).status == "refunded"


def test_shipping_needs_a_carrier_and_a_tracking_code(lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    services.start_payment(order.pk)
    services.mark_paid(order.pk, by="t")

    with pytest.raises(ShippingDetailsMissing):
        services.ship_order(order.pk, tracking_code=" ", carrier="Correios", by="t")
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_unpaid_orders_expire_after_the_configured_time_and_give_stock_back(
    lead, make_product, settings
):
    settings.ORDERS_UNPAID_EXPIRY_MINUTES = 30
    shoes = make_product(stock=5)
    old_draft = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    old_pending = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    services.start_payment(old_pending.pk)
    old_paid = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    services.start_payment(old_paid.pk)
    services.mark_paid(old_paid.pk, by="t")
    recent = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    Order.objects.exclude(pk=recent.pk).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )
    assert _stock(shoes) == 1

    expired = services.expire_unpaid_orders()
    assert (
        services.expire_unpaid_orders() == []
    )  # nothing left to expire, no double restore

    assert sorted(expired) == sorted([old_draft.number, old_pending.number])
    assert _stock(shoes) == 3
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        old_draft.pk: "expired",
        old_pending.pk: "expired",
        old_paid.pk: "paid",
        recent.pk: "draft",
    }
    assert Order.objects.get(pk=old_draft.pk).transitions.last().by == "system:expiry"


def test_the_beat_task_expires_orders_in_every_store(
    store, other_store, make_product, lead
):
    from catalog.tests.factories import product
    from leads.services import ensure_lead

    in_a = services.create_order(lead.pk, [(make_product(stock=2).pk, 1)], "api")
    with tenant_context(other_store):
        bruno = ensure_lead("whatsapp", "5521977776666")
        in_b = services.create_order(
            bruno.pk, [(product("B-1", "B product", stock=2).pk, 1)], "api"
        )
        Order.objects.update(created_at=timezone.now() - timedelta(days=1))
    Order.objects.update(created_at=timezone.now() - timedelta(days=1))

    result = tasks.expire_unpaid_orders_in_all_stores()

    assert result == {"store-a": 1, "store-b": 1}
    assert Order.objects.get(pk=in_a.pk).status == "expired"
    with tenant_context(other_store):
        assert Order.objects.get(pk=in_b.pk).status == "expired"


def test_the_expiry_task_is_scheduled_by_beat(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "orders.expire_unpaid_orders_in_all_stores" in schedule


def test_merging_leads_keeps_their_orders(lead, make_product):
    from leads.services import ensure_lead, merge_leads

    other = ensure_lead("chatwoot", "contact-5")
    mine = services.create_order(lead.pk, [(make_product().pk, 1)], "whatsapp")
    theirs = services.create_order(other.pk, [(make_product().pk, 1)], "chatwoot")

    merge_leads(lead.pk, other.pk)

    assert set(Order.objects.filter(lead=lead).values_list("pk", flat=True)) == {
        mine.pk,
        theirs.pk,
    }
