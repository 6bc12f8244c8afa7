"""Order state changes: creation with stock reservation, the status machine, payments,
shipping, expiry. Every status change goes through ``_move`` under the order's row lock
and is recorded in ``OrderTransition``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog import services as catalog_services
from catalog.errors import ProductNotFound
from catalog.models import Product
from leads import services as lead_services
from leads.errors import LeadNotFound
from leads.models import EventKind, Lead, Stage
from orders import conf
from orders.errors import (
    EmptyOrder,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyConflict,
    IllegalTransition,
    InvalidQuantity,
    MixedCurrencies,
    OrderNotFound,
    PaymentCredentialsMissing,
    PaymentError,
    ProductUnavailable,
    ShippingDetailsMissing,
)
from orders.models import (
    RESTOCKING,
    TRANSITIONS,
    UNPAID,
    GatewayRefund,
    Order,
    OrderItem,
    OrderTransition,
    PaymentWebhookEvent,
    Status,
)
from orders.payments import get_gateway

logger = logging.getLogger(__name__)


def unpaid_expiry_minutes() -> int:
    """Minutes an order may stay unpaid before the beat task expires it."""
    return int(conf.get("ORDERS_UNPAID_EXPIRY_MINUTES"))


# --- creation ---------------------------------------------------------------------------


def create_order(
    lead_id: int,
    items: Iterable[tuple[int, int]],
    channel: str = "",
    *,
    idempotency_key: str | None = None,
    shipping_address: Mapping[str, Any] | None = None,
    shipping_total: Decimal = Decimal(0),
    notes: str = "",
    by: str = "",
) -> Order:
    """Create a draft order for ``items`` (``(product_id, quantity)`` pairs) and reserve
    their stock in the same transaction.

    - Never oversells: each product row is locked (in product-id order, so two orders
      cannot deadlock) and ``catalog.errors.OutOfStock`` is raised when too few units are
      left; then nothing is created and no stock changes. Prices are snapshotted as read
      when the order is placed.
    - Idempotent by ``idempotency_key``: a repeat (even a concurrent one) returns the
      order the first call created; a key reused for another lead raises
      ``IdempotencyConflict``.
    - Raises ``EmptyOrder``, ``InvalidQuantity``, ``ProductUnavailable``,
      ``MixedCurrencies``, ``catalog.errors.ProductNotFound``, ``leads.errors.LeadNotFound``.
    """
    lines = _merge_lines(items)
    if idempotency_key:
        existing = _order_for_key(idempotency_key, lead_id)
        if existing is not None:
            return existing
    if not Lead.objects.filter(pk=lead_id).exists():
        raise LeadNotFound(f"No lead with id {lead_id}.", field="lead_id")

    products = {
        p.pk: p for p in Product.objects.filter(pk__in=[pid for pid, _ in lines])
    }
    for product_id, _ in lines:
        product = products.get(product_id)
        if product is None:
            raise ProductNotFound(f"No product with id {product_id}.", field="items")
        if not product.is_active:
            raise ProductUnavailable(
                f"{product.name} ({product.sku}) is not for sale.", field="items"
            )
    if len({p.currency for p in products.values()}) > 1:
        raise MixedCurrencies(
            "All items of an order must share a currency.", field="items"
        )
    subtotal = sum((products[pid].price * qty for pid, qty in lines), Decimal(0))

    try:
        with transaction.atomic():
            # Inserted first: a concurrent call with the same key waits on this row's
            # unique index and then finds the committed order.
            order = Order.objects.create(
                number=_next_number(),
                lead_id=lead_id,
                channel=channel,
                idempotency_key=idempotency_key or None,
                currency=next(iter(products.values())).currency,
                subtotal=subtotal,
                shipping_total=shipping_total,
                total=subtotal + shipping_total,
                shipping_address=dict(shipping_address or {}),
                notes=notes,
            )
            order_items = OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    product=products[pid],
                    sku=products[pid].sku,
                    name=products[pid].name,
                    quantity=qty,
                    unit_price=products[pid].price,
                )
                for pid, qty in lines
            )
            _record(
                order,
                "",
                Status.DRAFT,
                by=by or f"channel:{channel or 'unknown'}",
                note="created",
            )
            lead_services.record_event(
                lead_id,
                EventKind.ORDER_CREATED,
                {
                    "order_id": order.pk,
                    "number": order.number,
                    "total": str(order.total),
                    "currency": order.currency,
                    "products": [f"{i.quantity}× {i.name}" for i in order_items],
                    "channel": channel,
                },
            )
            # Stock last, in product-id order: the product rows stay locked only from
            # here to the commit, which is what bounds throughput on a hot product.
            for product_id, quantity in lines:
                catalog_services.decrement_stock(product_id, quantity)
    except IntegrityError:
        if idempotency_key:
            existing = _order_for_key(idempotency_key, lead_id)
            if existing is not None:
                return existing
        raise
    logger.info(
        "order.created",
        extra={"order_id": order.pk, "number": order.number, "total": str(order.total)},
    )
    return order


def _merge_lines(items: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: dict[int, int] = {}
    for product_id, quantity in items:
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidQuantity(
                f"Quantity must be a positive whole number, not {quantity!r}.",
                field="items",
            )
        merged[int(product_id)] = merged.get(int(product_id), 0) + quantity
    if not merged:
        raise EmptyOrder("An order needs at least one item.", field="items")
    return sorted(merged.items())


def _order_for_key(key: str, lead_id: int) -> Order | None:
    order = Order.objects.filter(idempotency_key=key).first()
    if order is not None and order.lead_id != lead_id:
        raise IdempotencyConflict(
            f"Idempotency key {key!r} was used for another customer's order.",
            field="idempotency_key",
        )
    return order


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('orders_order_number_seq')")
        return str(cursor.fetchone()[0])


# --- the state machine ------------------------------------------------------------------


def _locked(order_id: int) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound(f"No order with id {order_id}.", field="order_id") from exc


def _record(
    order: Order, from_status: str, to_status: str, *, by: str, note: str = ""
) -> None:
    OrderTransition.objects.create(
        order=order, from_status=from_status, to_status=to_status, by=by, note=note
    )


def _move(order: Order, to: str, *, by: str, note: str = "", **fields: Any) -> Order:
    """Change a *locked* order's status, restoring stock when it leaves the sale."""
    allowed = TRANSITIONS[order.status]
    if to not in allowed:
        raise IllegalTransition(order.number, order.status, to, list(allowed))
    before = order.status
    if to in RESTOCKING:
        # Final states: entered once, so stock comes back exactly once.
        for item in order.items.order_by("product_id"):
            catalog_services.restore_stock(item.product_id, item.quantity)
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    _record(order, before, to, by=by, note=note)
    logger.info(
        "order.transition",
        extra={"order_id": order.pk, "from": before, "to": to, "by": by},
    )
    return order


