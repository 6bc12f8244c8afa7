"""Local HTTP servers speaking WooCommerce's REST API v3 and Tiendanube's API, for sync tests.

The WooCommerce one serves the shared fixture catalog (WooCommerce's own sample export)
turned into REST objects, the way a shop holding those products answers.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from conftest import shared_fixture

WOO_EXPORT = shared_fixture("catalog", "woocommerce_sample_products.csv")


class _FakeServer:
    page_size = 10

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append({"path": parts.path, "query": query, "headers": dict(self.headers)})
                if fake.fail_with:
                    return self._answer(fake.fail_with, {"message": "Something went wrong"}, {})
                status, body, headers = fake.answer(parts.path, query, self.headers)
                self._answer(status, body, headers)

            def _answer(self, status, payload, headers):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def answer(self, path, query, headers):  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def woo_catalog_from_export() -> tuple[list[dict], dict[int, list[dict]]]:
    """The fixture export as WooCommerce REST objects: products, and variations by parent id."""
    text = WOO_EXPORT.read_bytes().decode("utf-8-sig")
    products: list[dict] = []
    variations: dict = {}
    for r in csv.DictReader(io.StringIO(text)):
        item = {
            "id": int(r["ID"]),
            "name": r["Name"],
            "type": r["Type"],
            "status": "publish" if r["Published"] == "1" else "draft",
            "sku": r["SKU"],
            "price": r["Sale price"] or r["Regular price"],
            "regular_price": r["Regular price"],
            "sale_price": r["Sale price"],
            "description": f"<p>{r['Description']}</p>" if r["Description"] else "",
            "short_description": r["Short description"],
            "manage_stock": bool(r["Stock"]),
            "stock_quantity": int(r["Stock"]) if r["Stock"] else None,
            "stock_status": "instock" if r["In stock?"] == "1" else "outofstock",
        }
        if r["Type"] == "variation":
            item["attributes"] = [
                {"id": 0, "name": r[f"Attribute {n} name"], "option": r[f"Attribute {n} value(s)"]}
                for n in (1, 2)
                if r[f"Attribute {n} name"] and r[f"Attribute {n} value(s)"]
            ]
            item["image"] = {"id": 1, "src": r["Images"].split(",")[0].strip()} if r["Images"] else None
            # The export names a parent by SKU or by "id:<ID>".
            item["_parent"] = r["Parent"]
            variations.setdefault(r["Parent"], []).append(item)
            continue
        item["categories"] = [
            {"id": n, "name": c.split(">")[-1].strip(), "slug": c.split(">")[-1].strip().lower()}
            for n, c in enumerate(r["Categories"].split(","))
            if c.strip()
        ][:1]
        item["tags"] = [{"id": 1, "name": t.strip()} for t in r["Tags"].split(",") if t.strip()]
        urls = [u.strip() for u in r["Images"].split(",") if u.strip()]
        item["images"] = [{"id": n, "src": u} for n, u in enumerate(urls)]
        item["attributes"] = [
            {
                "id": 0,
                "name": r[f"Attribute {n} name"],
                "variation": r["Type"] == "variable",
                "options": [o.strip() for o in r[f"Attribute {n} value(s)"].split(",") if o.strip()],
            }
            for n in (1, 2)
            if r[f"Attribute {n} name"]
        ]
        item["grouped_products"] = []
        item["_grouped_skus"] = [s.strip() for s in r["Grouped products"].split(",") if s.strip()]
        products.append(item)
    sku_to_id = {p["sku"]: p["id"] for p in products}
    by_parent: dict[int, list[dict]] = {}
    for ref, items in variations.items():
        parent_id = int(ref[3:]) if ref.startswith("id:") else sku_to_id[ref]
        for item in items:
            item.pop("_parent")
        by_parent.setdefault(parent_id, []).extend(items)
    variations = by_parent
    for p in products:
        p["grouped_products"] = [sku_to_id[s] for s in p.pop("_grouped_skus") if s in sku_to_id]
        p["variations"] = [v["id"] for v in variations.get(p["id"], [])]
    return products, variations


class FakeWooCommerce(_FakeServer):
    """``/wp-json/wc/v3/products`` and ``/products/<id>/variations``, ``page`` and
    ``X-WP-Total``/``X-WP-TotalPages`` as WooCommerce sends them, Basic auth."""

    page_size = 10  # whatever per_page asks, so several pages are walked

    def __init__(self, key: str = "ck_test", secret: str = "cs_test"):
        self.products, self.variations = woo_catalog_from_export()
        self.expected_auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        super().__init__()

    def answer(self, path, query, headers):
        if headers.get("Authorization") != self.expected_auth:
            refusal = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                       "data": {"status": 401}}
            return 401, refusal, {}
        prefix = "/wp-json/wc/v3/products"
        if path == prefix:
            items = self.products
        elif path.startswith(prefix + "/") and path.endswith("/variations"):
            items = self.variations.get(int(path[len(prefix) + 1 : -len("/variations")]), [])
        else:
            return 404, {"code": "rest_no_route", "message": "No route was found."}, {}
        page = int(query.get("page", 1))
        pages = max(1, -(-len(items) // self.page_size))
        chunk = items[(page - 1) * self.page_size : page * self.page_size]
        return 200, chunk, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}


def tiendanube_product(product_id: int, name: dict, variants: list[dict], **fields) -> dict:
    return {
        "id": product_id,
        "name": name,
        "description": fields.pop("description", {"pt": "", "es": ""}),
        "handle": {k: v.lower().replace(" ", "-") for k, v in name.items()},
        "attributes": fields.pop("attributes", []),
        "published": fields.pop("published", True),
        "free_shipping": False,
        "canonical_url": f"https://loja.example.com/produtos/{product_id}/",
        "categories": fields.pop("categories", []),
        "images": fields.pop("images", []),
        "tags": fields.pop("tags", ""),
        "variants": [
            {
                "id": product_id * 100 + n,
                "product_id": product_id,
                "image_id": None,
                "promotional_price": None,
                "compare_at_price": None,
                "stock_management": True,
                "values": [],
                **variant,
            }
            for n, variant in enumerate(variants, start=1)
        ],
        "created_at": "2025-03-01T12:00:00+0000",
        "updated_at": "2025-03-02T12:00:00+0000",
        **fields,
    }


class FakeTiendanube(_FakeServer):
    """``/v1/<store_id>/products`` with ``Authentication: bearer`` (sic), a mandatory
    ``User-Agent``, ``page``/``per_page``, a ``Link`` header to the next page and 404 past
    the last one — as Tiendanube answers."""

    page_size = 2

    def __init__(self, store_id: str = "123456", token: str = "tn-token", products: list[dict] | None = None):
        self.store_id, self.token = store_id, token
        self.products = products or []
        super().__init__()

    def answer(self, path, query, headers):
        if headers.get("Authentication") != f"bearer {self.token}":
            return 401, {"code": 401, "message": "Unauthorized", "description": "Invalid access token"}, {}
        if not headers.get("User-Agent") or "Python-urllib" in headers.get("User-Agent", ""):
            return 400, {"code": 400, "message": "Bad Request", "description": "Missing User-Agent"}, {}
        if path != f"/v1/{self.store_id}/products":
            return 404, {"code": 404, "message": "Not Found", "description": "Not Found"}, {}
        page = int(query.get("page", 1))
        pages = max(1, -(-len(self.products) // self.page_size))
        if page > pages:
            return 404, {"code": 404, "message": "Not Found", "description": f"Last page is {pages}"}, {}
        chunk = self.products[(page - 1) * self.page_size : page * self.page_size]
        links = []
        base = f"{self.url}/v1/{self.store_id}/products?per_page={self.page_size}"
        if page < pages:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
        links.append(f'<{base}&page={pages}>; rel="last"')
        return 200, chunk, {"x-total-count": str(len(self.products)), "Link": ", ".join(links)}
