"""Events other apps announce (without importing channels) become the store's events."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from channels import events
from channels.models import EventKind


def _lead_created(sender, instance, created: bool, **kwargs) -> None:
    if created:
        events.emit(EventKind.LEAD_CREATED, {"lead_id": instance.pk, "name": instance.name,
                                             "phone": instance.phone, "email": instance.email,
                                             "source_channel": instance.source_channel})


def _order_transition(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        return
    order = instance.order
    data = {"order_id": order.pk, "number": getattr(order, "number", ""), "from": instance.from_status,
            "to": instance.to_status, "by": instance.by, "total": str(getattr(order, "total", "")),
            "lead_id": order.lead_id}
    if not instance.from_status:
        events.emit(EventKind.ORDER_CREATED, data)
    else:
        events.emit(EventKind.ORDER_STATUS_CHANGED, data)
        if instance.to_status == "paid":
            events.emit(EventKind.ORDER_PAID, data)


def _stock_changed(sender, product_id: int, sku: str, before: int, after: int, **kwargs) -> None:
    events.emit(EventKind.STOCK_CHANGED, {"product_id": product_id, "sku": sku, "before": before, "after": after})


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(events.forget_subscriptions, sender="channels.WebhookSubscription",
                       dispatch_uid=f"channels.forget_subscriptions.{signal is post_save}")
    post_save.connect(_lead_created, sender="leads.Lead", dispatch_uid="channels.lead_created")
    post_save.connect(_order_transition, sender="orders.OrderTransition", dispatch_uid="channels.order_transition")
    try:
        from catalog.signals import stock_changed
    except ImportError:  # a deployment without the catalog app
        return
    stock_changed.connect(_stock_changed, dispatch_uid="channels.stock_changed")