def transition_order(order_id: int, to: str, *, by: str, note: str = "") -> Order:
    """Move the order to ``to`` if the state machine allows it (``IllegalTransition``
    otherwise). Prefer the named services below: they also set the side fields."""
    handlers = {
        Status.PAID: lambda: mark_paid(order_id, by=by, note=note),
        Status.CANCELLED: lambda: cancel_order(order_id, by=by, reason=note),
        Status.REFUNDED: lambda: refund_order(order_id, by=by, reason=note),
    }
    if to in handlers:
        return handlers[to]()
    with transaction.atomic():
        return _move(_locked(order_id), to, by=by, note=note)


def start_payment(order_id: int, gateway: str = "manual", *, by: str = "") -> Order:
    """Create the gateway's charge and move the order ``draft → pending_payment``.

    The gateway is called outside any lock; calling again on an order already pending
    with this gateway returns it unchanged. Raises ``IllegalTransition``,
    ``UnknownGateway``, ``GatewayUnavailable`` (retryable), ``GatewayRejected``.
    """
    order = _get(order_id)
    if order.status == Status.PENDING_PAYMENT and order.payment_gateway == gateway:
        return order
    if order.status != Status.DRAFT:
        raise IllegalTransition(
            order.number,
            order.status,
            Status.PENDING_PAYMENT,
            list(order.allowed_transitions),
        )
    checkout = get_gateway(gateway).create_checkout(order)
    with transaction.atomic():
        order = _locked(order_id)
        return _move(
            order,
            Status.PENDING_PAYMENT,
            by=by or f"gateway:{gateway}",
            note=f"{gateway} {checkout.reference}",
            payment_gateway=gateway,
            payment_reference=checkout.reference,
            payment_url=checkout.url,
        )


def mark_paid(order_id: int, *, by: str, note: str = "") -> Order:
    """``pending_payment → paid`` (staff with the manual gateway, or a gateway webhook).
    The lead becomes a customer and gets an ``order_paid`` event."""
    with transaction.atomic():
        order = _move(
            _locked(order_id), Status.PAID, by=by, note=note, paid_at=timezone.now()
        )
        _after_paid(order)
    return order


def _after_paid(order: Order) -> None:
    lead_services.record_event(
        order.lead_id,
        EventKind.ORDER_PAID,
        {
            "order_id": order.pk,
            "number": order.number,
            "total": str(order.total),
            "currency": order.currency,
        },
    )
    lead_services.change_stage(
        order.lead_id, Stage.CUSTOMER, by=f"order:{order.number}", reason="order paid"
    )


