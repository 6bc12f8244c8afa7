"""Catalog tasks: thin, idempotent, in the enqueuing store's schema."""

from __future__ import annotations

import logging

from django_tenants.utils import tenant_context

from catalog import embeddings, sync
from catalog.errors import SyncSourceUnavailable
from config.celery import app
from knowledge.errors import EmbedderUnavailable

logger = logging.getLogger(__name__)


@app.task(
    name="catalog.embed_products",
    autoretry_for=(EmbedderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
    ignore_result=True,
)
def embed_products_task() -> int:
    """Embed the products whose text changed (idempotent: nothing changed, nothing done)."""
    return embeddings.embed_products()


@app.task(
    name="catalog.sync_catalog",
    autoretry_for=(SyncSourceUnavailable,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    ignore_result=True,
)
def sync_catalog_task(connection_id: int) -> dict:
    """Pull one connection's catalog (idempotent by SKU). The platform being down or
    answering 5xx/429 is retried with backoff; a refusal (credentials) is recorded on the
    connection (``last_status`` failed, ``last_error``) and not retried."""
    return sync.sync_catalog(connection_id).as_dict()


@app.task(name="catalog.sync_due_catalogs_in_all_stores", platform_task=True, ignore_result=True)
def sync_due_catalogs_in_all_stores() -> dict[str, int]:
    """Beat: in each store, enqueue a sync of every connection whose schedule is due."""
    from tenants.models import Tenant

    enqueued: dict[str, int] = {}
    for tenant in Tenant.objects.stores().order_by("pk"):
        with tenant_context(tenant):
            due = sync.due_connections()
            for connection_id in due:
                # Enqueued inside the store's schema: the task runs there.
                sync_catalog_task.delay(connection_id)
            if due:
                enqueued[tenant.slug] = len(due)
    return enqueued
