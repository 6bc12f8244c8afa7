"""Order errors, each with a stable code. ``catalog.errors.OutOfStock`` passes through
unchanged: a caller that orders too much gets the catalog's own "out of stock"."""

from __future__ import annotations


class OrderError(Exception):
    code = "order_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class OrderNotFound(OrderError):
    code = "order_not_found"


class EmptyOrder(OrderError):
    code = "empty_order"


class InvalidQuantity(OrderError):
    code = "invalid_quantity"


class ProductUnavailable(OrderError):
    code = "product_unavailable"


class MixedCurrencies(OrderError):
    code = "mixed_currencies"


class IdempotencyConflict(OrderError):
    """The idempotency key was already used for an order of another lead."""

    code = "idempotency_conflict"


class IllegalTransition(OrderError):
    code = "illegal_transition"

    def __init__(self, number: str, current: str, target: str, allowed: list[str]):
        allowed_text = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(
            f"Order {number} is {current}; it cannot become {target} (allowed: {allowed_text}).",
            field="status",
        )
        self.current = current
        self.target = target
        self.allowed = allowed


class ShippingDetailsMissing(OrderError):
    code = "shipping_details_missing"


class PaymentError(OrderError):
    code = "payment_error"


class UnknownGateway(PaymentError):
    code = "unknown_gateway"


class PaymentCredentialsMissing(PaymentError):
    """The store's vault has no (readable) secret for the gateway."""

    code = "payment_credentials_missing"


class GatewayUnavailable(PaymentError):
    """The gateway could not be reached or answered 5xx (retryable)."""

    code = "gateway_unavailable"


class GatewayRejected(PaymentError):
    """The gateway answered with an error (not retryable as is)."""

    code = "gateway_rejected"


class WebhookRejected(PaymentError):
    """A payment webhook failed verification (wrong secret or signature, bad body)."""

    code = "webhook_rejected"
