"""Product search for the store's customers (the agent's catalog tool) and its staff.

The lexical leg is PostgreSQL full-text search in the store's language (its profile's
``language``: portuguese, spanish or english stemming) over unaccented text, so
"sapatilhas" finds "Sapatilha" and "clasica" finds "Clássica". On top of it:

* synonyms: a query word that is a store synonym also looks for its equivalents
  ("mallas" -> "leotardos");
* typos: a query word the catalog does not contain is completed with the catalog's
  words that look like it (pg_trgm similarity: "zapatilas" -> "zapatillas");
* ranking: the share of the query's words a product matches first, then ts_rank
  (name > parent/category > SKU/attributes > description), then trigram similarity
  of the whole query to the name; an exact SKU wins outright.

The semantic leg (product embeddings from the knowledge app's embedder, see
``catalog.embeddings``) is fused with the lexical ranking by weighted reciprocal rank
fusion when the store has product embeddings.

A variant and its parent are one family: by default each family appears once, as the
member that matched best (the size 36 variant for "sapatilha de ponta 36", the parent
for "sapatilha de ponta").
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.cache import cache
from django.db import connection

from catalog.errors import EmbeddingsUnavailable, InvalidSearch
from catalog.models import Category, Product, ProductEmbedding, Synonym
from catalog.search_index import refresh_search_index, search_config
from catalog.text import fold
from knowledge.errors import EmbedderUnavailable

logger = logging.getLogger(__name__)

# How alike a query word and a catalog word must be to count as a typo of it (pg_trgm).
TYPO_SIMILARITY = 0.45
# A product that matched no query word is a result when pg_trgm's word similarity of the
# query to its name reaches pg_trgm.word_similarity_threshold (0.6 unless the database
# sets another): that test can use the trigram index.
# Reciprocal rank fusion constant (Cormack et al.): dampens the weight of the top ranks.
RRF_K = 60
# The lexical leg weighs more: it knows which words (and which size) the customer typed;
# the semantic leg mostly adds what no word matched ("pointe shoes" for "sapatilha").
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 0.6
# Cosine similarity below which a semantic neighbour is not a result. Tuned for the
# bundled multilingual-e5-small, whose similarities sit in a narrow band (0.75-0.9).
SEMANTIC_MIN_SIMILARITY = 0.8
MAX_LIMIT = 100
VOCABULARY_SECONDS = 120
_VOCABULARY_KEY = "catalog:search:vocabulary"
_WORD = re.compile(r"\w+(?:-\w+)*")


@dataclass(frozen=True)
class ProductHit:
    product_id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    stock: int | None  # None: the store does not count units of this product
    in_stock: bool
    score: float  # the ranking score: the lexical score alone, or the fused rank score
    parent_id: int | None
    # How well the product matched on its own terms, for callers that must judge a hit
    # (a fused rank score only orders): the lexical score, and the embedding similarity.
    text_score: float = 0.0
    similarity: float = 0.0


@dataclass(frozen=True)
class QueryPlan:
    """How a query was read: one group of alternatives per query word or phrase."""

    text: str
    groups: tuple[tuple[str, ...], ...]


def search_products(
    query: str = "",
    *,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    category: str | int | None = None,
    attributes: Mapping[str, str] | None = None,
    in_stock_only: bool = False,
    limit: int = 10,
    collapse_variants: bool = True,
    semantic_leg: bool = True,
) -> list[ProductHit]:
    """Active products of the current store matching ``query`` and the filters, best first.

    ``category`` is a category id or slug and includes its subcategories; ``attributes``
    such as ``{"tamanho": "36"}`` match a variant's value or a parent's list of values.
    An empty query lists the filtered products by name. The semantic leg runs when the
    store has product embeddings (``semantic_leg=False`` skips it) and is skipped, with a
    warning, when the embedder is down. Changes nothing but the search index of rows
    never indexed; raises ``InvalidSearch`` for an unknown category or a bad range.
    """
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidSearch(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise InvalidSearch("price_min is above price_max.", field="price_min")
    config = search_config()
    if Product.objects.filter(search_vector=None).exists():
        # Rows written around save() (bulk_create, a fresh migration) get indexed now.
        refresh_search_index(stale_only=True)
    plan = plan_query(query)

    where, params = _filters(price_min, price_max, category, attributes, in_stock_only)
    lexical = _lexical(plan, query.strip().lower(), config, where, params, collapse_variants, limit)
    lexical = [replace(h, text_score=h.score) for h in lexical]
    semantic = _semantic(plan.text, where, params, collapse_variants, limit) if plan.text and semantic_leg else []
    semantic = [replace(h, similarity=h.score) for h in semantic]
    hits = _fuse(lexical, semantic, limit, collapse_variants) if semantic else lexical[:limit]
    logger.info(
        "catalog.searched",
        extra={"query_chars": len(query), "hits": len(hits), "semantic": bool(semantic)},
    )
    return hits


# --- reading the query ---


def _tokens(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def plan_query(query: str) -> QueryPlan:
    """Split the query into word groups, each with its synonyms and likely spellings."""
    tokens = _tokens(query)
    if not tokens:
        return QueryPlan(text="", groups=())
    synonyms = {
        tuple(_tokens(s.term)): tuple(s.equivalents)
        for s in Synonym.objects.all()
        if _tokens(s.term)
    }
    longest = max((len(t) for t in synonyms), default=0)

    groups: list[list[str]] = []
    plain: list[int] = []  # indexes of groups that are a single query word, no synonym
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            term = tuple(tokens[i : i + size])
            if term in synonyms:
                groups.append([" ".join(term), *synonyms[term]])
                i += size
                break
        else:
            plain.append(len(groups))
            groups.append([tokens[i]])
            i += 1

    corrections = _spelling_corrections(
        sorted({groups[g][0] for g in plain if len(groups[g][0]) >= 4 and not groups[g][0].isdigit()})
    )
    single_word_synonyms = {t[0]: eq for t, eq in synonyms.items() if len(t) == 1}
    for g in plain:
        word = groups[g][0]
        for fixed in corrections.get(word, ()):
            groups[g].append(fixed)
            groups[g].extend(single_word_synonyms.get(fixed, ()))
    return QueryPlan(
        text=" ".join(tokens), groups=tuple(tuple(dict.fromkeys(g)) for g in groups)
    )


def _spelling_corrections(words: list[str]) -> dict[str, list[str]]:
    """Catalog words (names, categories, synonym terms) like each unknown word."""
    if not words:
        return {}
    vocabulary = _vocabulary()
    out: dict[str, list[str]] = {}
    for word in words:
        if word in vocabulary:
            continue
        grams = _trigrams(word)
        scored = sorted(
            ((_similarity(grams, _trigrams(known)), known) for known in vocabulary),
            key=lambda pair: (-pair[0], pair[1]),
        )
        fixes = [known for score, known in scored[:2] if score >= TYPO_SIMILARITY]
        if fixes:
            out[word] = fixes
    return out


def _vocabulary() -> frozenset[str]:
    """The store's words, cached briefly (keys are per store): a new product's words are
    typo-correctable within VOCABULARY_SECONDS."""
    words = cache.get(_VOCABULARY_KEY)
    if words is None:
        sql = """
            SELECT DISTINCT w FROM (
                SELECT regexp_split_to_table(search_title, '[^a-z0-9]+') AS w
                FROM catalog_product WHERE is_active
                UNION ALL
                SELECT regexp_split_to_table(lower(public.unaccent(name)), '[^a-z0-9]+')
                FROM catalog_category
                UNION ALL
                SELECT lower(public.unaccent(term)) FROM catalog_synonym WHERE term !~ '\\s'
            ) words WHERE length(w) >= 3 AND w !~ '^[0-9]+$'
        """
        with connection.cursor() as cursor:
            cursor.execute(sql)
            words = [row[0] for row in cursor.fetchall()]
        cache.set(_VOCABULARY_KEY, words, VOCABULARY_SECONDS)
    return frozenset(words)


def _trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one word: padded with two spaces in front and one behind."""
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# --- filters shared by both legs ---


