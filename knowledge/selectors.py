"""Reads of the knowledge base."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum

from knowledge.models import Chunk, Collection, Document, EmbeddingSpace, KnowledgeSettings


def store_embedder_override() -> str | None:
    """The embedder the current store chose instead of the settings default, if any."""
    value = KnowledgeSettings.objects.filter(pk=1).values_list("embedder", flat=True).first()
    return value or None


def search_language() -> str:
    """The store's full-text search configuration (``english``, ``portuguese``, ...)."""
    value = KnowledgeSettings.objects.filter(pk=1).values_list("search_language", flat=True).first()
    return value or settings.KNOWLEDGE_TEXT_SEARCH_CONFIG


@dataclass(frozen=True)
class SearchConfig:
    """What a search needs to know about the store before it runs, read together."""

    embedder_override: str | None  # as ``store_embedder_override()``
    language: str  # as ``search_language()``
    # (space id, dimensions) by embedder name: every space, the serving one among them.
    spaces: dict[str, tuple[int, int]]


def search_config_sql() -> str:
    """A SQL expression of the store's search settings as JSON, for a caller that reads
    them together with its own rows in one statement (``search_config_from`` reads it)."""
    return (
        f"(SELECT jsonb_build_object('embedder', (SELECT embedder FROM {KnowledgeSettings._meta.db_table} "
        f"WHERE id = 1), 'language', (SELECT search_language FROM {KnowledgeSettings._meta.db_table} "
        "WHERE id = 1), 'spaces', (SELECT coalesce(jsonb_agg(jsonb_build_array(s.embedder, s.id, s.dimensions)), "
        f"'[]') FROM {EmbeddingSpace._meta.db_table} AS s)))"
    )


def search_config_from(value: str | dict) -> SearchConfig:
    config = json.loads(value) if isinstance(value, str) else value
    return SearchConfig(
        embedder_override=config["embedder"] or None,
        language=config["language"] or settings.KNOWLEDGE_TEXT_SEARCH_CONFIG,
        spaces={name: (pk, dimensions) for name, pk, dimensions in config["spaces"]},
    )


def search_config() -> SearchConfig:
    """``store_embedder_override()``, ``search_language()`` and the store's embedding
    spaces in one query (a search reads all three on every call)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {search_config_sql()}")
        return search_config_from(cursor.fetchone()[0])


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
    spaces = [
        {"embedder": s.embedder, "dimensions": s.dimensions, "chunks": s.n}
        for s in EmbeddingSpace.objects.annotate(n=Count("chunks"))
    ]
    switching_to = (
        KnowledgeSettings.objects.filter(pk=1).values_list("switching_to", flat=True).first() or ""
    )
    from knowledge.spaces import active_embedder_name

    active = active_embedder_name()
    serving = Chunk.objects.filter(space__embedder=active)
    return {
        "collections": Collection.objects.count(),
        "documents": sum(by_status.values()),
        "documents_by_status": by_status,
        "documents_by_embedder": by_embedder,
        # The searchable chunks: the active embedder's space.
        "chunks": serving.count(),
        "chunks_without_vector": serving.filter(embedding__isnull=True).count(),
        "tokens": serving.aggregate(n=Sum("token_count"))["n"] or 0,
        "spaces": spaces,
        "switching_to": switching_to,
        "bytes": Document.objects.aggregate(n=Sum("size_bytes"))["n"] or 0,
    }
