"""Hybrid search over the current store's chunks.

Two legs rank candidates independently — cosine similarity on the HNSW index, and
PostgreSQL full-text rank in the store's language — and reciprocal rank fusion merges
them: ``score = Σ weight_leg / (k + rank)`` over the legs a chunk appears in, normalized
so 1.0 means "first in every leg". RRF needs no calibration between the two very different
score scales, and a chunk both legs like beats one only a single leg likes. The legs'
weights and ``k`` are settings (``KNOWLEDGE_VECTOR_WEIGHT``, ``KNOWLEDGE_FULLTEXT_WEIGHT``,
``KNOWLEDGE_RRF_K``) whose defaults were chosen with ``benchmarks/retrieval_quality.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Cast
from pgvector import HalfVector, Vector
from pgvector.django import CosineDistance, HalfVectorField, VectorField

from knowledge.embedders import Embedder, get_embedder
from knowledge.models import MAX_VECTOR_INDEX_DIMENSIONS, Chunk, EmbeddingSpace
from knowledge.selectors import search_language

MODES = ("hybrid", "vector", "fulltext")


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    document_id: int
    document_title: str
    collection_id: int
    collection_name: str
    text: str
    position: int
    metadata: dict
    # Fused score in [0, 1]; the legs' own numbers are kept for display and thresholds.
    score: float
    similarity: float | None
    text_rank: float | None
    page: int | None = None
    row: int | None = None
    heading: str = ""

    @property
    def source(self) -> str:
        """How to cite it: "Returns policy, page 2" / "Sizes.csv, row 14"."""
        where = []
        if self.page is not None:
            where.append(f"page {self.page}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.heading:
            where.append(self.heading)
        return ", ".join([self.document_title, *where])


@dataclass(frozen=True)
class SearchRequest:
    query: str
    top_k: int = 5
    collection_ids: Sequence[int] = ()
    document_ids: Sequence[int] = ()
    metadata: dict = field(default_factory=dict)
    mode: str = "hybrid"
    # Drop hits whose fused score is below this (0..1).
    min_score: float = 0.0
    # Vector candidates below this cosine similarity are not considered at all.
    min_similarity: float = 0.0
    # How many candidates each leg contributes before fusion.
    candidates: int = 50


def search(
    query: str,
    *,
    top_k: int = 5,
    collection_ids: Sequence[int] = (),
    document_ids: Sequence[int] = (),
    metadata: dict | None = None,
    mode: str = "hybrid",
    min_score: float = 0.0,
    min_similarity: float = 0.0,
    candidates: int = 50,
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """The ``top_k`` best chunks of the current store for ``query``, best first.

    Filters: ``collection_ids``, ``document_ids``, ``metadata`` (containment: ``{"page": 2}``).
    ``mode`` is ``hybrid`` (both legs fused), ``vector`` or ``fulltext``. Read-only; safe
    to call from any request or task.
    """
    request = SearchRequest(
        query=query, top_k=top_k, collection_ids=tuple(collection_ids),
        document_ids=tuple(document_ids), metadata=dict(metadata or {}), mode=mode,
        min_score=min_score, min_similarity=min_similarity, candidates=max(candidates, top_k),
    )
    return run_search(request, embedder=embedder)


def run_search(request: SearchRequest, *, embedder: Embedder | None = None) -> list[SearchHit]:
    if request.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if not request.query.strip() or request.top_k <= 0:
        return []
    embedder = embedder or get_embedder()
    # Only the store's embedder's space answers: during a switch the new space fills up
    # beside it, and its vectors are not comparable with this embedder's queries.
    space = EmbeddingSpace.objects.filter(embedder=embedder.name).first()
    if space is None:
        return []
    base = _filtered(request).filter(space=space)
    legs: list[tuple[float, list[tuple[int, float]]]] = []
    similarity: dict[int, float] = {}
    text_rank: dict[int, float] = {}
    if request.mode in ("hybrid", "vector"):
        vector_leg = _vector_leg(base, request, embedder, space)
        similarity = dict(vector_leg)
        legs.append((settings.KNOWLEDGE_VECTOR_WEIGHT, vector_leg))
    if request.mode in ("hybrid", "fulltext"):
        text_leg = _fulltext_leg(base, request)
        text_rank = dict(text_leg)
        legs.append((settings.KNOWLEDGE_FULLTEXT_WEIGHT, text_leg))

    k = settings.KNOWLEDGE_RRF_K
    fused: dict[int, float] = {}
    for weight, leg in legs:
        for rank, (chunk_id, _) in enumerate(leg, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    best_possible = sum(weight for weight, _ in legs) / (k + 1)
    ordered = sorted(
        fused.items(), key=lambda item: (-item[1], -similarity.get(item[0], -1.0), item[0])
    )
    ordered = [(cid, s / best_possible) for cid, s in ordered if s / best_possible >= request.min_score]
    ordered = ordered[: request.top_k]
    if not ordered:
        return []
    rows = {
        c.pk: c
        for c in Chunk.objects.filter(pk__in=[cid for cid, _ in ordered]).select_related(
            "document", "collection"
        )
    }
    hits = []
    for chunk_id, score in ordered:
        chunk = rows[chunk_id]
        meta = chunk.metadata or {}
        hits.append(
            SearchHit(
                chunk_id=chunk.pk,
                document_id=chunk.document_id,
                document_title=chunk.document.title,
                collection_id=chunk.collection_id,
                collection_name=chunk.collection.name,
                text=chunk.text,
                position=chunk.position,
                metadata=meta,
                score=round(score, 6),
                similarity=similarity.get(chunk_id),
                text_rank=text_rank.get(chunk_id),
                page=meta.get("page"),
                row=meta.get("row"),
                heading=meta.get("heading", ""),
            )
        )
    return hits


def _filtered(request: SearchRequest):
    # Chunks exist only once a document's ingestion succeeded, and a re-index swaps them in
    # one transaction: a document being re-indexed (or whose re-index failed) keeps answering.
    qs = Chunk.objects.all()
    if request.collection_ids:
        qs = qs.filter(collection_id__in=request.collection_ids)
    if request.document_ids:
        qs = qs.filter(document_id__in=request.document_ids)
    if request.metadata:
        qs = qs.filter(metadata__contains=request.metadata)
    return qs


def _vector_leg(
    base, request: SearchRequest, embedder: Embedder, space: EmbeddingSpace
) -> list[tuple[int, float]]:
    vector = embedder.embed_query(request.query)
    filtered = bool(request.collection_ids or request.document_ids or request.metadata)
    qs = nearest_chunks(base, vector, space, request.min_similarity)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # SET LOCAL: the setting ends with this transaction, never leaks to the pool.
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)",
                [str(max(settings.KNOWLEDGE_HNSW_EF_SEARCH, request.candidates))],
            )
            if filtered:
                # Filters drop index candidates after the scan; let it keep scanning
                # until enough rows pass them (pgvector >= 0.8).
                cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        rows = list(qs.values_list("pk", "distance")[: request.candidates])
    # relaxed_order may return rows slightly out of order.
    rows.sort(key=lambda r: r[1])
    return [(pk, 1.0 - distance) for pk, distance in rows]


def nearest_chunks(base, vector: list[float], space: EmbeddingSpace, min_similarity: float = 0.0):
    """The space's chunks by cosine distance to ``vector``, nearest first:
    ``WHERE space_id = s ORDER BY embedding::vector(N) <=> q``, the exact shape of the
    space's partial expression HNSW index (``halfvec(N)`` above 2,000 dimensions)."""
    if space.dimensions <= MAX_VECTOR_INDEX_DIMENSIONS:
        column = Cast("embedding", VectorField(dimensions=space.dimensions))
        query = Vector(vector)
    else:
        column = Cast("embedding", HalfVectorField(dimensions=space.dimensions))
        query = HalfVector(vector)
    qs = (
        base.filter(space=space)
        .annotate(distance=CosineDistance(column, query))
        .order_by("distance")
    )
    if min_similarity > 0:
        qs = qs.filter(distance__lte=1.0 - min_similarity)
    return qs


def _fulltext_leg(base, request: SearchRequest) -> list[tuple[int, float]]:
    language = search_language()
    with connection.cursor() as cursor:
        # Questions are OR-ed term by term: a customer's wording rarely contains every
        # word of the answer, and ts_rank already favours chunks matching more terms.
        cursor.execute(
            "SELECT replace(plainto_tsquery(%s::regconfig, %s)::text, ' & ', ' | ')",
            [language, request.query],
        )
        raw = cursor.fetchone()[0]
    if not raw:
        return []
    tsquery = SearchQuery(raw, search_type="raw", config=language)
    rows = (
        base.filter(search_vector=tsquery)
        .annotate(rank=SearchRank(F("search_vector"), tsquery))
        .order_by("-rank", "pk")
        .values_list("pk", "rank")[: request.candidates]
    )
    return [(pk, float(rank)) for pk, rank in rows]


