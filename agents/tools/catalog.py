"""Catalog tools: search, details, price filter, stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agents.tools.base import Tool, ToolContext, ToolFailed, money


def _hits(hits) -> dict[str, Any]:
    return {
        "products": [
            {
                "product_id": h.product_id,
                "sku": h.sku,
                "name": h.name,
                "price": money(h.price),
                "currency": h.currency,
                "stock": h.stock,
                "in_stock": h.in_stock,
                "score": h.score,
                "text_score": h.text_score,  # how well the words matched (score only orders)
            }
            for h in hits
        ]
    }


def _price(args: dict[str, Any], key: str) -> Decimal | None:
    return Decimal(str(args[key])) if args.get(key) is not None else None


def search_products(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from catalog.search import search_products as search

    return _hits(search(
        args.get("query", ""),
        price_min=_price(args, "min_price"),
        price_max=_price(args, "max_price"),
        in_stock_only=bool(args.get("in_stock_only", False)),
        limit=int(args.get("limit", 5)),
    ))


def filter_products_by_price(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Products within a price range (optionally matching words or a category), cheapest first."""
    from catalog.search import search_products as search

    if args.get("min_price") is None and args.get("max_price") is None:
        raise ToolFailed("Give min_price, max_price or both.")
    hits = search(
        args.get("query", ""),
        price_min=_price(args, "min_price"),
        price_max=_price(args, "max_price"),
        category=args.get("category") or None,
        in_stock_only=bool(args.get("in_stock_only", True)),
        limit=int(args.get("limit", 10)),
    )
    result = _hits(sorted(hits, key=lambda h: (h.price, h.name)))
    if not hits:
        result["note"] = "Nothing in that price range; offer the closest products instead."
    return result


def _detail(product_id: int):
    from catalog.selectors import get_product_detail

    detail = get_product_detail(product_id)
    if not detail.is_active:
        raise ToolFailed(f"Product {detail.product_id} is not for sale.")
    return detail


def get_product_details(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    p = _detail(int(args["product_id"]))
    return {
        "product_id": p.product_id,
        "sku": p.sku,
        "name": p.name,
        "description": p.description,
        "price": money(p.price),
        "compare_at_price": money(p.compare_at_price),
        "currency": p.currency,
        "stock": p.stock,
        "in_stock": p.in_stock,
        "category": p.category,
        "attributes": p.attributes,
        "variants": [
            {
                "product_id": v.product_id,
                "sku": v.sku,
                "attributes": v.attributes,
                "price": money(v.price),
                "stock": v.stock,
                "in_stock": v.in_stock,
            }
            for v in p.variants
        ],
    }


def check_stock(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Units available of a product (or of each of its variants) and whether ``quantity`` fits."""
    p = _detail(int(args["product_id"]))
    wanted = int(args.get("quantity", 1))
    rows = [p] if not p.variants else list(p.variants)
    items = [
        {
            "product_id": row.product_id,
            "sku": row.sku,
            "attributes": getattr(row, "attributes", {}),
            "stock": row.stock,
            "in_stock": row.in_stock,
            # stock None: the store does not count units, so any quantity is available.
            "can_sell_quantity": row.in_stock and (row.stock is None or row.stock >= wanted),
        }
        for row in rows
    ]
    return {"product_id": p.product_id, "name": p.name, "quantity": wanted, "items": items}


_PRICE = {"type": "number", "minimum": 0}

TOOLS = [
    Tool(
        "search_products",
        "Search the store's catalog. Returns products with id, price, currency and stock.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What the customer is looking for."},
                "min_price": _PRICE,
                "max_price": _PRICE,
                "in_stock_only": {"type": "boolean"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        search_products,
    ),
    Tool(
        "filter_products_by_price",
        "Products within a price range, cheapest first; optionally matching words or a category "
        "(id or slug). In stock only unless in_stock_only is false.",
        {
            "type": "object",
            "properties": {
                "min_price": _PRICE,
                "max_price": _PRICE,
                "query": {"type": "string"},
                "category": {"type": "string", "maxLength": 100},
                "in_stock_only": {"type": "boolean"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "anyOf": [{"required": ["min_price"]}, {"required": ["max_price"]}],
            "additionalProperties": False,
        },
        filter_products_by_price,
    ),
    Tool(
        "get_product_details",
        "Details of one product: description, attributes, variants (sizes, colours) with their stock.",
        {
            "type": "object",
            "properties": {"product_id": {"type": "integer", "minimum": 1}},
            "required": ["product_id"],
            "additionalProperties": False,
        },
        get_product_details,
    ),
    Tool(
        "check_stock",
        "How many units of a product (or of each of its sizes/colours) are available, and whether "
        "the customer's quantity can be sold.",
        {
            "type": "object",
            "properties": {
                "product_id": {"type": "integer", "minimum": 1},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
            "required": ["product_id"],
            "additionalProperties": False,
        },
        check_stock,
    ),
]
