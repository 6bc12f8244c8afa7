"""Human handoff: the bot goes silent, staff are told, Chatwoot opens the conversation; and
the way back to the bot."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from channels import outbound
from channels.errors import (
    ConversationNotFound,
)
from channels.events import emit
from channels.models import (
    ChannelKind,
    Conversation,
    ConversationStatus,
)
from channels.models import EventKind as StoreEventKind
from channels.services.common import _on_commit_enqueue

logger = logging.getLogger(__name__)


def handoff(conversation_id: int, reason: str, *, by: str = "agent", notify_provider: bool = True,
            record_lead_event: bool = True) -> Conversation:
    """Give the conversation to a human: the bot stays silent until ``return_to_bot``.

    Idempotent (a conversation already with a human is returned as is). Records a
    ``handoff`` event on the lead and, for Chatwoot, opens the conversation there
    (toggle-status ``open``, after commit, unless ``notify_provider`` is False: e.g. staff
    took it over in Chatwoot itself). ``record_lead_event`` is False when the caller (the
    agent's handoff tool) has already put the handoff on the lead's timeline.
    """
    from leads import services as lead_services
    from leads.models import EventKind

    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update().select_related("channel").filter(pk=conversation_id).first()
        )
        if conversation is None:
            raise ConversationNotFound(f"No conversation {conversation_id} here.")
        if conversation.status == ConversationStatus.HUMAN:
            return conversation
        conversation.status = ConversationStatus.HUMAN
        conversation.handoff_reason = (reason or "")[:500]
        conversation.handoff_at = timezone.now()
        conversation.save(update_fields=["status", "handoff_reason", "handoff_at"])
        if conversation.lead_id and record_lead_event:
            lead_services.record_event(
                conversation.lead_id, EventKind.HANDOFF,
                {"reason": conversation.handoff_reason, "by": by, "conversation_id": conversation.pk},
            )
        if notify_provider and conversation.channel.kind == ChannelKind.CHATWOOT and conversation.external_id:
            from channels import tasks

            _on_commit_enqueue(tasks.notify_provider_of_handoff, [conversation.pk, True])
        emit(StoreEventKind.CONVERSATION_HANDOFF, {
            "conversation_id": conversation.pk, "channel_id": conversation.channel_id,
            "contact_id": conversation.contact_id, "lead_id": conversation.lead_id,
            "reason": conversation.handoff_reason, "by": by,
        })
    logger.info("channels.conversation.handoff", extra={"conversation_id": conversation.pk, "by": by})
    return conversation


def return_to_bot(conversation_id: int, *, by: str = "staff", notify_provider: bool = True) -> Conversation:
    """Give the conversation back to the agent. Idempotent. For Chatwoot, sets it
    ``pending`` again (the agent bot's state) unless ``notify_provider`` is False."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update().select_related("channel").filter(pk=conversation_id).first()
        )
        if conversation is None:
            raise ConversationNotFound(f"No conversation {conversation_id} here.")
        if conversation.status == ConversationStatus.BOT:
            return conversation
        conversation.status = ConversationStatus.BOT
        conversation.handoff_reason = ""
        conversation.save(update_fields=["status", "handoff_reason"])
        if notify_provider and conversation.channel.kind == ChannelKind.CHATWOOT and conversation.external_id:
            from channels import tasks

            _on_commit_enqueue(tasks.notify_provider_of_handoff, [conversation.pk, False])
    logger.info("channels.conversation.returned_to_bot", extra={"conversation_id": conversation.pk, "by": by})
    return conversation


def notify_provider_of_handoff(conversation_id: int, to_human: bool) -> None:
    """Tell the provider who owns the conversation now (Chatwoot toggle-status).
    Raises ``DeliveryError`` (the task retries the retryable ones)."""
    conversation = Conversation.objects.select_related("channel").filter(pk=conversation_id).first()
    if conversation is None:
        raise ConversationNotFound(f"No conversation {conversation_id} here.")
    if conversation.channel.kind != ChannelKind.CHATWOOT or not conversation.external_id:
        return
    if to_human:
        outbound.chatwoot_open_conversation(conversation.channel, conversation.external_id)
    else:
        outbound.chatwoot_return_to_bot(conversation.channel, conversation.external_id)
