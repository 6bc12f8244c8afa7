"""The products' search index: a full-text document and a trigram title per product.

Kept in the product rows (``search_vector``, ``search_title``) so a search reads GIN
indexes instead of building documents. ``Product.save``, ``Category.save`` and a change
of the store's language refresh it; code that writes product text with ``update()`` or
``bulk_create()`` calls ``refresh_search_index`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from catalog.models import Language

TEXT_SEARCH_CONFIGS = {
    Language.PORTUGUESE: "portuguese",
    Language.SPANISH: "spanish",
    Language.ENGLISH: "english",
}

# Weights: the product's name (A) > its parent's name and categories (B) > SKU and its
# own attribute values (C) > descriptions (D).
_DOCUMENT = """
    setweight(to_tsvector(%(cfg)s, public.unaccent(p.name)), 'A')
    || setweight(to_tsvector(%(cfg)s, public.unaccent(
           coalesce(par.name, '') || ' ' || coalesce(c.name, '') || ' ' || coalesce(cp.name, ''))), 'B')
    || setweight(to_tsvector(%(cfg)s, public.unaccent(
           p.sku || ' ' || (
               -- A parent's lists of options (sizes 34-38) are its variants' to match.
               SELECT coalesce(string_agg(value #>> '{}', ' '), '') FROM jsonb_each(p.attributes)
               WHERE NOT EXISTS (SELECT 1 FROM catalog_product v WHERE v.parent_id = p.id)
                  OR jsonb_typeof(value) <> 'array'))), 'C')
    || setweight(to_tsvector(%(cfg)s, public.unaccent(
           p.description || ' ' || coalesce(par.description, ''))), 'D')
"""
_TITLE = "lower(public.unaccent(p.name || ' ' || coalesce(par.name, '')))"


def search_config() -> str:
    """The store's PostgreSQL text search configuration."""
    from catalog.selectors import get_store_profile

    return TEXT_SEARCH_CONFIGS.get(get_store_profile().language, "simple")


def refresh_search_index(
    product_ids: Sequence[int] | None = None, *, with_variants: bool = False, stale_only: bool = False
) -> int:
    """Rebuild the search document of the given products (all when None); returns the count.

    ``with_variants`` also rebuilds their variants; ``stale_only`` only rows never indexed.
    One UPDATE statement; safe to repeat.
    """
    conditions = ["TRUE"]
    params: dict = {"cfg": search_config()}
    if product_ids is not None:
        ids = [pk for pk in product_ids if pk is not None]
        if not ids:
            return 0
        params["ids"] = ids
        conditions.append(
            "(p.id = ANY(%(ids)s) OR p.parent_id = ANY(%(ids)s))" if with_variants else "p.id = ANY(%(ids)s)"
        )
    if stale_only:
        conditions.append("p.search_vector IS NULL")
    sql = f"""
        UPDATE catalog_product AS t
        SET search_vector = s.doc, search_title = s.title
        FROM (
            SELECT p.id, {_DOCUMENT} AS doc, {_TITLE} AS title
            FROM catalog_product p
            LEFT JOIN catalog_product par ON par.id = p.parent_id
            LEFT JOIN catalog_category c ON c.id = coalesce(p.category_id, par.category_id)
            LEFT JOIN catalog_category cp ON cp.id = c.parent_id
            WHERE {" AND ".join(conditions)}
        ) s
        WHERE t.id = s.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
