"""Order tasks: thin wrappers over services, ids in, idempotent."""

from __future__ import annotations

import logging

from django_tenants.utils import tenant_context

from config.celery import app
from orders import services

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
