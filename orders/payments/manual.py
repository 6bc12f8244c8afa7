"""The manual gateway: the customer pays outside Atendo and staff mark the order paid."""

from __future__ import annotations

from collections.abc import Mapping

from orders.errors import WebhookRejected
from orders.payments.base import Checkout, GatewayEvent


class ManualGateway:
    name = "manual"
    refunds_money = False

    def create_checkout(self, order) -> Checkout:
        return Checkout(reference=f"manual-{order.number}", url="")

    def refund(self, order, reason: str = "") -> str:
        return ""  # the money went outside Atendo; staff give it back the same way

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        raise WebhookRejected("The manual gateway receives no webhooks.")
