from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from conftest import STORE_A


@pytest.fixture
def lead(store):
    from leads.services import ensure_lead

    return ensure_lead("whatsapp", "5511988887777", name="Ana", email="ana@example.com")


@pytest.fixture
def make_product(store):
    from catalog.tests.factories import product

    counter = iter(range(1, 1000))

    def make(price: str = "100.00", stock: int = 10, **fields):
        n = next(counter)
        return product(
            fields.pop("sku", f"SKU-{n}"),
            fields.pop("name", f"Product {n}"),
            price,
            stock,
            **fields,
        )

    return make


@pytest.fixture
def committed_store_a(django_db_blocker):
    """Store A with real commits (no test transaction), for tests whose threads must see
    each other's rows. Yields the tenant; deletes every order, lead and product created
    meanwhile so the other tests see clean stores."""
    from catalog.models import Product
    from leads.models import Lead
    from orders.models import Order, PaymentWebhookEvent
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug=STORE_A["slug"])
        connection.set_tenant(tenant)
        before = (
            set(Order.objects.values_list("pk", flat=True)),
            set(Lead.objects.values_list("pk", flat=True)),
            set(Product.objects.values_list("pk", flat=True)),
        )
        try:
            yield tenant
        finally:
            connection.set_tenant(tenant)
            PaymentWebhookEvent.objects.all().delete()
            Order.objects.exclude(pk__in=before[0]).delete()
            Lead.objects.exclude(pk__in=before[1]).delete()
            Product.objects.exclude(pk__in=before[2]).delete()
            connection.set_schema_to_public()


class FakeAbacatePay:
    """A local HTTP server speaking AbacatePay's billing API."""

    def __init__(self):
        self.requests: list[dict] = []
        self.refunds: dict[str, str] = {}
        self.fail_with: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                if fake.fail_with:
                    self._answer(
                        fake.fail_with, {"data": None, "error": "Something went wrong"}
                    )
                elif self.headers.get("Authorization") != "Bearer abc_test_key":
                    self._answer(401, {"data": None, "error": "Unauthorized"})
                elif self.path == "/v2/checkouts/refund":
                    # The same billing always gets the same refund id (AbacatePay's rule).
                    refund = f"tran_refund_{body['id']}"
                    fake.refunds.setdefault(body["id"], refund)
                    self._answer(200, {"data": {"refundPublicId": refund}, "error": None, "success": True})
                elif self.path != "/v1/billing/create":
                    self._answer(404, {"data": None, "error": "Not found"})
                else:
                    bill = f"bill_{len(fake.requests):06d}"
                    amount = sum(p["price"] * p["quantity"] for p in body["products"])
                    self._answer(
                        200,
                        {
                            "data": {
                                "id": bill,
                                "url": f"https://pay.abacatepay.com/{bill}",
                                "amount": amount,
                                "status": "PENDING",
                                "devMode": True,
                                "methods": body["methods"],
                                "frequency": body["frequency"],
                                "nextBilling": None,
                                "allowCoupons": False,
                                "coupons": [],
                            },
                            "error": None,
                        },
                    )

            def _answer(self, status, payload):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def abacatepay(settings, store):
    """The fake AbacatePay, and store A's AbacatePay secrets in its credentials vault."""
    from agents import vault

    fake = FakeAbacatePay()
    settings.ABACATEPAY_BASE_URL = fake.url
    vault.set_credential("payment", "abacatepay", "abc_test_key")
    vault.set_credential("payment", "abacatepay_webhook_secret", "whsec-store-a")
    yield fake
    fake.close()
