"""The agent turn: one at a time per conversation, a cap per store, the reply recorded as
queued outbound messages under idempotency keys (never two replies for one burst)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from agents.turns import ConversationMessage, TurnRequest, TurnResult
from channels.errors import (
    AgentUnavailable,
    TurnBusy,
)
from channels.models import (
    Conversation,
    ConversationStatus,
    ConversationTurn,
    Direction,
    Message,
    MessageStatus,
    TurnStatus,
)
from channels.services.accumulator import burst_setting
from channels.services.budget import check_budget
from channels.services.common import _on_commit_enqueue
from channels.services.delivery import split_reply
from channels.services.handoff import handoff
from channels.services.scheduling import dispatch_turns, lock_store_turns

logger = logging.getLogger(__name__)


HANDOFF_MARKER = "[HANDOFF]"
TurnRunner = Callable[[TurnRequest], TurnResult]


def default_turn_runner() -> TurnRunner:
    """``CHANNELS_TURN_RUNNER`` (``agents.services.run_turn``). Raises ``AgentUnavailable``."""
    try:
        return import_string(settings.CHANNELS_TURN_RUNNER)
    except ImportError as exc:
        raise AgentUnavailable(f"The agent ({settings.CHANNELS_TURN_RUNNER}) is not available: {exc}") from exc


def build_turn_request(turn: ConversationTurn) -> TurnRequest:
    """The conversation as the agent sees it: recent history, then the burst joined."""
    conversation = turn.conversation
    channel = conversation.channel
    separator = burst_setting(channel, "burst_separator", settings.CHANNELS_BURST_SEPARATOR)
    earlier = conversation.messages.filter(pk__lt=turn.first_message_id).exclude(
        direction=Direction.OUT, status=MessageStatus.FAILED
    )
    if conversation.memory_starts_at is not None:
        earlier = earlier.filter(created_at__gte=conversation.memory_starts_at)
    history = list(earlier.order_by("-pk")[: settings.CHANNELS_HISTORY_MESSAGES])
    history.reverse()
    messages = [
        ConversationMessage(
            role="customer" if m.direction == Direction.IN else ("staff" if m.author == "staff" else "agent"),
            text=_message_text(m),
            at=m.created_at,
        )
        for m in history
    ]
    burst = list(
        conversation.messages.filter(
            direction=Direction.IN, pk__gte=turn.first_message_id, pk__lte=turn.last_message_id
        ).order_by("pk")
    )
    messages.append(
        ConversationMessage(
            role="customer",
            text=separator.join(t for t in (_message_text(m) for m in burst) if t),
            at=burst[-1].created_at if burst else None,
        )
    )
    return TurnRequest(
        conversation_id=conversation.pk,
        channel=channel.kind,
        messages=tuple(messages),
        lead_id=conversation.lead_id,
        agent_id=channel.setting("agent_id"),
        turn_key=turn.turn_key,
    )


def _message_text(message: Message) -> str:
    if message.media_type and not message.text:
        return f"[{message.media_type}]"
    if message.media_type:
        return f"[{message.media_type}] {message.text}"
    return message.text


def _claim_turn(turn_id: int) -> ConversationTurn | None:
    """Mark the turn running, or return None when it is already finished.

    Raises ``TurnBusy`` while an earlier turn of the conversation is unfinished or this
    one is running elsewhere (its lease not yet expired).
    """
    lease = timedelta(seconds=settings.CHANNELS_TURN_LEASE_SECONDS)
    now = timezone.now()
    with transaction.atomic():
        turn = ConversationTurn.objects.select_for_update().filter(pk=turn_id).first()
        if turn is None or turn.status in (TurnStatus.DONE, TurnStatus.SILENT, TurnStatus.FAILED):
            return None
        # The conversation row serialises turns of one conversation.
        Conversation.objects.select_for_update().get(pk=turn.conversation_id)
        _check_store_turn_cap(turn, now - lease)
        earlier = ConversationTurn.objects.filter(
            conversation_id=turn.conversation_id, pk__lt=turn.pk,
            status__in=[TurnStatus.PENDING, TurnStatus.RUNNING],
        )
        for other in earlier:
            since = other.started_at or other.created_at
            if now - since < lease:
                raise TurnBusy(f"Turn {other.pk} of this conversation is not finished yet.")
            # Abandoned (its worker and retries are gone): this turn's history covers it.
            ConversationTurn.objects.filter(pk=other.pk).update(
                status=TurnStatus.FAILED, error="abandoned", finished_at=now
            )
        if turn.status == TurnStatus.RUNNING and turn.started_at and now - turn.started_at < lease:
            raise TurnBusy(f"Turn {turn.pk} is running elsewhere.")
        turn.status = TurnStatus.RUNNING
        turn.started_at = now
        turn.attempts += 1
        turn.save(update_fields=["status", "started_at", "attempts"])
    return turn


def _check_store_turn_cap(turn: ConversationTurn, lease_start) -> None:
    """A guard behind ``dispatch_turns``: at most ``CHANNELS_MAX_TURNS_PER_STORE`` turns of
    one store run at once, even for a turn enqueued some other way (a retry, a sweep).

    Claims of one store are serialised by the store's scheduling lock, so two workers
    cannot both take the last slot. Raises ``TurnBusy``.
    """
    cap = settings.CHANNELS_MAX_TURNS_PER_STORE
    if cap <= 0:
        return
    lock_store_turns()
    running = (
        ConversationTurn.objects.filter(status=TurnStatus.RUNNING, started_at__gte=lease_start)
        .exclude(pk=turn.pk)
        .count()
    )
    if running >= cap:
        raise TurnBusy(f"{running} turns of this store are running (the cap is {cap}).")


def run_turn(turn_id: int, *, runner: TurnRunner | None = None) -> ConversationTurn | None:
    """Run the agent for one burst and record its reply as queued outbound messages.

    At most one turn of a conversation runs at a time (``TurnBusy`` otherwise: try later).
    Past the store's monthly token budget the agent answers with the offline responder
    (``TurnRequest.offline_only``). Ending, it dispatches the store's next waiting turn.
    Idempotent: a finished turn is not run again, and a retried turn records its reply
    under the same idempotency keys, so the customer gets one reply. A conversation that
    went to a human meanwhile ends the turn silent.
    """
    turn = _claim_turn(turn_id)
    if turn is None:
        return None
    conversation = Conversation.objects.select_related("channel").get(pk=turn.conversation_id)
    if conversation.status != ConversationStatus.BOT:
        return _finish_turn(turn.pk, status=TurnStatus.SILENT)
    request = build_turn_request(turn)
    if check_budget().exceeded:
        request = replace(request, offline_only=True)
    runner = runner or default_turn_runner()
    result = runner(request)
    done = record_turn_result(turn.pk, result)
    dispatch_turns()  # this turn's slot is free: the store's next waiting turn goes
    return done


def _finish_turn(turn_id: int, *, status: str, error: str = "") -> ConversationTurn:
    ConversationTurn.objects.filter(pk=turn_id).update(status=status, error=error, finished_at=timezone.now())
    dispatch_turns()
    return ConversationTurn.objects.get(pk=turn_id)


def fail_turn(turn_id: int, error: str) -> ConversationTurn:
    return _finish_turn(turn_id, status=TurnStatus.FAILED, error=error[:2000])


def release_turn(turn_id: int, error: str) -> None:
    """Put a running turn back to pending (a retryable failure: it will run again)."""
    ConversationTurn.objects.filter(pk=turn_id, status=TurnStatus.RUNNING).update(
        status=TurnStatus.PENDING, started_at=None, error=error[:2000]
    )


def record_turn_result(turn_id: int, result: TurnResult) -> ConversationTurn:
    """Store the agent's reply as queued outbound messages and enqueue their delivery.

    Runs once per turn (the turn row is locked and must still be running); the reply's
    messages carry ``turn:<turn_key>:<part>`` keys, so even a second recording of the
    same turn cannot create a second reply.
    """
    from leads import services as lead_services
    from leads.models import EventKind

    with transaction.atomic():
        turn = ConversationTurn.objects.select_for_update().select_related("conversation__channel").get(pk=turn_id)
        if turn.status != TurnStatus.RUNNING:
            return turn
        conversation = Conversation.objects.select_for_update().get(pk=turn.conversation_id)
        reply = (result.reply or "").strip()
        wants_handoff = result.handoff or HANDOFF_MARKER in reply
        reply = reply.replace(HANDOFF_MARKER, "").strip()
        turn.agent_id = result.agent_id
        turn.provider = result.provider[:50]
        turn.model = result.model[:100]
        turn.finished_at = timezone.now()
        if conversation.status != ConversationStatus.BOT:
            reply = ""  # staff took over while the agent was thinking
        parts = split_reply(reply) if reply else []
        first = None
        for index, text in enumerate(parts):
            message, _ = Message.objects.get_or_create(
                idempotency_key=f"turn:{turn.turn_key}:{index}",
                defaults={
                    "conversation": conversation,
                    "channel": turn.conversation.channel,
                    "direction": Direction.OUT,
                    "author": "agent",
                    "text": text,
                    "status": MessageStatus.QUEUED,
                    "turn": turn,
                    "part": index,
                },
            )
            first = first or message
        turn.reply = reply
        turn.status = TurnStatus.DONE if parts else TurnStatus.SILENT
        turn.save(update_fields=["agent_id", "provider", "model", "finished_at", "reply", "status"])
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now())
        if conversation.lead_id:
            burst_text = build_turn_request(turn).messages[-1].text
            lead_services.record_event(conversation.lead_id, EventKind.MESSAGE, {
                "direction": "in", "text": burst_text, "channel": turn.conversation.channel.kind,
            })
            if reply:
                lead_services.record_event(conversation.lead_id, EventKind.MESSAGE, {
                    "direction": "out", "text": reply, "channel": turn.conversation.channel.kind,
                })
        if wants_handoff:
            # The agent's handoff tool records its own lead event; the marker does not.
            handoff(conversation.pk, result.handoff_reason or "The agent asked for a human.", by="agent",
                    record_lead_event=not result.handoff)
        if first is not None:
            from channels import tasks

            _on_commit_enqueue(tasks.deliver_message, [first.pk])
    logger.info(
        "channels.turn.done",
        extra={"turn_id": turn.pk, "conversation_id": conversation.pk, "parts": len(parts),
               "handoff": wants_handoff},
    )
    return turn
