"""Analytics tasks: thin wrappers over services."""

from __future__ import annotations

import logging

from django_tenants.utils import tenant_context

from analytics import services
from config.celery import app

logger = logging.getLogger(__name__)


@app.task(name="analytics.refresh_rollups_in_all_stores", platform_task=True, ignore_result=True)
def refresh_rollups_in_all_stores() -> dict[str, str]:
    """Beat: bring every store's dashboard rollups up to date, store by store, in its own
    schema. One store failing does not stop the others (it is logged; the next beat
    retries it, and its dashboard stays exact meanwhile, with more days read live)."""
    from tenants.models import Tenant

    rolled: dict[str, str] = {}
    for tenant in Tenant.objects.stores().order_by("pk"):
        with tenant_context(tenant):
            try:
                rolled[tenant.slug] = str(services.refresh_rollups().rolled_through)
            except Exception:
                logger.exception("analytics.rollup_refresh_failed", extra={"store": tenant.slug})
    return rolled


@app.task(name="analytics.refresh_rollups", ignore_result=True)
def refresh_rollups() -> str:
    """The same for the store that enqueued it."""
    return str(services.refresh_rollups().rolled_through)
