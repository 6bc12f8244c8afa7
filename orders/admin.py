"""Orders in the store's admin console: allowed transitions as actions, history inline.
Also adds the lead's orders to the lead page (orders may import leads, not the reverse)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from catalog.errors import CatalogError
from config.admin_base import ModelAdmin, TabularInline
from leads.admin import LeadAdmin
from leads.models import Lead
from orders import services
from orders.errors import OrderError
from orders.models import Order, OrderItem, OrderTransition, PaymentWebhookEvent, Status


class OrderItemInline(TabularInline):
    model = OrderItem
    extra = 0
    fields = ("product", "sku", "name", "quantity", "unit_price")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderTransitionInline(TabularInline):
    model = OrderTransition
    extra = 0
    fields = ("at", "from_status", "to_status", "by", "note")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _run(modeladmin, request, queryset, label: str, call) -> None:
    done, failed = 0, []
    for order in queryset:
        try:
            call(order, f"staff:{request.user.get_username()}")
            done += 1
        except (OrderError, CatalogError) as exc:
            failed.append(f"{order.number}: {exc.message}")
    if done:
        modeladmin.message_user(request, f"{done} order(s) {label}.")
    for message in failed:
        modeladmin.message_user(request, message, messages.ERROR)


@admin.action(description="Ask for payment (manual gateway)")
def request_payment(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "waiting for payment",
        lambda o, by: services.start_payment(o.pk, "manual", by=by),
    )


@admin.action(description="Mark paid")
def mark_paid(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "marked paid",
        lambda o, by: services.mark_paid(o.pk, by=by),
    )


@admin.action(
    description="Mark shipped (uses the carrier and tracking code saved on the order)"
)
def mark_shipped(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "shipped",
        lambda o, by: services.ship_order(
            o.pk, tracking_code=o.tracking_code, carrier=o.carrier, by=by
        ),
    )


@admin.action(description="Mark delivered")
def mark_delivered(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "delivered",
        lambda o, by: services.mark_delivered(o.pk, by=by),
    )


@admin.action(description="Cancel (gives the stock back)")
def cancel(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "cancelled",
        lambda o, by: services.cancel_order(o.pk, by=by),
    )


@admin.action(description="Refund (gives the stock back)")
def refund(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "refunded",
        lambda o, by: services.refund_order(o.pk, by=by),
    )


@admin.action(description="Retry the refund at the payment gateway (failed ones)")
def retry_gateway_refund(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "queued for a refund at the gateway",
        lambda o, by: services.retry_gateway_refund(o.pk, by=by),
    )


# The action each target status is reached by, to offer only what the order allows.
ACTION_FOR_STATUS = {
    Status.PENDING_PAYMENT: "request_payment",
    Status.PAID: "mark_paid",
    Status.SHIPPED: "mark_shipped",
    Status.DELIVERED: "mark_delivered",
    Status.CANCELLED: "cancel",
    Status.REFUNDED: "refund",
}


@admin.register(Order)
class OrderAdmin(ModelAdmin):
    list_display = (
        "number",
        "lead",
        "status",
        "total",
        "currency",
        "channel",
        "gateway_refund",
        "created_at",
    )
    list_filter = ("status", "channel", "payment_gateway", "gateway_refund", "created_at")
    search_fields = (
        "number",
        "lead__name",
        "lead__phone",
        "lead__email",
        "tracking_code",
        "payment_reference",
    )
    date_hierarchy = "created_at"
    list_select_related = ("lead",)
    readonly_fields = (
        "number",
        "lead",
        "channel",
        "status",
        "allowed",
        "currency",
        "subtotal",
        "shipping_total",
        "total",
        "idempotency_key",
        "payment_gateway",
        "payment_reference",
        "payment_url",
        "paid_at",
        "gateway_refund",
        "gateway_refund_reference",
        "gateway_refund_error",
        "shipped_at",
        "created_at",
        "updated_at",
    )
    fields = (
        readonly_fields[:9]
        + ("shipping_address", "notes", "carrier", "tracking_code")
        + readonly_fields[9:]
    )
    inlines = [OrderItemInline, OrderTransitionInline]
    actions = [
        request_payment, mark_paid, mark_shipped, mark_delivered, cancel, refund, retry_gateway_refund,
    ]

    def has_add_permission(self, request) -> bool:
        return False  # orders are created through the service (stock, numbers, history)

    def save_model(self, request, obj, form, change) -> None:
        # Write only what staff edited: a full save() would write back the status the
        # form was loaded with, undoing a payment webhook that landed meanwhile.
        if form.changed_data:
            Order.objects.filter(pk=obj.pk).update(
                **{name: getattr(obj, name) for name in form.changed_data},
                updated_at=timezone.now(),
            )
        current = Order.objects.get(pk=obj.pk)
        if current.status == Status.PAID and current.carrier and current.tracking_code:
            # Entering the shipping details of a paid order is its shipping confirmation.
            try:
                services.ship_order(
                    obj.pk,
                    tracking_code=current.tracking_code,
                    carrier=current.carrier,
                    by=f"staff:{request.user.get_username()}",
                )
            except OrderError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Order {current.number} shipped.")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        status = request.GET.get("status__exact")
        if status in Status.values:
            from orders.models import TRANSITIONS

            allowed = {ACTION_FOR_STATUS[s] for s in TRANSITIONS[status]}
            actions = {
                name: a
                for name, a in actions.items()
                if name in allowed or name not in ACTION_FOR_STATUS.values()
            }
        return actions

    @admin.display(description="allowed next")
    def allowed(self, obj: Order) -> str:
        return ", ".join(obj.allowed_transitions) or "— (final)"


@admin.register(PaymentWebhookEvent)
class PaymentWebhookEventAdmin(ModelAdmin):
    list_display = ("received_at", "gateway", "kind", "event_id", "order", "outcome")
    list_filter = ("gateway", "kind", "outcome")
    search_fields = ("event_id", "order__number")
    readonly_fields = (
        "gateway",
        "event_id",
        "kind",
        "order",
        "outcome",
        "payload",
        "received_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


class LeadOrderInline(TabularInline):
    model = Order
    fk_name = "lead"
    extra = 0
    fields = ("number", "status", "total", "currency", "channel", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LeadWithOrdersAdmin(LeadAdmin):
    inlines = [*LeadAdmin.inlines, LeadOrderInline]


admin.site.unregister(Lead)
admin.site.register(Lead, LeadWithOrdersAdmin)
