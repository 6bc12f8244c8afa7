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
    Channel,
    ChannelKind,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from channels.services.channel_setup import get_channel
from channels.services.common import _on_commit_enqueue
from channels.services.templates import TemplateCall, approved_names, check_template, render_template

logger = logging.getLogger(__name__)


CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
_WINDOWED_KINDS = (ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)


def send_message(conversation_id: int, text: str, *, author: str = "staff",
                 idempotency_key: str | None = None, template: TemplateCall | None = None) -> Message:
    """Queue a message from the store (staff, its systems) to the conversation's contact
    and enqueue its delivery. With ``template`` it is sent as that WhatsApp template
    (``text`` is its rendered body). Idempotent for the same ``idempotency_key``.

    Raises ``ConversationNotFound`` and, for free text on a Meta channel more than 24
    hours after the contact last wrote, ``OutsideCustomerServiceWindow``.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_related("channel").filter(pk=conversation_id).first()
        if conversation is None:
            raise ConversationNotFound(f"No conversation {conversation_id} here.")
        if template is None and conversation.channel.kind in _WINDOWED_KINDS:
            _check_customer_service_window(conversation.channel, conversation, conversation.contact_id)
        defaults = {
            "conversation": conversation, "channel": conversation.channel, "direction": Direction.OUT,
            "author": author, "text": text, "status": MessageStatus.QUEUED,
            "template": template.as_json() if template else None,
        }
        if idempotency_key:
            message, created = Message.objects.get_or_create(idempotency_key=idempotency_key, defaults=defaults)
        else:
            message, created = Message.objects.create(**defaults), True
        if created:
            from channels import tasks

            _on_commit_enqueue(tasks.deliver_message, [message.pk])
    return message


def send_to_contact(channel_id: int, contact_id: str, text: str = "", *, template: TemplateCall | None = None,
                    idempotency_key: str = "", author: str = "api") -> Message:
    """Send a message from the store's own systems (an order-ready notice, a follow-up) to a
    contact through a channel, with the same delivery guarantees as the agent's replies:
    either free ``text`` or an approved WhatsApp ``template``.

    Raises ``ChannelNotFound``, ``ChannelMisconfigured`` (no contact; neither or both of
    text and template), ``ConversationNotFound`` (Chatwoot needs an existing
    conversation), ``OutsideCustomerServiceWindow`` (free text on a Meta channel more
    than 24 hours after the contact last wrote: only an approved template may be sent
    then), and for a template ``TemplatesNotSupported``, ``UnknownTemplate`` and
    ``TemplateNotApproved``. Idempotent for the same ``idempotency_key``.
    """
    channel = get_channel(channel_id)
    contact_id = (contact_id or "").strip().lstrip("+")
    text = (text or "").strip()
    if not contact_id:
        raise ChannelMisconfigured("A message needs a contact.", field="to")
    if bool(text) == bool(template):
        raise ChannelMisconfigured("Send either a text or a template.", field="template" if text else "text")
    key = f"api:{channel.pk}:{idempotency_key}" if idempotency_key else None
    if key:
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
    if template is not None:
        text = render_template(check_template(channel, template), template)
    conversation = Conversation.objects.filter(channel=channel, contact_id=contact_id).first()
    if channel.kind == ChannelKind.CHATWOOT and (conversation is None or not conversation.external_id):
        raise ConversationNotFound(f"No Chatwoot conversation with contact {contact_id} on this channel.",
                                   field="to")
    if template is None and channel.kind in _WINDOWED_KINDS:
        _check_customer_service_window(channel, conversation, contact_id)
    if conversation is None:
        conversation, _ = Conversation.objects.get_or_create(channel=channel, contact_id=contact_id)
    return send_message(conversation.pk, text, author=author, idempotency_key=key, template=template)


def _check_customer_service_window(channel: Channel, conversation: Conversation | None, contact_id: str) -> None:
    last_inbound = (
        conversation.messages.filter(direction=Direction.IN).order_by("-pk").values_list("created_at", flat=True)
        .first() if conversation else None
    )
    if last_inbound is not None and timezone.now() - last_inbound <= CUSTOMER_SERVICE_WINDOW:
        return
    since = "has never written" if last_inbound is None else "has not written in the last 24 hours"
    if channel.kind == ChannelKind.WHATSAPP:
        known = approved_names(channel)
        hint = (f" Approved templates on this channel: {', '.join(known)}." if known
                else " This channel has no approved templates synced yet.")
        message = (f"The customer-service window is closed: {contact_id} {since}. WhatsApp only delivers "
                   "an approved template message now, not free text: send \"template\" "
                   "({\"name\", \"language\", \"components\"}) instead of \"text\"." + hint)
    else:
        message = (f"The customer-service window is closed: {contact_id} {since}. "
                   f"{channel.get_kind_display()} only allows replies within 24 hours of the contact's last message.")
    raise OutsideCustomerServiceWindow(message, field="text")
