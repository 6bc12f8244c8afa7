"""Product import from CSV: WooCommerce's product export and a simple generic format.

Idempotent by SKU: a second import of the same file updates the same rows and creates
nothing. A row that cannot be imported (bad price, missing SKU, unknown parent...) is
reported with its line number and the field at fault; the other rows still import.

Line numbers are the file's own (the header is line 1), counted at the first line of a
record, so a description spanning several lines does not shift the rows after it.

Generic CSV columns (header names are case-insensitive; only ``sku``, ``name`` and
``price`` are required; ``,`` ``;`` or tab separated)::

    sku,name,description,price,compare_at_price,stock,category,parent_sku,active,image_urls,attribute:size,attribute:colour

``category`` may be a path (``Ballet > Sapatilhas``); ``image_urls`` is separated by
``|`` or ``,``; ``stock`` empty keeps the current stock; any ``attribute:<name>`` column
becomes an attribute. Prices accept ``129.90``, ``129,90``, ``1.299,90`` and ``R$ 129,90``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import slugify

from catalog.embeddings import refresh_embeddings_on_commit
from catalog.errors import ImportFileInvalid
from catalog.models import Category, Product
from catalog.selectors import get_store_profile
from catalog.services import announce_stock_change

logger = logging.getLogger(__name__)

ImportFormat = Literal["auto", "woocommerce", "generic"]
FORMATS: tuple[str, ...] = ("auto", "woocommerce", "generic")
_MAX_PRICE = Decimal("9999999999.99")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class ImportReport:
    format: str
    created: int
    updated: int
    errors: tuple[RowError, ...]

    @property
    def imported(self) -> int:
        return self.created + self.updated


class RowInvalid(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class ProductRow:
    """One product as read from a file or a platform's API, before it touches the database."""

    line: int
    sku: str
    name: str
    price: Decimal | None  # None: derived from variations/grouped children
    kind: str = "simple"  # simple | variable | variation | grouped
    description: str | None = None
    compare_at_price: Decimal | None = None
    stock: int | None = None  # None: keep the current quantity
    track_stock: bool | None = None  # None: keep
    is_active: bool | None = None
    category_path: list[str] | None = None
    parent_ref: str = ""  # SKU of the parent product
    attributes: dict | None = None
    image_urls: list[str] | None = None
    children: list[str] = field(default_factory=list)  # grouped products' SKUs


# --- reading ---


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save CSV as cp1252; better than refusing the file.
        return content.decode("cp1252", errors="replace")


