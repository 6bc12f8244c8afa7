"""Catalog tasks: thin, idempotent, in the enqueuing store's schema."""

from __future__ import annotations

from catalog import embeddings
from config.celery import app
from knowledge.errors import EmbedderUnavailable


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
