"""Catalog state changes. Stock changes take a row lock and never go below zero."""

from __future__ import annotations

import logging

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
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with transaction.atomic():
        product = _locked_product(product_id)
        if product.stock_quantity < quantity:
            raise OutOfStock(product.sku, quantity, product.stock_quantity)
        Product.objects.filter(pk=product_id).update(stock_quantity=F("stock_quantity") - quantity)
        left = product.stock_quantity - quantity
    _announce(product, product.stock_quantity, left)
    return left


def restore_stock(product_id: int, quantity: int) -> int:
    """Put ``quantity`` units back (a cancelled, expired or refunded order). Returns the stock."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with transaction.atomic():
        product = _locked_product(product_id)
        Product.objects.filter(pk=product_id).update(stock_quantity=F("stock_quantity") + quantity)
        now = product.stock_quantity + quantity
    _announce(product, product.stock_quantity, now)
    return now


def _announce(product: Product, before: int, after: int) -> None:
    transaction.on_commit(
        lambda: stock_changed.send(
            sender=Product, product_id=product.pk, sku=product.sku, before=before, after=after
        )
    )
