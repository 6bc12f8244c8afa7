"""Sending on the store's behalf: staff and the store's own systems queue messages to a
contact, delivered like the agent's replies."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels.errors import (
    ChannelMisconfigured,
    ConversationNotFound,
    OutsideCustomerServiceWindow,
)
from channels.models import (
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from channels.services.channel_setup import get_channel
from channels.services.common import _on_commit_enqueue

logger = logging.getLogger(__name__)


def send_message(conversation_id: int, text: str, *, author: str = "staff",
                 idempotency_key: str | None = None) -> Message:
    """Queue a message from the store (staff, its systems) to the conversation's contact
    and enqueue its delivery. Idempotent for the same ``idempotency_key``."""
    with transaction.atomic():
        conversation = Conversation.objects.select_related("channel").filter(pk=conversation_id).first()
        if conversation is None:
            raise ConversationNotFound(f"No conversation {conversation_id} here.")
        defaults = {
            "conversation": conversation, "channel": conversation.channel, "direction": Direction.OUT,
            "author": author, "text": text, "status": MessageStatus.QUEUED,
        }
        if idempotency_key:
            message, created = Message.objects.get_or_create(idempotency_key=idempotency_key, defaults=defaults)
        else:
            message, created = Message.objects.create(**defaults), True
        if created:
            from channels import tasks

            _on_commit_enqueue(tasks.deliver_message, [message.pk])
    return message


CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
_WINDOWED_KINDS = (ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)


def send_to_contact(channel_id: int, contact_id: str, text: str, *, idempotency_key: str = "",
                    author: str = "api") -> Message:
    """Send a message from the store's own systems (an order-ready notice, a follow-up) to a
    contact through a channel, with the same delivery guarantees as the agent's replies.

    Raises ``ChannelNotFound``, ``ConversationNotFound`` (Chatwoot needs an existing
    conversation) and ``OutsideCustomerServiceWindow`` (Meta channels: more than 24 hours
    since the contact last wrote; only an approved template may be sent then).
    Idempotent for the same ``idempotency_key``.
    """
    channel = get_channel(channel_id)
    contact_id = (contact_id or "").strip().lstrip("+")
    text = (text or "").strip()
    if not contact_id or not text:
        raise ChannelMisconfigured("A message needs a contact and a text.", field="text" if contact_id else "to")
    key = f"api:{channel.pk}:{idempotency_key}" if idempotency_key else None
    if key:
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
    conversation = Conversation.objects.filter(channel=channel, contact_id=contact_id).first()
    if channel.kind == ChannelKind.CHATWOOT and (conversation is None or not conversation.external_id):
        raise ConversationNotFound(f"No Chatwoot conversation with contact {contact_id} on this channel.",
                                   field="to")
    if channel.kind in _WINDOWED_KINDS:
        last_inbound = (
            conversation.messages.filter(direction=Direction.IN).order_by("-pk").values_list("created_at", flat=True)
            .first() if conversation else None
        )
        if last_inbound is None or timezone.now() - last_inbound > CUSTOMER_SERVICE_WINDOW:
            raise OutsideCustomerServiceWindow(
                f"{contact_id} has not written in the last 24 hours: WhatsApp only delivers an approved "
                "template message outside the customer-service window, not free text.",
                field="text",
            )
    if conversation is None:
        conversation, _ = Conversation.objects.get_or_create(channel=channel, contact_id=contact_id)
    return send_message(conversation.pk, text, author=author, idempotency_key=key)
