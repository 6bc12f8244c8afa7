"""The accumulator: a burst of a contact's messages becomes one agent turn.

Each message schedules ``close_burst`` after the window; only the close of the burst's
latest message (or one past the max wait / max messages) creates the turn. The burst
lives in the database, so a worker restart mid-window still answers."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels.models import (
    Channel,
    Conversation,
    ConversationStatus,
    ConversationTurn,
    Direction,
)
from channels.services.common import _on_commit_enqueue
from channels.services.scheduling import dispatch_turns

logger = logging.getLogger(__name__)


def burst_setting(channel: Channel, key: str, default):
    """An accumulator setting (``burst_seconds``, ``burst_max_wait_seconds``,
    ``burst_max_messages``, ``burst_separator``): the channel's own, else the answering
    agent's, else ``default`` (the platform's)."""
    from agents.selectors import accumulator_settings

    value = channel.setting(key)
    if value is None:
        value = accumulator_settings(channel.setting("agent_id")).get(key)
    return default if value is None else value


def burst_seconds(channel: Channel) -> float:
    return float(burst_setting(channel, "burst_seconds", settings.CHANNELS_BURST_SECONDS))


def schedule_burst_close(channel: Channel, conversation_id: int, message_id: int) -> None:
    """After the burst window, ``close_burst(conversation_id, message_id)`` runs; it only
    proceeds if no newer message arrived meanwhile (each message resets the window)."""
    from channels import tasks

    _on_commit_enqueue(tasks.close_burst, [conversation_id, message_id], countdown=burst_seconds(channel))


def close_burst(conversation_id: int, message_id: int, *, now=None) -> ConversationTurn | None:
    """End the burst whose latest message is ``message_id``: create its turn and enqueue it.

    Returns None when a newer message arrived (its own close will answer the whole burst,
    unless the burst's first message is older than the max wait or the burst already has
    the max number of messages), when the conversation is
    with a human, or when there is nothing unanswered. Idempotent: the turn's key is the
    conversation id and the burst's last message id, unique, so closing twice is one turn.
    """
    now = now or timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update().select_related("channel").filter(pk=conversation_id).first()
        )
        if conversation is None or conversation.status != ConversationStatus.BOT:
            return None
        answered_through = (
            conversation.turns.order_by("-last_message_id").values_list("last_message_id", flat=True).first() or 0
        )
        pending = list(
            conversation.messages.filter(direction=Direction.IN, pk__gt=answered_through)
            .order_by("pk")
            .values_list("pk", "created_at")
        )
        if not pending:
            return None
        last_id = pending[-1][0]
        if last_id != message_id:
            channel = conversation.channel
            max_wait = float(burst_setting(channel, "burst_max_wait_seconds", settings.CHANNELS_BURST_MAX_WAIT_SECONDS))
            max_messages = int(burst_setting(channel, "burst_max_messages", settings.CHANNELS_BURST_MAX_MESSAGES))
            if now - pending[0][1] < timedelta(seconds=max_wait) and len(pending) < max_messages:
                return None
        turn, created = ConversationTurn.objects.get_or_create(
            turn_key=f"{conversation.pk}:{last_id}",
            defaults={
                "conversation": conversation,
                "first_message_id": pending[0][0],
                "last_message_id": last_id,
            },
        )
        if created:
            # Enqueued now if the store has a free slot, else when one of its turns ends.
            dispatch_turns(now=now)
            logger.info(
                "channels.burst.closed",
                extra={"conversation_id": conversation.pk, "turn_id": turn.pk, "messages": len(pending)},
            )
    return turn
