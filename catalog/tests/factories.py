"""Small builders for catalog rows in tests."""

from __future__ import annotations

from decimal import Decimal

from catalog.models import Category, Product


def category(name: str, slug: str | None = None, parent: Category | None = None) -> Category:
    return Category.objects.create(name=name, slug=slug or name.lower().replace(" ", "-"), parent=parent)


def product(sku: str, name: str, price: str = "100.00", stock: int = 10, **fields) -> Product:
    return Product.objects.create(
        sku=sku, name=name, price=Decimal(price), stock_quantity=stock, **fields
    )
