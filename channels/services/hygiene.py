"""Memory hygiene: idle conversations end (the lead profile is refreshed) and idle handoffs
return to the bot."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels.models import (
    Conversation,
    ConversationStatus,
)
from channels.services.handoff import return_to_bot

logger = logging.getLogger(__name__)


def end_idle_conversations(*, now=None) -> dict[str, int]:
    """Beat (per store): end conversations idle beyond ``CHANNELS_CONVERSATION_TTL_SECONDS``
    (the agent's short-term memory restarts with the next message; the lead's long-term
    profile is refreshed instead) and give back to the bot the handoffs staff left idle
    beyond ``CHANNELS_HANDOFF_IDLE_RETURN_SECONDS`` (0: never). Idempotent."""
    from leads import services as lead_services

    now = now or timezone.now()
    ended = returned = 0
    idle_before = now - timedelta(seconds=settings.CHANNELS_CONVERSATION_TTL_SECONDS)
    for conversation in Conversation.objects.filter(ended_at__isnull=True, last_activity_at__lt=idle_before):
        with transaction.atomic():
            updated = Conversation.objects.filter(
                pk=conversation.pk, ended_at__isnull=True, last_activity_at__lt=idle_before
            ).update(ended_at=now, memory_starts_at=now)
            if updated and conversation.lead_id:
                lead_services.request_profile_refresh(conversation.lead_id)
        ended += updated
    if settings.CHANNELS_HANDOFF_IDLE_RETURN_SECONDS > 0:
        handed_before = now - timedelta(seconds=settings.CHANNELS_HANDOFF_IDLE_RETURN_SECONDS)
        for conversation_id in Conversation.objects.filter(
            status=ConversationStatus.HUMAN, last_activity_at__lt=handed_before
        ).values_list("pk", flat=True):
            return_to_bot(conversation_id, by="idle")
            returned += 1
    if ended or returned:
        logger.info("channels.conversations.idle", extra={"ended": ended, "returned_to_bot": returned})
    return {"ended": ended, "returned_to_bot": returned}
