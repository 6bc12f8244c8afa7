"""The manual gateway: the customer pays outside Atendo and staff mark the order paid."""

from __future__ import annotations

from collections.abc import Mapping

from orders.errors import WebhookRejected
from orders.payments.base import Checkout, GatewayEvent


class ManualGateway:
    name = "manual"

    def create_checkout(self, order) -> Checkout:
        return Checkout(reference=f"manual-{order.number}", url="")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        raise WebhookRejected("The manual gateway receives no webhooks.")
