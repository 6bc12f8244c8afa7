"""Catalog reads for other apps (agents' tools, API): frozen dataclasses out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from catalog.errors import ProductNotFound, StoreRequired
from catalog.models import Category, Product, StoreProfile


def _require_store() -> None:
    if connection.schema_name == "public":
        raise StoreRequired("The catalog belongs to a store; no store is selected.")


def get_store_profile() -> StoreProfile:
    """The current store's profile, created with defaults on first use.

    Always returns the one row (``pk`` 1); safe under concurrent first calls.
    Raises ``StoreRequired`` in the public schema.
    """
    _require_store()
    profile = StoreProfile.objects.filter(pk=StoreProfile.SINGLETON_PK).first()
    if profile is not None:
        return profile
    tenant = getattr(connection, "tenant", None)
    try:
        with transaction.atomic():
            return StoreProfile.objects.create(
                pk=StoreProfile.SINGLETON_PK, company_name=getattr(tenant, "name", "") or ""
            )
    except IntegrityError:
        return StoreProfile.objects.get(pk=StoreProfile.SINGLETON_PK)


@dataclass(frozen=True)
class VariantSummary:
    product_id: int
    sku: str
    name: str
    attributes: dict
    price: Decimal
    stock: int | None
    in_stock: bool


@dataclass(frozen=True)
class ProductDetail:
    product_id: int
    sku: str
    name: str
    description: str
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    stock: int | None  # None: the store does not count units of this product
    in_stock: bool
    is_active: bool
    category: str | None
    attributes: dict
    image_urls: list[str]
    parent_id: int | None
    variants: tuple[VariantSummary, ...]


def _stock(product: Product) -> int | None:
    return product.stock_quantity if product.track_stock else None


def _family_stock(variants: tuple[VariantSummary, ...]) -> int | None:
    if any(v.stock is None for v in variants):
        return None
    return sum(v.stock or 0 for v in variants)


def get_product_detail(product_id: int) -> ProductDetail:
    """A product with its active variants (sizes, colours). Raises ``ProductNotFound``."""
    try:
        product = Product.objects.select_related("category").get(pk=product_id)
    except Product.DoesNotExist as exc:
        raise ProductNotFound(f"No product with id {product_id}.", field="product_id") from exc
    variants = tuple(
        VariantSummary(
            product_id=v.pk,
            sku=v.sku,
            name=v.name,
            attributes=dict(v.attributes),
            price=v.price,
            stock=_stock(v),
            in_stock=v.in_stock,
        )
        for v in product.variants.filter(is_active=True).order_by("sku")
    )
    in_stock = any(v.in_stock for v in variants) if variants else product.in_stock
    return ProductDetail(
        product_id=product.pk,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=product.price,
        compare_at_price=product.compare_at_price,
        currency=product.currency,
        stock=_family_stock(variants) if variants else _stock(product),
        in_stock=in_stock,
        is_active=product.is_active,
        category=product.category.name if product.category else None,
        attributes=dict(product.attributes),
        image_urls=list(product.image_urls),
        parent_id=product.parent_id,
        variants=variants,
    )


def category_ids_with_descendants(category_id: int) -> list[int]:
    """The category's id and those of every category under it (any depth), parent first."""
    ids, frontier = [category_id], [category_id]
    while frontier:
        frontier = [
            pk
            for pk in Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            if pk not in ids
        ]
        ids.extend(frontier)
    return ids
