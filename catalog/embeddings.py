"""Product embeddings for the semantic leg of search (the knowledge app's embedder)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from django.db import transaction

from catalog.errors import EmbeddingsUnavailable
from catalog.models import EMBEDDING_DIMENSIONS, Product, ProductEmbedding
from knowledge.embedders import Embedder, get_embedder

logger = logging.getLogger(__name__)
BATCH = 32


def product_text(product: Product) -> str:
    """What a product means, in words: names, category, attributes, description."""
    parts = [product.name]
    if product.parent_id:
        parts.append(product.parent.name)
    if product.category:
        path = [product.category.name]
        if product.category.parent:
            path.insert(0, product.category.parent.name)
        parts.append(" > ".join(path))
    attributes = ", ".join(
        f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in product.attributes.items()
    )
    if attributes:
        parts.append(attributes)
    description = product.description or (product.parent.description if product.parent_id else "")
    if description:
        parts.append(description[:600])
    return ". ".join(p.strip() for p in parts if p and p.strip())


def _hash(embedder: Embedder, text: str) -> str:
    return hashlib.sha256(f"{embedder.name}\n{text}".encode()).hexdigest()


def store_embedder() -> Embedder:
    """The current store's embedder, if its vectors fit the product column."""
    embedder = get_embedder()
    if embedder.dimensions != EMBEDDING_DIMENSIONS:
        raise EmbeddingsUnavailable(
            f"The embedder {embedder.name} makes {embedder.dimensions}-d vectors; product "
            f"embeddings are {EMBEDDING_DIMENSIONS}-d.",
            field="embedder",
        )
    return embedder


def embed_products(product_ids: Sequence[int] | None = None) -> int:
    """Embed the store's active products whose text (or embedder) changed; returns how many.

    Idempotent: a second call with nothing changed embeds nothing. Commits a batch at a
    time, so an interrupted run keeps its progress. Raises ``EmbeddingsUnavailable``
    when the store's embedder does not fit, and the embedder's own errors when it fails.
    """
    embedder = store_embedder()
    products = Product.objects.filter(is_active=True).select_related(
        "parent", "category", "category__parent"
    ).order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=list(product_ids))
    known = dict(ProductEmbedding.objects.values_list("product_id", "content_hash"))
    stale: list[tuple[int, str, str]] = []
    for product in products:
        text = product_text(product)
        digest = _hash(embedder, text)
        if known.get(product.pk) != digest:
            stale.append((product.pk, text, digest))

    for start in range(0, len(stale), BATCH):
        batch = stale[start : start + BATCH]
        vectors = embedder.embed_passages([text for _, text, _ in batch])
        with transaction.atomic():
            ProductEmbedding.objects.bulk_create(
                [
                    ProductEmbedding(product_id=pk, embedder=embedder.name, content_hash=digest, embedding=vector)
                    for (pk, _, digest), vector in zip(batch, vectors, strict=True)
                ],
                update_conflicts=True,
                unique_fields=["product"],
                update_fields=["embedder", "content_hash", "embedding", "updated_at"],
            )
    logger.info("catalog.products_embedded", extra={"embedded": len(stale), "embedder": embedder.name})
    return len(stale)


def refresh_embeddings_on_commit() -> None:
    """Ask a worker to refresh the product embeddings once this transaction commits."""
    from catalog.tasks import embed_products_task

    transaction.on_commit(embed_products_task.delay)
