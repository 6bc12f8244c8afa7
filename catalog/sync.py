"""Catalog sync: pull the products of the platform a store already sells on.

WooCommerce (REST API v3): ``GET {shop}/wp-json/wc/v3/products`` and, for each variable
product, ``/products/<id>/variations``; ``per_page``/``page`` with ``X-WP-TotalPages``;
HTTP Basic auth with the consumer key and secret (WooCommerce accepts it over HTTPS).

Tiendanube/Nuvemshop: ``GET {api}/{store_id}/products`` with ``Authentication: bearer
<token>`` (sic) and a ``User-Agent`` naming the app; ``page``/``per_page``, the next page
announced in the ``Link`` header (a page past the last answers 404). Texts are
per-language objects (``{"pt": ..., "es": ...}``); every product has at least one variant,
and a single variant without values is the product itself.

Both are mapped to ``importing.ProductRow`` and written by ``importing.save_rows``, the
CSV import's own path: idempotent by SKU, a product that cannot be saved is reported and
the rest is kept. Products deleted on the platform are not touched here.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags

from catalog.errors import CatalogConnectionNotFound, SyncRejected, SyncSourceUnavailable
from catalog.importing import ImportReport, ProductRow, RowInvalid, parse_price, save_rows
from catalog.models import CatalogConnection, Platform
from catalog.selectors import get_store_profile

logger = logging.getLogger(__name__)

WOO_PAGE_SIZE = 100  # WooCommerce's maximum
TIENDANUBE_PAGE_SIZE = 200  # Tiendanube's maximum
MAX_PAGES = 1000  # a runaway paginator stops here


@dataclass(frozen=True)
class SyncReport:
    connection_id: int
    platform: str
    fetched: int  # products and variants read from the platform
    report: ImportReport

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "created": self.report.created,
            "updated": self.report.updated,
            "errors": [
                {"line": e.line, "field": e.field, "message": e.message} for e in self.report.errors
            ],
        }


# --- the service --------------------------------------------------------------------------


def sync_catalog(connection_id: int) -> SyncReport:
    """Pull the connection's catalog now and write it like an import (idempotent by SKU).

    Records the outcome on the connection (``last_status`` ``ok``, ``errors`` when some
    products were reported, ``failed`` when the platform could not be read). Raises
    ``CatalogConnectionNotFound``, ``SyncSourceUnavailable`` (network, 5xx, 429: retry)
    and ``SyncRejected`` (credentials, URL: staff must fix the connection); the catalog
    is unchanged when the platform could not be read completely.
    """
    connection = _connection(connection_id)
    CatalogConnection.objects.filter(pk=connection.pk).update(last_sync_started_at=timezone.now())
    try:
        client = _client(connection)
        parsed = list(client.rows())
    except (SyncSourceUnavailable, SyncRejected) as exc:
        CatalogConnection.objects.filter(pk=connection.pk).update(
            last_status="failed", last_error=exc.message
        )
        logger.warning(
            "catalog.sync_failed",
            extra={"connection_id": connection.pk, "platform": connection.platform, "error": exc.message},
        )
        raise
    report = save_rows(connection.platform, parsed)
    result = SyncReport(connection.pk, connection.platform, len(parsed), report)
    CatalogConnection.objects.filter(pk=connection.pk).update(
        last_synced_at=timezone.now(),
        last_status="errors" if report.errors else "ok",
        last_error="",
        last_report=result.as_dict(),
    )
    logger.info(
        "catalog.synced",
        extra={
            "connection_id": connection.pk,
            "platform": connection.platform,
            "fetched": len(parsed),
            "products_created": report.created,
            "products_updated": report.updated,
            "row_errors": len(report.errors),
        },
    )
    return result


def request_sync(connection_id: int) -> None:
    """Enqueue a sync of the connection after the current transaction commits."""
    _connection(connection_id)
    from catalog.tasks import sync_catalog_task

    transaction.on_commit(lambda: sync_catalog_task.delay(connection_id))


def due_connections(now=None) -> list[int]:
    """Enabled connections with a schedule whose last sync started longer ago than it."""
    now = now or timezone.now()
    due = []
    for connection in CatalogConnection.objects.filter(is_enabled=True, sync_every_minutes__gt=0):
        started = connection.last_sync_started_at
        if started is None or started <= now - timedelta(minutes=connection.sync_every_minutes):
            due.append(connection.pk)
    return due


def _connection(connection_id: int) -> CatalogConnection:
    try:
        return CatalogConnection.objects.get(pk=connection_id)
    except CatalogConnection.DoesNotExist as exc:
        raise CatalogConnectionNotFound(
            f"No catalog connection with id {connection_id}.", field="connection_id"
        ) from exc


def _secret(connection: CatalogConnection, key: str) -> str:
    # The store's credentials vault (agents/vault.py, which the map puts in tenants).
    from agents.errors import CredentialMissing, CredentialUnreadable
    from agents.vault import get_credential

    try:
        return get_credential(
            "other", f"{connection.credential_name}:{key}", purpose=f"catalog sync {connection.name!r}"
        )
    except (CredentialMissing, CredentialUnreadable) as exc:
        raise SyncRejected(exc.message, field="credential_name") from exc


def _client(connection: CatalogConnection) -> _Client:
    if connection.platform == Platform.WOOCOMMERCE:
        return WooCommerceClient(
            connection.base_url,
            _secret(connection, "consumer_key"),
            _secret(connection, "consumer_secret"),
        )
    if connection.platform == Platform.TIENDANUBE:
        if not connection.store_id:
            raise SyncRejected("A Tiendanube connection needs the store id.", field="store_id")
        return TiendanubeClient(
            connection.base_url,
            connection.store_id,
            _secret(connection, "access_token"),
            user_agent=connection.user_agent or "Atendo (catalog sync)",
            language=get_store_profile().language,
        )
    raise SyncRejected(f"Unknown platform {connection.platform!r}.", field="platform")


# --- HTTP ----------------------------------------------------------------------------------


class _Client:
    name = ""

    def rows(self) -> Iterator[tuple[int, ProductRow | RowInvalid]]:
        raise NotImplementedError

    def _get(self, url: str, headers: dict[str, str]) -> tuple[Any, Any]:
        """JSON body and headers of a GET; raises ``SyncSourceUnavailable``/``SyncRejected``."""
        request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
        timeout = getattr(settings, "CATALOG_SYNC_TIMEOUT_SECONDS", 20)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            if exc.code >= 500 or exc.code == 429:
                raise SyncSourceUnavailable(f"{self.name} answered {exc.code}: {detail}") from exc
            raise SyncRejected(f"{self.name} answered {exc.code} for {_safe(url)}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise SyncSourceUnavailable(f"{self.name} is unreachable: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise SyncRejected(
                f"{self.name} answered with something that is not JSON ({_safe(url)})."
            ) from exc


def _safe(url: str) -> str:
    return url.split("?", 1)[0]


def _text(value: Any) -> str:
    return strip_tags(str(value or "")).strip()


def _price(raw: Any, field_name: str):
    return parse_price(str(raw), field_name) if raw not in (None, "") else None


class WooCommerceClient(_Client):
    name = "WooCommerce"

    def __init__(self, shop_url: str, consumer_key: str, consumer_secret: str):
        self.api = shop_url.rstrip("/") + "/wp-json/wc/v3"
        token = base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def _pages(self, path: str) -> Iterator[dict]:
        page, total = 1, 1
        while page <= min(total, MAX_PAGES):
            query = urllib.parse.urlencode({"per_page": WOO_PAGE_SIZE, "page": page})
            items, headers = self._get(f"{self.api}{path}?{query}", self.headers)
            if not isinstance(items, list):
                raise SyncRejected(f"WooCommerce {path} did not answer a list.")
            yield from items
            total = int(headers.get("X-WP-TotalPages") or 1)
            page += 1

    def rows(self) -> Iterator[tuple[int, ProductRow | RowInvalid]]:
        position = 0
        woo_skus: dict[int, str] = {}
        grouped: list[tuple[ProductRow, list[int]]] = []
        out: list[tuple[int, ProductRow | RowInvalid]] = []
        for product in self._pages("/products"):
            position += 1
            try:
                row = self._product(position, product)
            except RowInvalid as exc:
                out.append((position, _name_product(exc, product)))
                continue
            woo_skus[product.get("id")] = row.sku
            out.append((position, row))
            if row.kind == "grouped":
                grouped.append((row, list(product.get("grouped_products") or [])))
            if row.kind == "variable":
                for variation in self._pages(f"/products/{product['id']}/variations"):
                    position += 1
                    try:
                        out.append((position, self._variation(position, variation, row)))
                    except RowInvalid as exc:
                        out.append((position, _name_product(exc, variation)))
        for row, children in grouped:
            row.children = [woo_skus[c] for c in children if c in woo_skus]
        return iter(out)

    @staticmethod
    def _stock(item: dict) -> tuple[int | None, bool]:
        manage = item.get("manage_stock")
        quantity = item.get("stock_quantity")
        if manage is True and quantity is not None:
            return max(int(quantity), 0), True
        if item.get("stock_status") == "outofstock":
            return 0, True
        return None, False

    def _product(self, position: int, p: dict) -> ProductRow:
        kind = p.get("type") if p.get("type") in ("variable", "grouped") else "simple"
        sku = str(p.get("sku") or "").strip()
        if not sku:
            if kind == "simple":
                raise RowInvalid("sku", "The SKU is missing.")
            sku = f"WC-{p.get('id')}"  # a parent need not have one; its variants do
        regular = _price(p.get("regular_price"), "regular_price")
        sale = _price(p.get("sale_price"), "sale_price")
        price = sale if sale is not None else regular
        if price is None:
            price = _price(p.get("price"), "price")
        if price is None and kind == "simple":
            raise RowInvalid("regular_price", "The price is missing.")
        stock, track = self._stock(p)
        attributes: dict[str, Any] = {}
        for attribute in p.get("attributes") or []:
            options = [str(o) for o in attribute.get("options") or []]
            if attribute.get("name") and options:
                attributes[str(attribute["name"]).lower()] = options if len(options) > 1 else options[0]
        tags = [t.get("name") for t in p.get("tags") or [] if t.get("name")]
        if tags:
            attributes["tags"] = tags
        categories = [c.get("name") for c in p.get("categories") or [] if c.get("name")]
        return ProductRow(
            line=position,
            sku=sku,
            name=_text(p.get("name")) or sku,
            price=price,
            kind=kind,
            description=_text(p.get("description")) or _text(p.get("short_description")),
            compare_at_price=regular if sale is not None and regular and regular > sale else None,
            stock=stock,
            track_stock=track,
            is_active=p.get("status", "publish") == "publish",
            category_path=[categories[0]] if categories else None,
            attributes=attributes,
            image_urls=[i["src"] for i in p.get("images") or [] if i.get("src")],
        )

    def _variation(self, position: int, v: dict, parent: ProductRow) -> ProductRow:
        sku = str(v.get("sku") or "").strip()
        if not sku or sku == parent.sku:
            # WooCommerce shows the parent's SKU for a variation without its own.
            sku = f"{parent.sku}-{v.get('id')}"
        regular = _price(v.get("regular_price"), "regular_price")
        sale = _price(v.get("sale_price"), "sale_price")
        price = sale if sale is not None else regular
        if price is None:
            price = _price(v.get("price"), "price")
        if price is None:
            raise RowInvalid("regular_price", "The price is missing.")
        stock, track = self._stock(v)
        attributes = {
            str(a["name"]).lower(): str(a.get("option"))
            for a in v.get("attributes") or []
            if a.get("name") and a.get("option")
        }
        label = ", ".join(attributes.values())
        image = (v.get("image") or {}).get("src")
        return ProductRow(
            line=position,
            sku=sku,
            name=f"{parent.name} - {label}" if label else parent.name,
            price=price,
            kind="variation",
            description=_text(v.get("description")) or None,
            compare_at_price=regular if sale is not None and regular and regular > sale else None,
            stock=stock,
            track_stock=track,
            is_active=v.get("status", "publish") == "publish",
            parent_ref=parent.sku,
            attributes=attributes,
            image_urls=[image] if image else None,
        )


class TiendanubeClient(_Client):
    name = "Tiendanube"

    def __init__(
        self, api_url: str, store_id: str, access_token: str, *, user_agent: str, language: str = "pt"
    ):
        self.api = f"{api_url.rstrip('/')}/{store_id}"
        self.headers = {"Authentication": f"bearer {access_token}", "User-Agent": user_agent}
        self.language = language

    def _pages(self) -> Iterator[dict]:
        page = 1
        while page <= MAX_PAGES:
            query = urllib.parse.urlencode({"per_page": TIENDANUBE_PAGE_SIZE, "page": page})
            try:
                items, headers = self._get(f"{self.api}/products?{query}", self.headers)
            except SyncRejected as exc:
                # Past the last page Tiendanube answers 404 ("Last page is N").
                if page > 1 and " 404 " in f" {exc.message} ":
                    return
                raise
            if not isinstance(items, list):
                raise SyncRejected("Tiendanube /products did not answer a list.")
            yield from items
            if not items or 'rel="next"' not in (headers.get("Link") or ""):
                return
            page += 1

    def _local(self, value: Any) -> str:
        if isinstance(value, dict):
            value = value.get(self.language) or next((v for v in value.values() if v), "")
        return _text(value)

    def rows(self) -> Iterator[tuple[int, ProductRow | RowInvalid]]:
        position = 0
        for product in self._pages():
            variants = product.get("variants") or []
            single = len(variants) == 1 and not variants[0].get("values")
            position += 1
            try:
                parent = self._product(position, product, variants[0] if single else None)
            except RowInvalid as exc:
                yield position, _name_product(exc, product)
                continue
            yield position, parent
            if single:
                continue
            names = [self._local(a).lower() for a in product.get("attributes") or []]
            for variant in variants:
                position += 1
                try:
                    yield position, self._variant(position, variant, parent, names, product)
                except RowInvalid as exc:
                    yield position, _name_product(exc, variant)

    def _prices(self, variant: dict):
        price = _price(variant.get("price"), "price")
        promotional = _price(variant.get("promotional_price"), "promotional_price")
        compare = _price(variant.get("compare_at_price"), "compare_at_price")
        if promotional is not None and price is not None and promotional < price:
            return promotional, price
        return price, compare if compare and price and compare > price else None

    @staticmethod
    def _stock(variant: dict) -> tuple[int | None, bool]:
        if variant.get("stock_management") and variant.get("stock") is not None:
            return max(int(variant["stock"]), 0), True
        return None, False  # infinite stock on Tiendanube

    def _product(self, position: int, p: dict, variant: dict | None) -> ProductRow:
        name = self._local(p.get("name"))
        categories = [self._local(c.get("name")) for c in p.get("categories") or []]
        tags = [t.strip() for t in str(p.get("tags") or "").split(",") if t.strip()]
        attributes: dict[str, Any] = {"tags": tags} if tags else {}
        ordered = sorted(p.get("images") or [], key=lambda i: i.get("position") or 0)
        images = [i["src"] for i in ordered if i.get("src")]
        common = dict(
            line=position,
            name=name or f"Tiendanube {p.get('id')}",
            description=self._local(p.get("description")),
            is_active=bool(p.get("published", True)),
            category_path=[categories[0]] if categories and categories[0] else None,
            image_urls=images,
            attributes=attributes,
        )
        if variant is None:
            # The product itself has no SKU on Tiendanube, only its variants do.
            return ProductRow(sku=f"TN-{p.get('id')}", price=None, kind="variable", **common)
        sku = str(variant.get("sku") or "").strip()
        if not sku:
            raise RowInvalid("sku", "The SKU is missing.")
        price, compare = self._prices(variant)
        if price is None:
            raise RowInvalid("price", "The price is missing.")
        stock, track = self._stock(variant)
        return ProductRow(
            sku=sku, price=price, kind="simple", compare_at_price=compare, stock=stock,
            track_stock=track, **common,
        )

    def _variant(self, position: int, v: dict, parent: ProductRow, names: list[str], p: dict) -> ProductRow:
        sku = str(v.get("sku") or "").strip() or f"{parent.sku}-{v.get('id')}"
        price, compare = self._prices(v)
        if price is None:
            raise RowInvalid("price", "The price is missing.")
        stock, track = self._stock(v)
        values = [self._local(value) for value in v.get("values") or []]
        attributes = {
            (names[i] if i < len(names) and names[i] else f"option {i + 1}"): value
            for i, value in enumerate(values)
            if value
        }
        image = next((i["src"] for i in p.get("images") or [] if i.get("id") == v.get("image_id")), None)
        return ProductRow(
            line=position,
            sku=sku,
            name=f"{parent.name} - {', '.join(attributes.values())}" if attributes else parent.name,
            price=price,
            kind="variation",
            compare_at_price=compare,
            stock=stock,
            track_stock=track,
            is_active=parent.is_active,
            parent_ref=parent.sku,
            attributes=attributes,
            image_urls=[image] if image else None,
        )


def _name_product(exc: RowInvalid, item: dict) -> RowInvalid:
    """Reports of a sync name the platform's id: there is no file line to point at."""
    label = re.sub(r"\s+", " ", str(item.get("sku") or "")).strip()
    where = f"product id {item.get('id')}" + (f" (SKU {label})" if label else "")
    return RowInvalid(exc.field, f"{where}: {exc.message}")
