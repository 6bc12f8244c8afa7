from decimal import Decimal

import pytest

from catalog.errors import OutOfStock, ProductNotFound
from catalog.models import Product
from leads.errors import LeadNotFound
from leads.models import LeadEvent
from orders import services
from orders.errors import (
    EmptyOrder,
    IdempotencyConflict,
    InvalidQuantity,
    MixedCurrencies,
    ProductUnavailable,
)
from orders.models import Order, OrderItem


def test_creating_an_order_reserves_stock_and_snapshots_prices(lead, make_product):
    shoes = make_product(price="199.90", stock=5, name="Sapatilha de ponta 36")
    tights = make_product(price="49.90", stock=3, name="Meia-calça")

    order = services.create_order(
        lead.pk,
        [(shoes.pk, 2), (tights.pk, 1)],
        "whatsapp",
        shipping_address={"city": "São Paulo"},
        shipping_total=Decimal("15.00"),
    )

    assert order.status == "draft"
    assert order.number.isdigit()
    assert order.channel == "whatsapp"
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("449.70"),
        Decimal("15.00"),
        Decimal("464.70"),
    )
    assert order.currency == "BRL"
    assert [(i.name, i.quantity, i.unit_price) for i in order.items.all()] == [
        ("Sapatilha de ponta 36", 2, Decimal("199.90")),
        ("Meia-calça", 1, Decimal("49.90")),
    ]
    assert Product.objects.get(pk=shoes.pk).stock_quantity == 3
    assert Product.objects.get(pk=tights.pk).stock_quantity == 2
    assert list(order.transitions.values_list("from_status", "to_status", "by")) == [
        ("", "draft", "channel:whatsapp")
    ]
    event = LeadEvent.objects.get(lead=lead, kind="order_created")
    assert event.payload["number"] == order.number
    assert event.payload["products"] == ["2× Sapatilha de ponta 36", "1× Meia-calça"]


def test_a_later_price_change_does_not_change_the_order(lead, make_product):
    shoes = make_product(price="199.90")
    order = services.create_order(lead.pk, [(shoes.pk, 1)], "api")

    Product.objects.filter(pk=shoes.pk).update(price=Decimal("299.90"))

    assert order.items.get().unit_price == Decimal("199.90")


def test_repeated_lines_of_one_product_are_one_item(lead, make_product):
    shoes = make_product(stock=5)
    order = services.create_order(lead.pk, [(shoes.pk, 1), (shoes.pk, 2)], "api")

    assert list(order.items.values_list("quantity", flat=True)) == [3]
    assert Product.objects.get(pk=shoes.pk).stock_quantity == 2


def test_order_numbers_are_unique_and_increasing(lead, make_product):
    shoes = make_product(stock=5)
    first = services.create_order(lead.pk, [(shoes.pk, 1)], "api")
    second = services.create_order(lead.pk, [(shoes.pk, 1)], "api")

    assert int(second.number) > int(first.number)


def test_ordering_more_than_the_stock_creates_nothing(lead, make_product):
    shoes = make_product(stock=5)
    tights = make_product(stock=1)

    with pytest.raises(OutOfStock) as error:
        services.create_order(lead.pk, [(shoes.pk, 2), (tights.pk, 2)], "api")

    assert error.value.code == "out_of_stock"
    assert (error.value.requested, error.value.available) == (2, 1)
    assert Order.objects.count() == 0 and OrderItem.objects.count() == 0
    assert (
        Product.objects.get(pk=shoes.pk).stock_quantity == 5
    )  # the first line's reservation rolled back
    assert not LeadEvent.objects.filter(kind="order_created").exists()


def test_the_same_idempotency_key_returns_the_same_order(lead, make_product):
    shoes = make_product(stock=5)

    first = services.create_order(
        lead.pk, [(shoes.pk, 1)], "whatsapp", idempotency_key="call_abc"
    )
    again = services.create_order(
        lead.pk, [(shoes.pk, 1)], "whatsapp", idempotency_key="call_abc"
    )

    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=shoes.pk).stock_quantity == 4


def test_an_idempotency_key_of_another_customer_is_refused(lead, make_product):
    from leads.services import ensure_lead

    shoes = make_product(stock=5)
    services.create_order(lead.pk, [(shoes.pk, 1)], "api", idempotency_key="call_abc")
    bruno = ensure_lead("whatsapp", "5521977776666")

    with pytest.raises(IdempotencyConflict) as error:
        services.create_order(
            bruno.pk, [(shoes.pk, 1)], "api", idempotency_key="call_abc"
        )
    assert error.value.code == "idempotency_conflict"


def test_an_inactive_product_cannot_be_ordered(lead, make_product):
    retired = make_product(stock=5, is_active=False)

    with pytest.raises(ProductUnavailable) as error:
        services.create_order(lead.pk, [(retired.pk, 1)], "api")
    assert error.value.code == "product_unavailable"
    assert Product.objects.get(pk=retired.pk).stock_quantity == 5


def test_an_untracked_product_is_never_out_of_stock(lead, make_product):
    print_on_demand = make_product(stock=0, track_stock=False)

    order = services.create_order(lead.pk, [(print_on_demand.pk, 3)], "api")

    assert order.items.get().quantity == 3


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ([], EmptyOrder),
        ([(1, 0)], InvalidQuantity),
        ([(1, -2)], InvalidQuantity),
        ([(1, 1.5)], InvalidQuantity),
    ],
)
def test_invalid_items_are_refused(lead, items, error):
    with pytest.raises(error):
        services.create_order(lead.pk, items, "api")


def test_an_unknown_product_or_lead_is_refused(lead, make_product):
    with pytest.raises(ProductNotFound):
        services.create_order(lead.pk, [(10**9, 1)], "api")
    with pytest.raises(LeadNotFound):
        services.create_order(10**9, [(make_product().pk, 1)], "api")
    assert Order.objects.count() == 0


def test_items_in_two_currencies_are_refused(lead, make_product):
    real = make_product(stock=5)
    dollar = make_product(stock=5, currency="USD")

    with pytest.raises(MixedCurrencies):
        services.create_order(lead.pk, [(real.pk, 1), (dollar.pk, 1)], "api")
    assert Product.objects.get(pk=real.pk).stock_quantity == 5
