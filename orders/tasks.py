"""Order tasks: thin wrappers over services, ids in, idempotent."""

from __future__ import annotations

import logging

from django_tenants.utils import tenant_context

from config.celery import app
from orders import services
from orders.errors import GatewayUnavailable

logger = logging.getLogger(__name__)


@app.task(
    name="orders.expire_unpaid_orders_in_all_stores",
    platform_task=True,
    ignore_result=True,
)
def expire_unpaid_orders_in_all_stores() -> dict[str, int]:
    """Beat: expire each store's unpaid orders, store by store, in its own schema.
    One store failing does not stop the others (the next beat retries it)."""
    from tenants.models import Tenant

    expired: dict[str, int] = {}
    for tenant in Tenant.objects.stores().order_by("pk"):
        with tenant_context(tenant):
            try:
                expired[tenant.slug] = len(services.expire_unpaid_orders())
            except Exception:
                logger.exception("order.expiry_failed", extra={"store": tenant.slug})
    return expired


@app.task(name="orders.expire_unpaid_orders", ignore_result=True)
def expire_unpaid_orders() -> int:
    """The same for the store that enqueued it."""
    return len(services.expire_unpaid_orders())


@app.task(bind=True, name="orders.refund_at_gateway", max_retries=6, ignore_result=True)
def refund_at_gateway(self, order_id: int) -> str:
    """Send a refunded order's money back through its gateway. Retried with backoff while
    the gateway is unreachable (or answers 5xx); the last failure is recorded on the order
    and logged as an error (staff retry it from the admin). Idempotent."""
    last_attempt = self.request.retries >= self.max_retries
    try:
        return services.send_refund_to_gateway(order_id, last_attempt=last_attempt).gateway_refund
    except GatewayUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc
