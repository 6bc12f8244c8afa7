"""Reads of the knowledge base."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Sum

from knowledge.models import Chunk, Collection, Document, KnowledgeSettings


def store_embedder_override() -> str | None:
    """The embedder the current store chose instead of the settings default, if any."""
    value = KnowledgeSettings.objects.filter(pk=1).values_list("embedder", flat=True).first()
    return value or None


def search_language() -> str:
    """The store's full-text search configuration (``english``, ``portuguese``, ...)."""
    value = KnowledgeSettings.objects.filter(pk=1).values_list("search_language", flat=True).first()
    return value or settings.KNOWLEDGE_TEXT_SEARCH_CONFIG


def knowledge_stats() -> dict:
    """Counts of the current store's knowledge base, for commands and the console."""
    by_status = dict(
        Document.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    by_embedder = dict(
        Document.objects.exclude(embedder="")
        .values_list("embedder")
        .annotate(n=Count("id"))
        .values_list("embedder", "n")
    )
    return {
        "collections": Collection.objects.count(),
        "documents": sum(by_status.values()),
        "documents_by_status": by_status,
        "documents_by_embedder": by_embedder,
        "chunks": Chunk.objects.count(),
        "chunks_without_vector": Chunk.objects.filter(embedding__isnull=True).count(),
        "tokens": Chunk.objects.aggregate(n=Sum("token_count"))["n"] or 0,
        "bytes": Document.objects.aggregate(n=Sum("size_bytes"))["n"] or 0,
    }
