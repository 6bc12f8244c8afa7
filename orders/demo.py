"""Demo orders in different states (idempotent: each has a fixed idempotency key)."""

from __future__ import annotations

from catalog.errors import OutOfStock
from catalog.models import Product
from leads.models import Lead
from orders import services
from orders.models import Order

BY = "demo"


def populate() -> list[Order]:
    """Needs products with stock and the demo leads; creates nothing without them."""
    products = list(
        Product.objects.filter(is_active=True, stock_quantity__gte=3).order_by("pk")[:3]
    )
    leads = list(Lead.objects.order_by("pk")[:4])
    if not products or not leads:
        return []
    address = {
        "street": "Rua Augusta 1500",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01304-001",
        "country": "BR",
    }
    plans = [
        # (key, lead, items, steps)
        ("demo-order-1", leads[0], [(products[0].pk, 1)], ["pay", "ship", "deliver"]),
        ("demo-order-2", leads[0], [(products[-1].pk, 1)], ["pay"]),
        (
            "demo-order-3",
            leads[1 % len(leads)],
            [(p.pk, 1) for p in products[:2]],
            ["request_payment"],
        ),
        ("demo-order-4", leads[2 % len(leads)], [(products[0].pk, 1)], ["cancel"]),
        ("demo-order-5", leads[-1], [(products[-1].pk, 1)], []),
    ]
    orders = []
    for key, lead, items, steps in plans:
        if Order.objects.filter(idempotency_key=key).exists():
            orders.append(Order.objects.get(idempotency_key=key))
            continue
        try:
            order = services.create_order(
                lead.pk,
                items,
                "whatsapp",
                idempotency_key=key,
                shipping_address=address,
                by=BY,
            )
        except OutOfStock:
            continue
        for step in steps:
            if step in ("pay", "request_payment"):
                services.start_payment(order.pk, "manual", by=BY)
            if step == "pay":
                services.mark_paid(order.pk, by=BY)
            elif step == "ship":
                services.ship_order(
                    order.pk, tracking_code="BR123456789BR", carrier="Correios", by=BY
                )
            elif step == "deliver":
                services.mark_delivered(order.pk, by=BY)
            elif step == "cancel":
                services.cancel_order(
                    order.pk, by=BY, reason="customer changed their mind"
                )
        order.refresh_from_db()
        orders.append(order)
    return orders
