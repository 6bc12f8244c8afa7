"""Races against the real PostgreSQL: threads with their own connections and real commits."""

from decimal import Decimal

from catalog.errors import OutOfStock
from catalog.models import Product
from leads.services import ensure_lead
from leads.tests.conftest import run_in_threads
from orders import services
from orders.models import Order, OrderTransition

THREADS = 8


def test_the_last_unit_cannot_be_sold_twice(committed_store_a):
    last_pair = Product.objects.create(
        sku="RACE-LAST",
        name="Last pointe shoes",
        price=Decimal("199.90"),
        stock_quantity=1,
    )
    customers = [
        ensure_lead("whatsapp", f"55119000000{i:02d}").pk for i in range(THREADS)
    ]

    results = run_in_threads(
        committed_store_a,
        THREADS,
        lambda i: services.create_order(customers[i], [(last_pair.pk, 1)], "whatsapp"),
    )

    orders = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, OutOfStock)]
    assert len(orders) == 1, results
    assert len(refused) == THREADS - 1, results
    assert all(e.code == "out_of_stock" and e.available == 0 for e in refused)
    assert Product.objects.get(pk=last_pair.pk).stock_quantity == 0
    assert Order.objects.filter(items__product=last_pair).count() == 1


def test_many_customers_never_oversell_a_small_stock(committed_store_a):
    hot = Product.objects.create(
        sku="RACE-HOT", name="Hot leotard", price=Decimal("89.90"), stock_quantity=5
    )
    customers = [
        ensure_lead("whatsapp", f"55119100000{i:02d}").pk for i in range(THREADS * 2)
    ]

    results = run_in_threads(
        committed_store_a,
        THREADS * 2,
        lambda i: services.create_order(customers[i], [(hot.pk, 1)], "api"),
    )

    assert sum(isinstance(r, Order) for r in results) == 5
    assert sum(isinstance(r, OutOfStock) for r in results) == THREADS * 2 - 5
    assert Product.objects.get(pk=hot.pk).stock_quantity == 0


def test_two_orders_locking_the_same_products_in_opposite_order_do_not_deadlock(
    committed_store_a,
):
    a = Product.objects.create(
        sku="RACE-A", name="A", price=Decimal(10), stock_quantity=100
    )
    b = Product.objects.create(
        sku="RACE-B", name="B", price=Decimal(10), stock_quantity=100
    )
    lead = ensure_lead("whatsapp", "5511920000000").pk

    results = run_in_threads(
        committed_store_a,
        THREADS,
        lambda i: services.create_order(
            lead, [(a.pk, 1), (b.pk, 1)] if i % 2 else [(b.pk, 1), (a.pk, 1)], "api"
        ),
    )

    assert all(isinstance(r, Order) for r in results), results
    assert Product.objects.get(pk=a.pk).stock_quantity == 100 - THREADS
    assert Product.objects.get(pk=b.pk).stock_quantity == 100 - THREADS


def test_concurrent_retries_with_one_idempotency_key_create_one_order(
    committed_store_a,
):
    shoes = Product.objects.create(
        sku="RACE-IDEM", name="Pointe shoes", price=Decimal("199.90"), stock_quantity=10
    )
    lead = ensure_lead("whatsapp", "5511930000000").pk

    results = run_in_threads(
        committed_store_a,
        THREADS,
        lambda i: (
            services.create_order(
                lead, [(shoes.pk, 1)], "whatsapp", idempotency_key="tool_call_42"
            ).pk
        ),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Order.objects.filter(idempotency_key="tool_call_42").count() == 1
    assert Product.objects.get(pk=shoes.pk).stock_quantity == 9


def test_cancel_racing_expiry_restores_stock_once(committed_store_a):
    shoes = Product.objects.create(
        sku="RACE-CANCEL",
        name="Pointe shoes",
        price=Decimal("199.90"),
        stock_quantity=3,
    )
    lead = ensure_lead("whatsapp", "5511940000000").pk
    order = services.create_order(lead, [(shoes.pk, 2)], "api")

    def work(i: int):
        if i % 2:
            return services.cancel_order(order.pk, by=f"t{i}").status
        return services.transition_order(order.pk, "expired", by=f"t{i}").status

    results = run_in_threads(committed_store_a, THREADS, work)

    assert sum(isinstance(r, str) for r in results) == 1, results
    assert Product.objects.get(pk=shoes.pk).stock_quantity == 3
    assert OrderTransition.objects.filter(order=order).count() == 2
