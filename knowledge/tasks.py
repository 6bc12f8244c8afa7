"""Knowledge tasks: thin, ids in, routed to the ``ingestion`` queue by their name prefix."""

from __future__ import annotations

from config.celery import app
from knowledge import services
from knowledge.errors import EmbedderUnavailable


@app.task(
    name="knowledge.ingest_document",
    autoretry_for=(EmbedderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def ingest_document_task(document_id: int, embedder_name: str | None = None) -> str:
    """Ingest one document of the enqueuing store (idempotent); returns its final status."""
    return services.ingest_document(document_id, embedder_name=embedder_name).status