def ship_order(order_id: int, *, tracking_code: str, carrier: str, by: str) -> Order:
    """Shipping confirmation: ``paid → shipped`` with the carrier and tracking code."""
    tracking_code, carrier = (tracking_code or "").strip(), (carrier or "").strip()
    if not tracking_code or not carrier:
        raise ShippingDetailsMissing(
            "Shipping needs a carrier and a tracking code.", field="tracking_code"
        )
    with transaction.atomic():
        return _move(
            _locked(order_id),
            Status.SHIPPED,
            by=by,
            note=f"{carrier} {tracking_code}",
            tracking_code=tracking_code,
            carrier=carrier,
            shipped_at=timezone.now(),
        )


def mark_delivered(order_id: int, *, by: str, note: str = "") -> Order:
    with transaction.atomic():
        return _move(_locked(order_id), Status.DELIVERED, by=by, note=note)


def cancel_order(order_id: int, *, by: str, reason: str = "") -> Order:
    """``draft|pending_payment → cancelled``; the reserved stock comes back (once)."""
    with transaction.atomic():
        return _move(_locked(order_id), Status.CANCELLED, by=by, note=reason)


def refund_order(order_id: int, *, by: str, reason: str = "") -> Order:
    """``paid|shipped → refunded``; the stock comes back (once).

    When the order was paid through a gateway that holds the money (AbacatePay), the
    refund is sent to it after commit by the ``orders.refund_at_gateway`` task
    (``gateway_refund`` pending → done, or failed after its retries: staff retry it from
    the admin). The order is refunded in the store's books either way, so its status
    and stock never wait on the gateway.
    """
    with transaction.atomic():
        order = _locked(order_id)
        gateway = get_gateway(order.payment_gateway) if order.payment_gateway else None
        fields = {}
        if gateway is not None and gateway.refunds_money:
            fields = {"gateway_refund": GatewayRefund.PENDING, "gateway_refund_error": ""}
        order = _move(order, Status.REFUNDED, by=by, note=reason, **fields)
        if fields:
            _enqueue_gateway_refund(order.pk)
    return order


def _enqueue_gateway_refund(order_id: int) -> None:
    from orders.tasks import refund_at_gateway

    transaction.on_commit(lambda: refund_at_gateway.delay(order_id))


def send_refund_to_gateway(order_id: int, *, last_attempt: bool = False) -> Order:
    """Send a refunded order's pending refund to its gateway. Idempotent: an order whose
    refund is not pending is returned unchanged, and the gateway answers the same refund
    for the same charge.

    ``GatewayUnavailable`` is raised for a retry, unless ``last_attempt``: then, like a
    ``GatewayRejected``, the failure is recorded (``gateway_refund`` failed with the
    error), logged as an error, and the order returned.
    """
    order = _get(order_id)
    if order.gateway_refund != GatewayRefund.PENDING:
        return order
    reason = order.transitions.filter(to_status=Status.REFUNDED).values_list("note", flat=True).first()
    try:
        reference = get_gateway(order.payment_gateway).refund(order, reason or "")
    except GatewayUnavailable as exc:
        if not last_attempt:
            raise
        return _gateway_refund_failed(order, exc)
    except (GatewayRejected, PaymentCredentialsMissing) as exc:
        return _gateway_refund_failed(order, exc)
    Order.objects.filter(pk=order.pk, gateway_refund=GatewayRefund.PENDING).update(
        gateway_refund=GatewayRefund.DONE, gateway_refund_reference=reference, gateway_refund_error=""
    )
    logger.info("order.gateway_refunded", extra={"order_id": order.pk, "reference": reference})
    order.refresh_from_db()
    return order


def _gateway_refund_failed(order: Order, exc: PaymentError) -> Order:
    Order.objects.filter(pk=order.pk, gateway_refund=GatewayRefund.PENDING).update(
        gateway_refund=GatewayRefund.FAILED, gateway_refund_error=exc.message
    )
    logger.error(
        "order.gateway_refund_failed",
        extra={"order_id": order.pk, "number": order.number, "error": exc.message},
    )
    order.refresh_from_db()
    return order


