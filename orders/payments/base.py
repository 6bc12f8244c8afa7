"""The payment gateway interface every gateway implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from orders.models import Order

EventKind = Literal["paid", "refunded", "other"]


@dataclass(frozen=True)
class Checkout:
    """Where the customer pays: the gateway's id for the charge and its payment URL."""

    reference: str
    url: str = ""


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook delivery, in our words."""

    event_id: str
    kind: EventKind
    raw_kind: str
    reference: str = ""  # the gateway's charge id (Checkout.reference)
    external_id: str = ""  # our order number, when the gateway echoes it
    amount_cents: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str
    # True when refunding an order must call the gateway (``refund``) to return the money.
    refunds_money: bool

    def create_checkout(self, order: Order) -> Checkout:
        """Create the charge for ``order``. Raises ``GatewayUnavailable`` / ``GatewayRejected``."""

    def refund(self, order: Order, reason: str = "") -> str:
        """Return the order's payment; the gateway's refund id. Idempotent per order.
        Raises ``GatewayUnavailable`` (retryable) / ``GatewayRejected``."""

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> GatewayEvent:
        """Verify and parse a webhook delivery. Raises ``WebhookRejected``."""