def _category_ids(category: str | int) -> list[int]:
    found = (
        Category.objects.filter(pk=category).first()
        if isinstance(category, int) or str(category).isdigit()
        else Category.objects.filter(slug=category).first()
    )
    if found is None:
        raise InvalidSearch(f"No category {category!r}.", field="category")
    ids, frontier = [found.pk], [found.pk]
    while frontier:
        frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        ids.extend(frontier)
    return ids


def _filters(
    price_min: Decimal | None,
    price_max: Decimal | None,
    category: str | int | None,
    attributes: Mapping[str, str] | None,
    in_stock_only: bool,
) -> tuple[str, list]:
    """SQL conditions over ``p`` (product), ``par`` (its parent), ``fam`` (its variants)."""
    where = ["p.is_active", "(par.id IS NULL OR par.is_active)"]
    params: list = []
    if price_min is not None:
        where.append("p.price >= %s")
        params.append(price_min)
    if price_max is not None:
        where.append("p.price <= %s")
        params.append(price_max)
    if category is not None:
        where.append("coalesce(p.category_id, par.category_id) = ANY(%s)")
        params.append(_category_ids(category))
    if attributes:
        # A size or colour is bought as a variant: a parent only lists its variants' options.
        where.append("fam.n = 0")
    for key, value in (attributes or {}).items():
        where.append("(p.attributes @> %s::jsonb OR p.attributes @> %s::jsonb)")
        params.extend([json.dumps({key.lower(): str(value)}), json.dumps({key.lower(): [str(value)]})])
    if in_stock_only:
        where.append(f"({_AVAILABLE})")
    return " AND ".join(where), params