def _records(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise ImportFileInvalid("The file is empty.", field="file") from exc
    if not any(header):
        raise ImportFileInvalid("The first line must name the columns.", field="file")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                yield start, dict(zip(header, (v.strip() for v in values), strict=False))
            start = reader.line_num + 1

    return header, rows()


def detect_format(header: list[str]) -> str:
    names = {h.lower() for h in header}
    if {"type", "sku", "regular price"} <= names:
        return "woocommerce"
    if {"sku", "name", "price"} <= names:
        return "generic"
    raise ImportFileInvalid(
        "Unknown CSV format: expected a WooCommerce product export or the columns "
        "sku, name, price.",
        field="file",
    )


# --- values ---


def parse_price(raw: str, field_name: str = "price") -> Decimal:
    """``129.90``, ``129,90``, ``1.299,90``, ``1,299.90``, ``R$ 129,90`` -> Decimal."""
    text = re.sub(r"[^\d,.\-]", "", raw or "")
    if not text or not re.search(r"\d", text):
        raise RowInvalid(field_name, f"{raw!r} is not a price.")
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        text = text.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in text:
        # "129,9" and "129,90" are decimal commas; "1,299" and "1,299,000" group thousands.
        tail = text.rpartition(",")[2]
        if text.count(",") == 1 and len(tail) <= 2:
            text = text.replace(",", ".")
        else:
            text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise RowInvalid(field_name, f"{raw!r} is not a price.") from exc
    if value < 0:
        raise RowInvalid(field_name, f"A price cannot be negative ({raw}).")
    if value > _MAX_PRICE or value != value.quantize(Decimal("0.01")):
        raise RowInvalid(field_name, f"{raw!r} is not a price with at most 2 decimals.")
    return value.quantize(Decimal("0.01"))


def _optional_price(raw: str, field_name: str) -> Decimal | None:
    return parse_price(raw, field_name) if raw else None


def _parse_stock(raw: str, field_name: str) -> int | None:
    if not raw:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation as exc:
        raise RowInvalid(field_name, f"{raw!r} is not a whole number.") from exc
    if value != value.to_integral_value():
        raise RowInvalid(field_name, f"{raw!r} is not a whole number.")
    # WooCommerce exports negative stock for backorders; nothing is left to sell.
    return max(int(value), 0)


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in {"1", "yes", "y", "true", "sim", "si", "sí", "x", "ativo", "activo"}


def _category_path(raw: str) -> list[str] | None:
    if not raw:
        return None
    # WooCommerce lists several categories with commas; the product keeps the first.
    first = raw.split(",")[0]
    parts = [p.strip() for p in first.split(">") if p.strip()]
    return parts or None


def _urls(raw: str) -> list[str]:
    return [u.strip() for u in re.split(r"[|,\s]+", raw) if u.strip().startswith(("http://", "https://"))]


def _attribute_value(raw: str, single: bool) -> str | list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if single or len(values) == 1:
        return raw.strip() if single else values[0]
    return values


# --- WooCommerce ---


def _woo_rows(records: Iterator[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, ProductRow | RowInvalid]]:
    woo_ids: dict[str, str] = {}
    parsed: list[tuple[int, ProductRow | RowInvalid]] = []
    for line, record in records:
        try:
            row = _woo_row(line, record)
            if record.get("ID"):
                woo_ids[record["ID"]] = row.sku
            parsed.append((line, row))
        except RowInvalid as exc:
            parsed.append((line, exc))
    # Parents are named by SKU or by "id:<WooCommerce id>"; resolve ids within the file.
    for _, row in parsed:
        if isinstance(row, ProductRow):
            row.parent_ref = _resolve_woo_ref(row.parent_ref, woo_ids)
            row.children = [_resolve_woo_ref(c, woo_ids) for c in row.children]
    yield from parsed


def _resolve_woo_ref(ref: str, woo_ids: dict[str, str]) -> str:
    if ref.startswith("id:"):
        return woo_ids.get(ref[3:], ref)
    return ref


def _woo_row(line: int, r: dict[str, str]) -> ProductRow:
    types = {t.strip() for t in r.get("Type", "").lower().split(",")}
    kind = next((k for k in ("variation", "variable", "grouped") if k in types), "simple")
    sku = r.get("SKU", "")
    if not sku:
        raise RowInvalid("SKU", "The SKU is missing.")
    name = r.get("Name", "")
    if not name:
        raise RowInvalid("Name", "The name is missing.")

    regular = _optional_price(r.get("Regular price", ""), "Regular price")
    sale = _optional_price(r.get("Sale price", ""), "Sale price")
    if sale is not None and not _sale_running(r):
        sale = None
    if regular is None and kind not in ("variable", "grouped"):
        raise RowInvalid("Regular price", "The price is missing.")
    price = sale if sale is not None else regular
    compare_at = regular if sale is not None and regular is not None and regular > sale else None

    stock = _parse_stock(r.get("Stock", ""), "Stock")
    in_stock_flag = r.get("In stock?", "").strip().lower()
    if stock is not None:
        track = True
    elif in_stock_flag in ("0", "no", "outofstock"):
        # Not counted and marked out of stock: nothing to sell.
        track, stock = True, 0
    else:
        # Not counted, marked in stock (or on backorder): available while active.
        track = False

    attributes: dict = {}
    n = 1
    while f"Attribute {n} name" in r:
        key = r.get(f"Attribute {n} name", "").strip()
        value = r.get(f"Attribute {n} value(s)", "").strip()
        if key and value:
            attributes[key.lower()] = _attribute_value(value, single=kind == "variation")
        n += 1
    tags = [t.strip() for t in r.get("Tags", "").split(",") if t.strip()]
    if tags:
        attributes["tags"] = tags

    description = strip_tags(r.get("Description", "")).strip() or strip_tags(
        r.get("Short description", "")
    ).strip()
    return ProductRow(
        line=line,
        sku=sku,
        name=name,
        price=price,
        kind=kind,
        description=description,
        compare_at_price=compare_at,
        stock=stock,
        track_stock=track,
        is_active=r.get("Published", "1").strip() == "1",
        category_path=_category_path(r.get("Categories", "")),
        parent_ref=r.get("Parent", "") if kind == "variation" else "",
        attributes=attributes,
        image_urls=_urls(r.get("Images", "")),
        children=[c.strip() for c in r.get("Grouped products", "").split(",") if c.strip()],
    )


def _sale_running(r: dict[str, str]) -> bool:
    today = timezone.localdate()
    starts, ends = r.get("Date sale price starts", ""), r.get("Date sale price ends", "")
    try:
        if starts and date.fromisoformat(starts[:10]) > today:
            return False
        if ends and date.fromisoformat(ends[:10]) < today:
            return False
    except ValueError:
        return True
    return True


# --- generic ---


def _generic_rows(records: Iterator[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, ProductRow | RowInvalid]]:
    for line, record in records:
        r = {k.strip().lower(): v for k, v in record.items() if k}
        try:
            yield line, _generic_row(line, r)
        except RowInvalid as exc:
            yield line, exc


def _generic_row(line: int, r: dict[str, str]) -> ProductRow:
    sku = r.get("sku", "")
    if not sku:
        raise RowInvalid("sku", "The SKU is missing.")
    name = r.get("name", "")
    if not name:
        raise RowInvalid("name", "The name is missing.")
    price = parse_price(r.get("price", ""), "price")
    stock = _parse_stock(r.get("stock", ""), "stock")
    attributes = {
        key.split(":", 1)[1].strip(): value
        for key, value in r.items()
        if key.startswith("attribute:") and value
    }
    return ProductRow(
        line=line,
        sku=sku,
        name=name,
        price=price,
        kind="variation" if r.get("parent_sku") else "simple",
        description=r.get("description"),
        compare_at_price=_optional_price(r.get("compare_at_price", ""), "compare_at_price"),
        stock=stock,
        track_stock=True if stock is not None else None,
        is_active=_truthy(r["active"]) if r.get("active") else None,
        category_path=_category_path(r.get("category", "")),
        parent_ref=r.get("parent_sku", ""),
        attributes=attributes or None,
        image_urls=_urls(r["image_urls"]) if r.get("image_urls") else None,
    )


# --- writing ---


class _Categories:
    """Finds or creates categories by path, once per import."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, ...], Category] = {}

    def get(self, path: list[str]) -> Category:
        key = tuple(path)
        if key in self._cache:
            return self._cache[key]
        parent = self.get(path[:-1]) if len(path) > 1 else None
        name = path[-1]
        found = Category.objects.filter(name__iexact=name, parent=parent).first()
        if found is None:
            found = Category.objects.create(name=name, parent=parent, slug=self._free_slug(path))
        self._cache[key] = found
        return found

    @staticmethod
    def _free_slug(path: list[str]) -> str:
        base = slugify(path[-1]) or "category"
        if Category.objects.filter(slug=base).exists():
            base = slugify("-".join(path))[:190] or base
        slug, n = base, 2
        while Category.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug


def _save(row: ProductRow, categories: _Categories, currency: str) -> bool:
    """Create or update the row's product; True when it was created."""
    values: dict = {"name": row.name}
    for attr in ("description", "is_active", "attributes", "image_urls"):
        value = getattr(row, attr)
        if value is not None:
            values[attr] = value
    if row.price is not None:
        values["price"] = row.price
        values["compare_at_price"] = row.compare_at_price
    if row.stock is not None:
        values["stock_quantity"] = row.stock
    if row.track_stock is not None:
        values["track_stock"] = row.track_stock
    if row.category_path:
        values["category"] = categories.get(row.category_path)
    if row.parent_ref:
        parent = Product.objects.filter(sku=row.parent_ref).first()
        if parent is None:
            raise RowInvalid("parent", f"No product with SKU {row.parent_ref!r} to be this variant's parent.")
        if parent.parent_id is not None:
            raise RowInvalid("parent", f"{row.parent_ref!r} is itself a variant.")
        values["parent"] = parent
        values.setdefault("category", parent.category)
        if not values.get("image_urls"):
            values["image_urls"] = parent.image_urls

    existing = Product.objects.select_for_update().filter(sku=row.sku).first()
    if existing is None:
        if "price" not in values:
            values["price"] = Decimal("0")  # replaced below by the variants' lowest price
        Product.objects.create(sku=row.sku, currency=currency, **values)
        return True
    before = existing.stock_quantity
    for key, value in values.items():
        setattr(existing, key, value)
    existing.save()
    if existing.stock_quantity != before:
        announce_stock_change(existing, before, existing.stock_quantity)
    return False


def _derive_prices(rows: list[ProductRow]) -> None:
    """A variable or grouped product without its own price shows its cheapest option."""
    for row in rows:
        if row.price is not None or row.kind not in ("variable", "grouped"):
            continue
        options = Product.objects.filter(is_active=True)
        if row.kind == "variable":
            options = options.filter(parent__sku=row.sku)
        else:
            options = options.filter(sku__in=row.children)
        cheapest = options.order_by("price").values_list("price", flat=True).first()
        if cheapest is not None:
            Product.objects.filter(sku=row.sku).update(price=cheapest)


def import_products(content: bytes | str, *, format: ImportFormat = "auto") -> ImportReport:
    """Import a CSV into the current store's catalog; see the module docstring.

    Idempotent by SKU. Each row is saved in its own savepoint inside one transaction, so
    a row the database refuses is reported and the others are kept. Raises
    ``ImportFileInvalid`` only when the file as a whole cannot be read.
    """
    if format not in FORMATS:
        raise ImportFileInvalid(f"Unknown format {format!r}; use one of {', '.join(FORMATS)}.", field="format")
    header, records = _records(_decode(content))
    fmt = detect_format(header) if format == "auto" else format
    if fmt == "woocommerce" and "SKU" not in header:
        raise ImportFileInvalid("This is not a WooCommerce product export (no SKU column).", field="file")
    if fmt == "generic" and "sku" not in {h.lower() for h in header}:
        raise ImportFileInvalid("A generic CSV needs at least the columns sku, name, price.", field="file")
    parsed = list(_woo_rows(records) if fmt == "woocommerce" else _generic_rows(records))
    return save_rows(fmt, parsed)


def save_rows(fmt: str, parsed: list[tuple[int, ProductRow | RowInvalid]]) -> ImportReport:
    """Write parsed rows to the current store's catalog: the path every import and every
    platform sync takes. Idempotent by SKU; each row in its own savepoint, so a row the
    database refuses is reported (with its line) and the others are kept."""
    errors: list[RowError] = []
    rows: list[ProductRow] = []
    for line, item in parsed:
        if isinstance(item, RowInvalid):
            errors.append(RowError(line, item.field, item.message))
        else:
            rows.append(item)
    rows = _without_duplicate_skus(rows, errors)

    currency = get_store_profile().currency
    categories = _Categories()
    created = updated = 0
    with transaction.atomic():
        # Parents first, whatever order the file lists them in.
        for row in sorted(rows, key=lambda r: (r.kind == "variation", r.line)):
            try:
                with transaction.atomic():
                    if _save(row, categories, currency):
                        created += 1
                    else:
                        updated += 1
            except RowInvalid as exc:
                errors.append(RowError(row.line, exc.field, exc.message))
        _derive_prices(rows)
        if created or updated:
            refresh_embeddings_on_commit()

    errors.sort(key=lambda e: e.line)
    report = ImportReport(format=fmt, created=created, updated=updated, errors=tuple(errors))
    logger.info(
        "catalog.imported",
        extra={"format": fmt, "products_created": created, "products_updated": updated, "row_errors": len(errors)},
    )
    return report


def _without_duplicate_skus(rows: list[ProductRow], errors: list[RowError]) -> list[ProductRow]:
    seen: dict[str, int] = {}
    kept: list[ProductRow] = []
    for row in rows:
        if row.sku in seen:
            errors.append(RowError(row.line, "sku", f"SKU {row.sku!r} already appears on line {seen[row.sku]}."))
            continue
        seen[row.sku] = row.line
        kept.append(row)
    return kept
