"""A store's orders: items with price snapshots, the status history, payment webhooks."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REFUNDED = "refunded", "Refunded"


# The state machine: status -> statuses it may become.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.PENDING_PAYMENT, Status.CANCELLED, Status.EXPIRED),
    Status.PENDING_PAYMENT: (Status.PAID, Status.CANCELLED, Status.EXPIRED),
    Status.PAID: (Status.SHIPPED, Status.REFUNDED),
    Status.SHIPPED: (Status.DELIVERED, Status.REFUNDED),
    Status.DELIVERED: (),
    Status.CANCELLED: (),
    Status.EXPIRED: (),
    Status.REFUNDED: (),
}
# Entering one of these gives the reserved stock back. They are final, so it happens once.
RESTOCKING = frozenset({Status.CANCELLED, Status.EXPIRED, Status.REFUNDED})
UNPAID = (Status.DRAFT, Status.PENDING_PAYMENT)


class GatewayRefund(models.TextChoices):
    """Where the money of a refunded order stands at its payment gateway."""

    NONE = "", "Not needed"
    PENDING = "pending", "Pending at the gateway"
    DONE = "done", "Refunded by the gateway"
    FAILED = "failed", "Failed: retry or refund by hand"


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="orders"
    )
    channel = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    currency = models.CharField(max_length=3, default="BRL")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    shipping_total = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
    )
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    shipping_address = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    # e.g. the agent's tool-call id: a retry with the same key gets the same order.
    idempotency_key = models.CharField(
        max_length=200, unique=True, null=True, blank=True
    )
    payment_gateway = models.CharField(max_length=30, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True, db_index=True)
    payment_url = models.URLField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    gateway_refund = models.CharField(
        max_length=10, choices=GatewayRefund.choices, default=GatewayRefund.NONE, blank=True
    )
    gateway_refund_reference = models.CharField(max_length=100, blank=True)
    gateway_refund_error = models.TextField(blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_code = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def allowed_transitions(self) -> tuple[str, ...]:
        return TRANSITIONS[self.status]


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="order_items"
    )
    # Snapshots: what the customer saw and pays, whatever the catalog says later.
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="order_item_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderTransition(models.Model):
    """One status change of an order: who or what did it, when, from and to."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    by = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class PaymentWebhookEvent(models.Model):
    """A payment provider's webhook delivery, kept once per event id (replays are no-ops)."""

    gateway = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=60)
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_events",
    )
    outcome = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"], name="payment_event_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.kind} {self.event_id}"
