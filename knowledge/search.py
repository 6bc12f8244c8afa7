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

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models.functions import Cast
from pgvector import HalfVector, Vector
from pgvector.django import CosineDistance, HalfVectorField, VectorField

from knowledge.embedders import Embedder, get_embedder
from knowledge.models import MAX_VECTOR_INDEX_DIMENSIONS, Chunk, Collection, Document, EmbeddingSpace
from knowledge.selectors import SearchConfig, search_config

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
    config: SearchConfig | None = None,
) -> list[SearchHit]:
    """The ``top_k`` best chunks of the current store for ``query``, best first.

    Filters: ``collection_ids``, ``document_ids``, ``metadata`` (containment: ``{"page": 2}``).
    ``mode`` is ``hybrid`` (both legs fused), ``vector`` or ``fulltext``. Read-only; safe
    to call from any request or task. ``config``: the store's search settings when the
    caller read them already (``selectors.search_config_sql``), else they are read here.
    """
    request = SearchRequest(
        query=query, top_k=top_k, collection_ids=tuple(collection_ids),
        document_ids=tuple(document_ids), metadata=dict(metadata or {}), mode=mode,
        min_score=min_score, min_similarity=min_similarity, candidates=max(candidates, top_k),
    )
    return run_search(request, embedder=embedder, config=config)


def run_search(
    request: SearchRequest, *, embedder: Embedder | None = None, config: SearchConfig | None = None
) -> list[SearchHit]:
    if request.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if not request.query.strip() or request.top_k <= 0:
        return []
    config = config or search_config()
    embedder = embedder or get_embedder(config.embedder_override or settings.KNOWLEDGE_EMBEDDER)
    # Only the store's embedder's space answers: during a switch the new space fills up
    # beside it, and its vectors are not comparable with this embedder's queries.
    found = config.spaces.get(embedder.name)
    if found is None:
        return []
    space = EmbeddingSpace(pk=found[0], embedder=embedder.name, dimensions=found[1])
    vector = embedder.embed_query(request.query) if request.mode in ("hybrid", "vector") else None
    weights = []
    if vector is not None:
        weights.append(settings.KNOWLEDGE_VECTOR_WEIGHT)
    if request.mode in ("hybrid", "fulltext"):
        weights.append(settings.KNOWLEDGE_FULLTEXT_WEIGHT)
    best_possible = sum(weights) / (settings.KNOWLEDGE_RRF_K + 1)
    sql, params = _search_sql(request, space, vector, config.language, best_possible)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if vector is not None:
            cursor.nextset()  # past the set_config of the vector leg's scan
        rows = cursor.fetchall()
    hits = []
    for (chunk_id, document_id, title, collection_id, collection_name, text, position, meta, fused,
         similarity, text_rank) in rows:
        # Django's connection hands jsonb over as text (JSONField decodes it).
        meta = (json.loads(meta) if isinstance(meta, str) else meta) or {}
        hits.append(
            SearchHit(
                chunk_id=chunk_id,
                document_id=document_id,
                document_title=title,
                collection_id=collection_id,
                collection_name=collection_name,
                text=text,
                position=position,
                metadata=meta,
                score=round(fused / best_possible, 6),
                similarity=similarity,
                text_rank=text_rank,
                page=meta.get("page"),
                row=meta.get("row"),
                heading=meta.get("heading", ""),
            )
        )
    return hits


