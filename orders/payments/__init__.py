"""Payment gateways by name. ``get_gateway("manual")`` / ``get_gateway("abacatepay")``."""

from __future__ import annotations

from orders.errors import UnknownGateway
from orders.payments.abacatepay import AbacatePayGateway
from orders.payments.base import Checkout, GatewayEvent, PaymentGateway
from orders.payments.manual import ManualGateway

GATEWAYS: dict[str, type] = {
    ManualGateway.name: ManualGateway,
    AbacatePayGateway.name: AbacatePayGateway,
}


def get_gateway(name: str) -> PaymentGateway:
    try:
        return GATEWAYS[name]()
    except KeyError as exc:
        raise UnknownGateway(
            f"No payment gateway called {name!r}.", field="gateway"
        ) from exc


__all__ = ["Checkout", "GatewayEvent", "PaymentGateway", "get_gateway"]
