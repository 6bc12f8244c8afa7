"""AbacatePay (PIX): create a billing for an order, verify and parse its webhooks.

Wire format (docs.abacatepay.com): ``POST {base}/v1/billing/create`` with a Bearer API key,
amounts in cents, answer ``{"data": {"id": "bill_...", "url": ...}, "error": null}``.
Webhooks carry two proofs: our webhook secret (query ``webhookSecret`` or header
``X-Webhook-Secret``) proves the origin; ``X-Webhook-Signature`` =
base64(HMAC-SHA256(AbacatePay's public key, raw body)) proves the body is intact.
v1 events: ``billing.paid|refunded|...``; v2: ``checkout.completed|refunded|...`` with an
``id`` per event (v1 deliveries have none; their id is derived from event + billing id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from orders import conf
from orders.errors import (
    GatewayRejected,
    GatewayUnavailable,
    PaymentCredentialsMissing,
    WebhookRejected,
)
from orders.payments.base import Checkout, GatewayEvent

logger = logging.getLogger(__name__)

# AbacatePay signs every webhook with this key, the same for all accounts (it is public:
# the signature proves integrity; our secret proves the sender).
PUBLIC_SIGNATURE_KEY = (
    "t9dXRhHHo3yDEj5pVDYz0frf7q6bMKyMRmxxCPIPp3RCplBfXRxqlC6ZpiWmOqj4L63qEaeUOtrCI8P0VMUgo6iIga2ri9"
    "ogaHFs0WIIywSMg0q7RmBfybe1E5XJcfC4IW3alNqym0tXoAKkzvfEjZxV6bE0oG2zJrNNYmUCKZyV0KZ3JS8Votf9EAWWYd"
    "iDkMkpbMdPggfh1EqHlVkMiTady6jOR3hyzGEHrIz2Ret0xHKMbiqkr9HS1JhNHDX9"
)
PAID_EVENTS = {"billing.paid", "checkout.completed", "transparent.completed"}
REFUNDED_EVENTS = {"billing.refunded", "checkout.refunded", "transparent.refunded"}


def sign(body: bytes, key: str = PUBLIC_SIGNATURE_KEY) -> str:
    """The ``X-Webhook-Signature`` AbacatePay sends for ``body``."""
    return base64.b64encode(
        hmac.new(key.encode(), body, hashlib.sha256).digest()
    ).decode()


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


class AbacatePayGateway:
    """The store's AbacatePay account. Its secrets come from the store's credentials vault
    (``payment/abacatepay``: the API key; ``payment/abacatepay_webhook_secret``), never from
    the process environment; the base URL, return URL and timeout are the platform's."""

    name = "abacatepay"
    refunds_money = True  # refunding an order sends the money back through AbacatePay
    API_KEY_CREDENTIAL = "abacatepay"
    WEBHOOK_SECRET_CREDENTIAL = "abacatepay_webhook_secret"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        base_url: str | None = None,
        return_url: str | None = None,
        timeout: float | None = None,
    ):
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self.base_url = (base_url or conf.get("ABACATEPAY_BASE_URL")).rstrip("/")
        self.return_url = return_url or conf.get("ABACATEPAY_RETURN_URL")
        self.timeout = timeout or float(conf.get("ABACATEPAY_TIMEOUT_SECONDS"))

    @property
    def api_key(self) -> str:
        if self._api_key is None:
            self._api_key = _store_secret(self.API_KEY_CREDENTIAL, "AbacatePay API key")
        return self._api_key

    @property
    def webhook_secret(self) -> str:
        if self._webhook_secret is None:
            try:
                self._webhook_secret = _store_secret(
                    self.WEBHOOK_SECRET_CREDENTIAL, "AbacatePay webhook secret"
                )
            except PaymentCredentialsMissing as exc:
                raise WebhookRejected(exc.message, field="webhookSecret") from exc
        return self._webhook_secret

    # --- outbound --------------------------------------------------------------------

    def create_checkout(self, order) -> Checkout:
        lead = order.lead
        body: dict[str, Any] = {
            "frequency": "ONE_TIME",
            "methods": ["PIX"],
            "products": [
                {
                    "externalId": item.sku,
                    "name": item.name,
                    "quantity": item.quantity,
                    "price": to_cents(item.unit_price),
                }
                for item in order.items.all()
            ],
            "returnUrl": self.return_url,
            "completionUrl": self.return_url,
            "metadata": {"orderNumber": order.number},
        }
        if order.shipping_total:
            body["products"].append(
                {
                    "externalId": "shipping",
                    "name": "Shipping",
                    "quantity": 1,
                    "price": to_cents(order.shipping_total),
                }
            )
        if lead.email or lead.phone:
            body["customer"] = {
                k: v
                for k, v in (
                    ("name", lead.name),
                    ("email", lead.email),
                    ("cellphone", lead.phone),
                )
                if v
            }
        answer = self._post("/v1/billing/create", body)
        data = answer.get("data") or {}
        if answer.get("error") or not data.get("id"):
            raise GatewayRejected(
                f"AbacatePay refused the billing: {answer.get('error')!r}"
            )
        return Checkout(reference=data["id"], url=data.get("url", ""))

    def refund(self, order, reason: str = "") -> str:
        """Refund the order's whole payment (``POST /v2/checkouts/refund`` with the billing
        id); returns AbacatePay's refund id. AbacatePay answers the same refund id for the
        same billing, so a retry never refunds twice."""
        body: dict[str, Any] = {"id": order.payment_reference}
        if reason:
            body["reason"] = reason[:500]
        answer = self._post("/v2/checkouts/refund", body)
        data = answer.get("data") or {}
        if answer.get("error") or not data.get("refundPublicId"):
            raise GatewayRejected(f"AbacatePay refused the refund: {answer.get('error')!r}")
        return str(data["refundPublicId"])

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            if exc.code >= 500:
                raise GatewayUnavailable(
                    f"AbacatePay answered {exc.code}: {detail}"
                ) from exc
            raise GatewayRejected(f"AbacatePay answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise GatewayUnavailable(f"AbacatePay is unreachable: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise GatewayRejected(
                "AbacatePay answered with something that is not JSON."
            ) from exc

    # --- inbound ---------------------------------------------------------------------

    def verify(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> None:
        """Raises ``WebhookRejected`` unless both the secret and the signature check out."""
        if not self.webhook_secret:
            raise WebhookRejected("No AbacatePay webhook secret is configured.")
        given_secret = (
            query.get("webhookSecret") or _header(headers, "X-Webhook-Secret") or ""
        )
        if not hmac.compare_digest(given_secret.encode(), self.webhook_secret.encode()):
            raise WebhookRejected(
                "Wrong or missing webhook secret.", field="webhookSecret"
            )
        signature = _header(headers, "X-Webhook-Signature") or ""
        if not hmac.compare_digest(signature.encode(), sign(body).encode()):
            raise WebhookRejected(
                "Wrong or missing X-Webhook-Signature.", field="X-Webhook-Signature"
            )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        self.verify(body, headers, query)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WebhookRejected("The webhook body is not JSON.") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            raise WebhookRejected("The webhook body has no event.")
        raw_kind = payload["event"]
        data = payload.get("data") or {}
        charge = (
            data.get("checkout")
            or data.get("transparent")
            or data.get("billing")
            or data
        )
        reference = str(charge.get("id") or "")
        event_id = str(payload.get("id") or f"{raw_kind}:{reference}")
        amount = charge.get("paidAmount", charge.get("amount"))
        kind = (
            "paid"
            if raw_kind in PAID_EVENTS
            else "refunded"
            if raw_kind in REFUNDED_EVENTS
            else "other"
        )
        return GatewayEvent(
            event_id=event_id,
            kind=kind,
            raw_kind=raw_kind,
            reference=reference,
            external_id=str(charge.get("externalId") or ""),
            amount_cents=int(amount) if isinstance(amount, (int, float)) else None,
            payload=payload,
        )


def _store_secret(name: str, what: str) -> str:
    # The store's credentials vault (agents/vault.py; the map puts it in tenants).
    from agents.errors import CredentialMissing, CredentialUnreadable
    from agents.vault import get_credential

    try:
        return get_credential("payment", name, purpose=what)
    except (CredentialMissing, CredentialUnreadable) as exc:
        raise PaymentCredentialsMissing(exc.message, field="gateway") from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