_AVAILABLE = """CASE WHEN fam.n > 0 THEN fam.available
    ELSE (NOT p.track_stock OR p.stock_quantity > 0) END"""
_STOCK = """CASE WHEN fam.n > 0 THEN (CASE WHEN fam.untracked THEN NULL ELSE fam.stock END)
    WHEN p.track_stock THEN p.stock_quantity END"""
_FROM = """
    catalog_product p
    LEFT JOIN catalog_product par ON par.id = p.parent_id
    LEFT JOIN catalog_category c ON c.id = coalesce(p.category_id, par.category_id)
    LEFT JOIN catalog_category cp ON cp.id = c.parent_id
    LEFT JOIN LATERAL (
        SELECT count(*) AS n, sum(v.stock_quantity)::int AS stock,
               bool_or(NOT v.track_stock OR v.stock_quantity > 0) AS available,
               bool_or(NOT v.track_stock) AS untracked
        FROM catalog_product v WHERE v.parent_id = p.id AND v.is_active
    ) fam ON true
"""


def _rows_to_hits(rows: list[tuple]) -> list[ProductHit]:
    return [
        ProductHit(
            product_id=r[0], sku=r[1], name=r[2], price=r[3], currency=r[4], stock=r[5],
            in_stock=bool(r[6]), score=round(float(r[8]), 4), parent_id=r[9],
        )
        for r in rows
    ]


def _collapse(inner: str, collapse: bool) -> str:
    if not collapse:
        return inner
    # One row per family: the member that matched most of the query's words (the size
    # 36 for "... 36"), the parent when a variant matched nothing more than it did.
    return f"""
        SELECT DISTINCT ON (coalesce(parent_id, id)) * FROM ({inner}) members
        ORDER BY coalesce(parent_id, id), coverage DESC, (parent_id IS NOT NULL), score DESC, id
    """


# --- lexical leg ---


