"""Catalog state changes. Stock changes take a row lock and never go below zero."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from catalog.errors import OutOfStock, ProductNotFound
from catalog.models import Product
from catalog.signals import stock_changed

logger = logging.getLogger(__name__)


def _locked_product(product_id: int) -> Product:
    try:
        return Product.objects.select_for_update().get(pk=product_id)
    except Product.DoesNotExist as exc:
        raise ProductNotFound(f"No product with id {product_id}.", field="product_id") from exc


def decrement_stock(product_id: int, quantity: int) -> int:
    """Take ``quantity`` units out of stock and return what is left.

    Locks the product row for the caller's transaction (call it inside the transaction
    that records the sale); raises ``OutOfStock`` and changes nothing when fewer remain.
    A product whose stock is not tracked (``track_stock`` off) is never out of stock and
    keeps its quantity.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with transaction.atomic():
        product = _locked_product(product_id)
        if not product.track_stock:
            return product.stock_quantity
        if product.stock_quantity < quantity:
            raise OutOfStock(product.sku, quantity, product.stock_quantity)
        Product.objects.filter(pk=product_id).update(stock_quantity=F("stock_quantity") - quantity)
        left = product.stock_quantity - quantity
    announce_stock_change(product, product.stock_quantity, left)
    return left


def restore_stock(product_id: int, quantity: int) -> int:
    """Put ``quantity`` units back (a cancelled, expired or refunded order). Returns the stock."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with transaction.atomic():
        product = _locked_product(product_id)
        if not product.track_stock:
            return product.stock_quantity
        Product.objects.filter(pk=product_id).update(stock_quantity=F("stock_quantity") + quantity)
        now = product.stock_quantity + quantity
    announce_stock_change(product, product.stock_quantity, now)
    return now


@dataclass(frozen=True)
class StockSyncReport:
    updated: tuple[str, ...]  # SKUs whose quantity changed
    unchanged: tuple[str, ...]
    unknown_skus: tuple[str, ...]  # not in this store's catalog; nothing was done for them
    invalid: tuple[tuple[str, str], ...]  # (sku, message): not a whole number >= 0


def sync_stock_levels(levels: Mapping[str, int | str]) -> StockSyncReport:
    """Set absolute stock quantities from the store's ERP (``{sku: quantity}``).

    Idempotent (the same payload twice changes nothing the second time). Locks the rows
    it changes in one transaction, in id order so two syncs never deadlock; turns stock
    tracking on for those products (the ERP counts them now). Unknown SKUs and invalid
    quantities are reported, never raised; the rest is applied. Emits ``stock_changed``
    after commit for each product whose quantity changed.
    """
    wanted: dict[str, int] = {}
    invalid: list[tuple[str, str]] = []
    for raw_sku, raw_quantity in levels.items():
        sku = str(raw_sku).strip()
        try:
            quantity = int(str(raw_quantity).strip())
        except ValueError:
            invalid.append((sku, f"{raw_quantity!r} is not a whole number."))
            continue
        if quantity < 0:
            invalid.append((sku, "Stock cannot be negative."))
            continue
        wanted[sku] = quantity

    updated: list[str] = []
    unchanged: list[str] = []
    with transaction.atomic():
        products = list(
            Product.objects.select_for_update().filter(sku__in=list(wanted)).order_by("pk")
        )
        for product in products:
            quantity = wanted[product.sku]
            if product.track_stock and product.stock_quantity == quantity:
                unchanged.append(product.sku)
                continue
            before = product.stock_quantity
            Product.objects.filter(pk=product.pk).update(stock_quantity=quantity, track_stock=True)
            updated.append(product.sku)
            if before != quantity:
                announce_stock_change(product, before, quantity)
    known = {p.sku for p in products}
    unknown = sorted(sku for sku in wanted if sku not in known)
    logger.info(
        "catalog.stock_synced",
        extra={"updated": len(updated), "unchanged": len(unchanged), "unknown": len(unknown)},
    )
    return StockSyncReport(
        updated=tuple(sorted(updated)),
        unchanged=tuple(sorted(unchanged)),
        unknown_skus=tuple(unknown),
        invalid=tuple(invalid),
    )


def announce_stock_change(product: Product, before: int, after: int) -> None:
    """Emit ``stock_changed`` once the current transaction commits (never on rollback)."""
    transaction.on_commit(
        lambda: stock_changed.send(
            sender=Product, product_id=product.pk, sku=product.sku, before=before, after=after
        )
    )