def retry_gateway_refund(order_id: int, *, by: str) -> Order:
    """Queue a failed gateway refund again (staff, after fixing the cause)."""
    with transaction.atomic():
        order = _locked(order_id)
        if order.gateway_refund != GatewayRefund.FAILED:
            raise IllegalTransition(order.number, f"refund {order.gateway_refund or 'not needed'}",
                                    "refund retried", [])
        order.gateway_refund, order.gateway_refund_error = GatewayRefund.PENDING, ""
        order.save(update_fields=["gateway_refund", "gateway_refund_error", "updated_at"])
        logger.info("order.gateway_refund_retried", extra={"order_id": order.pk, "by": by})
        _enqueue_gateway_refund(order.pk)
    return order


def expire_unpaid_orders(
    *, older_than_minutes: int | None = None, now: datetime | None = None
) -> list[str]:
    """Expire every draft/pending order created more than ``older_than_minutes`` ago
    (default: the setting) and give its stock back. Each order is its own short
    transaction; one paid meanwhile is skipped. Returns the expired order numbers."""
    minutes = (
        unpaid_expiry_minutes() if older_than_minutes is None else older_than_minutes
    )
    cutoff = (now or timezone.now()) - timedelta(minutes=minutes)
    expired = []
    for order_id in Order.objects.filter(
        status__in=UNPAID, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                order = _move(
                    _locked(order_id),
                    Status.EXPIRED,
                    by="system:expiry",
                    note=f"unpaid after {minutes} min",
                )
        except IllegalTransition:
            continue  # paid or cancelled since we listed it
        expired.append(order.number)
    if expired:
        logger.info("order.expired", extra={"count": len(expired)})
    return expired


# --- payment webhooks -------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    kind: str
    outcome: str  # paid, refunded, duplicate, already_paid, not_payable, amount_mismatch, order_not_found, ignored
    order_number: str = ""


def handle_payment_webhook(
    gateway: str, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
) -> WebhookOutcome:
    """Verify a gateway's webhook, store it once per event id and apply it.

    A replayed event changes nothing (``duplicate``); an order moves to ``paid`` or
    ``refunded`` exactly once whatever the number of deliveries. Raises
    ``WebhookRejected`` (bad secret/signature/body), storing nothing.
    """
    event = get_gateway(gateway).parse_webhook(body, headers, query)
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = PaymentWebhookEvent.objects.create(
                    gateway=gateway,
                    event_id=event.event_id,
                    kind=event.raw_kind,
                    payload=event.payload,
                )
        except IntegrityError:
            return WebhookOutcome(event.event_id, event.raw_kind, "duplicate")

        order = None
        if event.reference:
            order = Order.objects.filter(
                payment_gateway=gateway, payment_reference=event.reference
            ).first()
        if order is None and event.external_id:
            order = Order.objects.filter(number=event.external_id).first()
        if order is None:
            outcome = "order_not_found"
        else:
            order = _locked(order.pk)
            outcome = _apply_payment_event(order, event, gateway)
        stored.order = order
        stored.outcome = outcome
        stored.save(update_fields=["order", "outcome"])
    log = (
        logger.warning
        if outcome in {"not_payable", "amount_mismatch", "order_not_found"}
        else logger.info
    )
    log("order.payment_webhook", extra={"event_id": event.event_id, "outcome": outcome})
    return WebhookOutcome(
        event.event_id, event.raw_kind, outcome, order.number if order else ""
    )


def _apply_payment_event(order: Order, event, gateway: str) -> str:
    by = f"gateway:{gateway}"
    if event.kind == "paid":
        if order.status in (
            Status.PAID,
            Status.SHIPPED,
            Status.DELIVERED,
            Status.REFUNDED,
        ):
            return "already_paid"
        if order.status != Status.PENDING_PAYMENT:
            return "not_payable"  # cancelled/expired: staff must refund it by hand
        expected = int((order.total * 100).quantize(Decimal(1)))
        if event.amount_cents is not None and event.amount_cents < expected:
            return "amount_mismatch"
        _move(order, Status.PAID, by=by, note=event.event_id, paid_at=timezone.now())
        _after_paid(order)
        return "paid"
    if event.kind == "refunded":
        # The gateway says the money went back: nothing left to send it.
        done = {"gateway_refund": GatewayRefund.DONE, "gateway_refund_error": ""}
        if order.status == Status.REFUNDED:
            if order.gateway_refund in (GatewayRefund.PENDING, GatewayRefund.FAILED):
                Order.objects.filter(pk=order.pk).update(**done)
            return "already_refunded"
        if Status.REFUNDED not in TRANSITIONS[order.status]:
            return "not_refundable"
        _move(order, Status.REFUNDED, by=by, note=event.event_id, **done)
        return "refunded"
    return "ignored"


def _get(order_id: int) -> Order:
    try:
        return Order.objects.select_related("lead").get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise OrderNotFound(f"No order with id {order_id}.", field="order_id") from exc