def _lexical(
    plan: QueryPlan, raw: str, config: str, where: str, params: list, collapse: bool, limit: int
) -> list[ProductHit]:
    columns = f"p.id, p.sku, p.name, p.price, p.currency, {_STOCK} AS stock, {_AVAILABLE} AS in_stock"
    if not plan.groups:
        sql = f"""
            SELECT * FROM ({_collapse(f"SELECT {columns}, 0.0 AS coverage, 0.0 AS score, p.parent_id FROM {_FROM} WHERE {where}", collapse)}) hits
            ORDER BY name, id LIMIT %s
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit])
            return _rows_to_hits(cursor.fetchall())

    groups = ["|".join(alternatives) for alternatives in plan.groups]
    inner = f"""
        SELECT {columns}, coverage,
            coverage + 0.3 * rank + 0.3 * trigram
                + CASE WHEN lower(p.sku) = %(raw)s THEN 2 ELSE 0 END AS score,
            p.parent_id
        FROM {_FROM},
        LATERAL (
            SELECT
                coalesce((SELECT count(*) FROM groups g WHERE p.search_vector @@ g.tq)::float
                         / nullif((SELECT count(*) FROM groups), 0), 0) AS coverage,
                coalesce(ts_rank_cd(p.search_vector, (SELECT tq FROM whole), 32), 0) AS rank,
                public.word_similarity(%(text)s, p.search_title) AS trigram
        ) s
        WHERE {where.replace("%s", "%%s")}
          AND p.id IN (
              -- Candidates from each index on its own (an OR of the three would read
              -- every row: the planner cannot combine a tsquery and a trigram test).
              SELECT id FROM catalog_product WHERE search_vector @@ (SELECT tq FROM whole)
              UNION SELECT id FROM catalog_product WHERE %(text)s <%% search_title
              UNION SELECT id FROM catalog_product WHERE lower(sku) = %(raw)s
          )
    """
    sql = f"""
        WITH alternatives AS (
            SELECT g.idx, a.alt, plainto_tsquery(%(cfg)s, public.unaccent(a.alt)) AS tq
            FROM unnest(%(groups)s::text[]) WITH ORDINALITY AS g(alts, idx),
                 unnest(string_to_array(g.alts, '|')) AS a(alt)
        ),
        groups AS (
            SELECT idx, string_agg('(' || tq::text || ')', ' | ')::tsquery AS tq
            FROM alternatives WHERE numnode(tq) > 0 GROUP BY idx
        ),
        whole AS (SELECT string_agg('(' || tq::text || ')', ' | ')::tsquery AS tq FROM groups)
        SELECT * FROM ({_collapse(inner, collapse)}) hits
        ORDER BY score DESC, name, id
        LIMIT %(limit)s
    """
    named = {
        "cfg": config,
        "groups": groups,
        "text": plan.text,
        "raw": raw,
        "limit": limit * 3,
    }
    # The filters use positional placeholders; give them names so both styles mix.
    for n, value in enumerate(params):
        named[f"f{n}"] = value
    sql = _name_positional(sql, len(params))
    with connection.cursor() as cursor:
        cursor.execute(sql, named)
        return _rows_to_hits(cursor.fetchall())


def _name_positional(sql: str, count: int) -> str:
    parts = sql.split("%%s")
    if len(parts) - 1 != count:
        raise AssertionError("filter placeholders out of step with their values")
    out = parts[0]
    for n, part in enumerate(parts[1:]):
        out += f"%(f{n})s" + part
    return out


# --- semantic leg and fusion ---


def _semantic(text: str, where: str, params: list, collapse: bool, limit: int) -> list[ProductHit]:
    """Products nearest to the query by meaning, nearest first.

    [] while the store has no product embeddings (``embed_products`` fills them after an
    import) or when its embedder does not fit the product vectors.
    """
    from catalog.embeddings import store_embedder

    try:
        # A remote embedder may be asked its width here, so it may be down already.
        embedder = store_embedder()
        if not ProductEmbedding.objects.filter(embedder=embedder.name).exists():
            return []
        query_vector = embedder.embed_query(text)
    except EmbeddingsUnavailable:
        return []
    except EmbedderUnavailable as exc:
        # Words still find products; meaning comes back with the embedder.
        logger.warning("catalog.search.semantic_skipped", extra={"error": str(exc)})
        return []
    vector = "[" + ",".join(f"{x:.7f}" for x in query_vector) + "]"
    columns = f"p.id, p.sku, p.name, p.price, p.currency, {_STOCK} AS stock, {_AVAILABLE} AS in_stock"
    nearest = f"""
        SELECT {columns}, 0.0 AS coverage, 1 - (e.embedding <=> %s::vector) AS score, p.parent_id
        FROM {_FROM} JOIN catalog_productembedding e ON e.product_id = p.id
        WHERE {where} AND e.embedder = %s
        ORDER BY e.embedding <=> %s::vector
        LIMIT %s
    """
    sql = f"SELECT * FROM ({_collapse(nearest, collapse)}) hits ORDER BY score DESC, id"
    with connection.cursor() as cursor:
        cursor.execute(sql, [vector, *params, embedder.name, vector, limit * 5])
        hits = _rows_to_hits(cursor.fetchall())
    return [h for h in hits if h.score >= SEMANTIC_MIN_SIMILARITY]


def _fuse(
    lexical: list[ProductHit], semantic: list[ProductHit], limit: int, collapse: bool
) -> list[ProductHit]:
    """Weighted reciprocal rank fusion: score = sum over legs of weight / (RRF_K + rank).

    Ranks count families when variants are collapsed, and a family is shown by the
    member the lexical leg chose (it knows which size the words asked for). Ties go to
    the lexical order.
    """

    def key(hit: ProductHit) -> int:
        return (hit.parent_id or hit.product_id) if collapse else hit.product_id

    scores: dict[int, float] = {}
    shown: dict[int, ProductHit] = {}
    lexical_rank: dict[int, int] = {}
    similarity = {key(h): h.similarity for h in reversed(semantic)}  # a family's best
    for weight, leg in ((LEXICAL_WEIGHT, lexical), (SEMANTIC_WEIGHT, semantic)):
        ranked: dict[int, ProductHit] = {}
        for hit in leg:
            ranked.setdefault(key(hit), hit)  # a family's first (best) member
        for rank, (k, hit) in enumerate(ranked.items(), start=1):
            scores[k] = scores.get(k, 0.0) + weight / (RRF_K + rank)
            shown.setdefault(k, hit)
            if leg is lexical:
                lexical_rank[k] = rank
    ordered = sorted(scores, key=lambda k: (-scores[k], lexical_rank.get(k, 10**9)))
    return [
        replace(shown[k], score=round(scores[k], 6), similarity=similarity.get(k, 0.0))
        for k in ordered
    ][:limit]