def _search_sql(
    request: SearchRequest, space: EmbeddingSpace, vector: list[float] | None, language: str, best_possible: float
) -> tuple[str, list]:
    """The whole search as one round trip: the legs, their fusion and the hits' rows.

    Each leg ranks its ``candidates``; a chunk's fused score is ``Σ weight / (k + rank)``
    over the legs it appears in (added in the legs' order, as floats, so the numbers are
    the ones Python's arithmetic gives), ordered by that score, then by similarity (a
    chunk only the text leg found counts as -1), then by id. With the vector leg, the
    statement is preceded by the HNSW scan's settings, local to the implicit transaction
    of the two statements (or to the caller's transaction), so nothing leaks to the
    connection.
    """
    chunks = Chunk._meta.db_table
    where = ["c.space_id = %s"]
    filters: list = [space.pk]
    if request.collection_ids:
        where.append("c.collection_id = ANY(%s)")
        filters.append(list(request.collection_ids))
    if request.document_ids:
        where.append("c.document_id = ANY(%s)")
        filters.append(list(request.document_ids))
    if request.metadata:
        where.append("c.metadata @> %s::jsonb")
        filters.append(json.dumps(request.metadata))
    condition = " AND ".join(where)
    k = settings.KNOWLEDGE_RRF_K
    prefix, ctes, params, terms, joined = "", [], [], [], []
    if vector is not None:
        vector_type = space.vector_type
        query_vector = (Vector(vector) if vector_type.startswith("vector") else HalfVector(vector)).to_text()
        # The exact shape of the space's partial expression HNSW index (see ``nearest_chunks``).
        # The query vector is sent once (8 KB of text at 384-d) and referred to as a parameter.
        distance = f"((c.embedding)::{vector_type} <=> (SELECT q FROM qv))"
        prefix = "SELECT set_config('hnsw.ef_search', %s, true)"
        params.append(str(max(settings.KNOWLEDGE_HNSW_EF_SEARCH, request.candidates)))
        if request.collection_ids or request.document_ids or request.metadata:
            # Filters drop index candidates after the scan; let it keep scanning until
            # enough rows pass them (pgvector >= 0.8). It may return rows slightly out of
            # order, which the ranking below puts right.
            prefix += ", set_config('hnsw.iterative_scan', 'relaxed_order', true)"
        prefix += "; "
        threshold = ""
        leg_params: list = [query_vector, *filters]
        if request.min_similarity > 0:
            threshold = f" AND {distance} <= %s"
            leg_params.append(1.0 - request.min_similarity)
        ctes.append(
            f"qv AS (SELECT %s::{vector_type} AS q), "
            f"v AS (SELECT c.id, {distance} AS distance FROM {chunks} AS c WHERE {condition}{threshold} "
            f"ORDER BY {distance} LIMIT %s), "
            "vr AS (SELECT id, 1::float8 - distance AS similarity, "
            "row_number() OVER (ORDER BY distance) AS n FROM v)"
        )
        params += [*leg_params, request.candidates]
        terms.append(("vr", settings.KNOWLEDGE_VECTOR_WEIGHT))
    if request.mode in ("hybrid", "fulltext"):
        # Questions are OR-ed term by term: a customer's wording rarely contains every
        # word of the answer, and ts_rank already favours chunks matching more terms.
        ctes.append(
            "tq AS (SELECT CASE WHEN raw <> '' THEN to_tsquery(%s::regconfig, raw) END AS q "
            "FROM (SELECT replace(plainto_tsquery(%s::regconfig, %s)::text, ' & ', ' | ') AS raw) AS r), "
            f"t AS (SELECT c.id, ts_rank(c.search_vector, (SELECT q FROM tq)) AS rank FROM {chunks} AS c "
            f"WHERE {condition} AND c.search_vector @@ (SELECT q FROM tq) ORDER BY rank DESC, c.id LIMIT %s), "
            "tr AS (SELECT id, rank, row_number() OVER (ORDER BY rank DESC, id) AS n FROM t)"
        )
        params += [language, language, request.query, *filters, request.candidates]
        terms.append(("tr", settings.KNOWLEDGE_FULLTEXT_WEIGHT))
    fused = " + ".join(f"coalesce(%s::float8 / ({int(k)} + {leg}.n), 0)" for leg, _ in terms)
    params += [weight for _, weight in terms]
    if len(terms) == 2:
        joined = "vr FULL JOIN tr ON tr.id = vr.id"
        columns = "coalesce(vr.id, tr.id) AS id, vr.similarity, tr.rank"
    elif terms[0][0] == "vr":
        joined, columns = "vr", "vr.id, vr.similarity, NULL::real AS rank"
    else:
        joined, columns = "tr", "tr.id, NULL::float8 AS similarity, tr.rank"
    ctes.append(f"f AS (SELECT {columns}, {fused} AS fused FROM {joined})")
    sql = (
        f"{prefix}WITH {', '.join(ctes)} "
        "SELECT f.id, c.document_id, d.title, c.collection_id, col.name, c.text, c.position, c.metadata, "
        "f.fused, f.similarity, f.rank "
        f"FROM f JOIN {chunks} AS c ON c.id = f.id "
        f"JOIN {Document._meta.db_table} AS d ON d.id = c.document_id "
        f"JOIN {Collection._meta.db_table} AS col ON col.id = c.collection_id "
        "WHERE f.fused / %s >= %s "
        "ORDER BY f.fused DESC, coalesce(f.similarity, -1) DESC, f.id LIMIT %s"
    )
    params += [best_possible, request.min_score, request.top_k]
    return sql, params


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
