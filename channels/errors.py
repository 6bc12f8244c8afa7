"""Errors of channels, webhooks and delivery, each with a stable code."""

from __future__ import annotations


class ChannelError(Exception):
    code = "channel_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidSignature(ChannelError):
    code = "invalid_signature"


class MalformedPayload(ChannelError):
    code = "malformed_payload"


class ChannelNotFound(ChannelError):
    code = "channel_not_found"


class ChannelMisconfigured(ChannelError):
    code = "channel_misconfigured"


class ConversationNotFound(ChannelError):
    code = "conversation_not_found"


class AgentUnavailable(ChannelError):
    """The agent callable (``CHANNELS_TURN_RUNNER``) cannot be imported."""

    code = "agent_unavailable"


class TurnBusy(ChannelError):
    """Another turn of the same conversation runs or waits first; try again later."""

    code = "turn_busy"


class DeliveryError(ChannelError):
    """The provider refused or could not take a message.

    ``retryable`` is True for 429, 5xx and network failures (worth trying again later).
    """

    code = "delivery_failed"

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 provider_code: str = "", retry_after: float = 0.0):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.provider_code = provider_code
        self.retry_after = retry_after


class OutsideCustomerServiceWindow(ChannelError):
    """WhatsApp (and Meta's other channels) allow free-form messages only within 24 hours
    of the contact's last message; outside it only an approved template may be sent."""

    code = "outside_customer_service_window"


class TemplatesNotSupported(ChannelError):
    """Template messages are a WhatsApp Cloud API feature; other channels cannot send them."""

    code = "templates_not_supported"


class UnknownTemplate(ChannelError):
    """No template of that name and language on the channel (sync the templates first)."""

    code = "unknown_template"


class TemplateNotApproved(ChannelError):
    """Meta has not approved the template (pending, rejected, paused...): it cannot be sent."""

    code = "template_not_approved"
