"""Conversations from inbound messages to delivered replies.

The path: ``record_inbound`` (webhook, fast: store and schedule) → ``close_burst``
(after the accumulator window: one ``ConversationTurn`` per burst) → ``run_turn`` (the
agent, one turn at a time per conversation) → ``deliver`` (provider API, at most once
per message). Everything runs in the current store's schema; nothing here names one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from agents.turns import ConversationMessage, TurnRequest, TurnResult
from channels import outbound
from channels.errors import (
    AgentUnavailable,
    ChannelMisconfigured,
    ChannelNotFound,
    ConversationNotFound,
    DeliveryError,
    OutsideCustomerServiceWindow,
    TurnBusy,
)
from channels.events import emit
from channels.inbound import InboundMessage, StatusUpdate
from channels.models import (
    META_ROUTE_KEYS,
    Channel,
    ChannelKind,
    Conversation,
    ConversationStatus,
    ConversationTurn,
    Direction,
    InboundEvent,
    Message,
    MessageStatus,
    TurnStatus,
)
from channels.models import EventKind as StoreEventKind

logger = logging.getLogger(__name__)

HANDOFF_MARKER = "[HANDOFF]"
TurnRunner = Callable[[TurnRequest], TurnResult]

# How each channel kind names a contact in the leads app.
_LEAD_IDENTITY = {
    ChannelKind.WHATSAPP: "whatsapp",
    ChannelKind.EVOLUTION: "whatsapp",
    ChannelKind.WUZAPI: "whatsapp",
    ChannelKind.CHATWOOT: "chatwoot",
    ChannelKind.INSTAGRAM: "instagram",
    ChannelKind.MESSENGER: "messenger",
    ChannelKind.API: "api",
}
# Outbound statuses only move forward (webhooks may arrive out of order).
_STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}


@dataclass(frozen=True)
class EnqueueOnCommit:
    """An on-commit callback that enqueues a task in the store's schema (named explicitly:
    the callback may run after the connection has moved on). Tests read ``task_name``."""

    task: Any
    args: list
    countdown: float
    schema: str

    @property
    def task_name(self) -> str:
        return self.task.name

    def __call__(self) -> None:
        self.task.apply_async(args=self.args, countdown=self.countdown, headers={"_schema_name": self.schema})


def _on_commit_enqueue(task, args: list, *, countdown: float = 0) -> None:
    """Enqueue ``task`` once the current transaction commits (never on rollback)."""
    transaction.on_commit(EnqueueOnCommit(task, list(args), countdown, connection.schema_name))


# --- channels -------------------------------------------------------------------------


def create_channel(*, kind: str, name: str, config: dict | None = None, active: bool = True) -> Channel:
    """Create a channel and route its provider account to this store (Meta channels)."""
    channel = Channel.objects.create(kind=kind, name=name, config=config or {}, active=active)
    sync_channel_routes(channel)
    return channel


def sync_channel_routes(channel: Channel) -> None:
    """Keep the public routing table in step with a Meta channel's account id.

    Raises ``tenants.errors.ProviderAccountTaken`` when another store owns the account.
    """
    from tenants import services as tenant_services

    tenant = connection.tenant
    key = META_ROUTE_KEYS.get(channel.kind)
    account_id = str(channel.setting(key, "")) if key else ""
    if not key or not account_id or not channel.active:
        tenant_services.remove_provider_routes(tenant=tenant, channel_id=channel.pk)
        return
    tenant_services.set_provider_route(
        provider=channel.kind, account_id=account_id, tenant=tenant, channel_id=channel.pk,
        verify_token=channel.verify_token,
    )
    tenant_services.remove_provider_routes(
        tenant=tenant, channel_id=channel.pk, keep=(channel.kind, account_id)
    )


def delete_channel(channel_id: int) -> None:
    from tenants import services as tenant_services

    Channel.objects.filter(pk=channel_id).delete()
    tenant_services.remove_provider_routes(tenant=connection.tenant, channel_id=channel_id)


def get_channel(channel_id: int, *, kind: str | None = None) -> Channel:
    """An active channel of this store. Raises ``ChannelNotFound``."""
    channels = Channel.objects.filter(pk=channel_id, active=True)
    if kind:
        channels = channels.filter(kind=kind)
    channel = channels.first()
    if channel is None:
        raise ChannelNotFound(f"No active channel {channel_id} here.")
    return channel


def complete_meta_signup(channel_id: int, code: str, *, redirect_uri: str = "") -> outbound.MetaToken:
    """Meta embedded signup: exchange the OAuth code for a long-lived token and keep it in
    the store's vault as the channel's ``access_token``. Raises ``ChannelNotFound``,
    ``ChannelMisconfigured``, ``DeliveryError``."""
    from channels.secrets import store_channel_secret

    channel = Channel.objects.filter(pk=channel_id, kind__in=list(META_ROUTE_KEYS)).first()
    if channel is None:
        raise ChannelNotFound(f"No WhatsApp, Messenger or Instagram channel {channel_id} here.")
    token = outbound.exchange_meta_code(
        code=code, redirect_uri=redirect_uri,
        graph_base_url=str(channel.setting("graph_base_url", "")), graph_version=str(channel.setting("graph_version", "")),
    )
    store_channel_secret(channel, "access_token", token.access_token)
    logger.info("channels.meta.signup_completed", extra={"channel_id": channel.pk, "expires_in": token.expires_in})
    return token


def check_channel(channel_id: int) -> outbound.ChannelHealth:
    """Whether the channel's credentials work and its number/instance is connected (one
    provider call, with a timeout). Raises ``ChannelNotFound``."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise ChannelNotFound(f"No channel {channel_id} here.")
    health = outbound.check_connection(channel)
    logger.info("channels.channel.checked", extra={"channel_id": channel.pk, "ok": health.ok})
    return health


def webhook_path(channel: Channel) -> str:
    if channel.kind in META_ROUTE_KEYS:
        return "/webhooks/meta/"
    if channel.kind in (ChannelKind.CHATWOOT, ChannelKind.EVOLUTION, ChannelKind.WUZAPI):
        return f"/webhooks/{channel.kind}/{channel.pk}/"
    return ""


def webhook_url(channel: Channel, *, store_host: str, platform_host: str, scheme: str = "https") -> str:
    """The exact URL to paste into the provider's dashboard ("" for the API channel)."""
    path = webhook_path(channel)
    if not path:
        return ""
    host = platform_host if channel.kind in META_ROUTE_KEYS else store_host
    return f"{scheme}://{host}{path}"


# --- inbound --------------------------------------------------------------------------


def record_event(channel: Channel | None, provider: str, payload: dict) -> InboundEvent:
    """Keep a delivery as received. Called at the end of the transaction that processed it,
    so a stored event is a processed one (a failure rolls both back and the provider
    retries)."""
    now = timezone.now()
    return InboundEvent.objects.create(
        channel=channel, provider=provider, payload=payload, processed=True, processed_at=now
    )


def _ensure_conversation(channel: Channel, message: InboundMessage) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        channel=channel,
        contact_id=message.contact_id,
        defaults={
            "contact_name": message.contact_name,
            "external_id": message.external_conversation_id,
        },
    )
    changes = {}
    if message.contact_name and not conversation.contact_name:
        changes["contact_name"] = message.contact_name
    if message.external_conversation_id and message.external_conversation_id != conversation.external_id:
        # Chatwoot opens a new conversation for a returning contact: reply in the newest.
        changes["external_id"] = message.external_conversation_id
    if conversation.lead_id is None:
        lead = _lead_for(channel, message)
        if lead is not None:
            changes["lead_id"] = lead.pk
    if changes:
        Conversation.objects.filter(pk=conversation.pk).update(**changes)
        for field, value in changes.items():
            setattr(conversation, field, value)
    return conversation


def _lead_for(channel: Channel, message: InboundMessage):
    from leads import services as lead_services
    from leads.errors import LeadError

    kind = _LEAD_IDENTITY.get(channel.kind)
    if not kind or not message.contact_id:
        return None
    try:
        return lead_services.ensure_lead(
            kind, message.contact_id, name=message.contact_name or None, source_channel=kind
        )
    except LeadError as exc:
        logger.warning(
            "channels.lead_not_linked",
            extra={"channel_id": channel.pk, "contact_id": message.contact_id, "error": exc.message},
        )
        return None


@dataclass(frozen=True)
class Recorded:
    message: Message
    created: bool  # False: a duplicate delivery of a message already stored


def record_inbound(channel: Channel, message: InboundMessage, *, start_turn: bool = True) -> Recorded:
    """Store a contact's message (idempotent by provider message id) and, unless the
    conversation is with a human, schedule the end of its burst.

    A duplicate delivery returns the stored message with ``created=False`` and schedules
    nothing, so it is answered once. Fast: database writes only.
    """
    # No savepoint of its own (the webhook's transaction is enough; each round trip counts
    # on the fast path); the insert below has one, so a duplicate is caught cleanly.
    with transaction.atomic(savepoint=False):
        conversation = _ensure_conversation(channel, message)
        now = timezone.now()
        try:
            with transaction.atomic():
                stored = Message.objects.create(
                    conversation=conversation,
                    channel=channel,
                    direction=Direction.IN,
                    text=message.text,
                    provider_message_id=message.provider_message_id,
                    reply_to_provider_id=message.reply_to,
                    media_type=message.media_type,
                    media_ref=message.media_ref,
                    media_mime=message.media_mime,
                    caption=message.caption,
                    status=MessageStatus.RECEIVED,
                    provider_timestamp=message.timestamp,
                    created_at=now,
                )
        except IntegrityError:
            # A redelivery (providers retry; the unique constraint decides, no check-then-act).
            existing = Message.objects.get(
                channel=channel, direction=Direction.IN, provider_message_id=message.provider_message_id
            )
            return Recorded(existing, created=False)
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now, ended_at=None)
        if start_turn and conversation.status == ConversationStatus.BOT:
            schedule_burst_close(channel, conversation.pk, stored.pk)
        emit(StoreEventKind.MESSAGE_RECEIVED, _message_event(stored, channel))
    logger.info(
        "channels.message.received",
        extra={"channel_id": channel.pk, "conversation_id": conversation.pk, "message_id": stored.pk},
    )
    return Recorded(stored, created=True)


def _message_event(message: Message, channel: Channel) -> dict:
    return {
        "message_id": message.pk, "conversation_id": message.conversation_id, "channel_id": channel.pk,
        "channel": channel.kind, "direction": message.direction, "text": message.text,
        "media_type": message.media_type, "status": message.status, "error": message.error,
        "provider_message_id": message.provider_message_id,
    }


def apply_status(channel: Channel, update: StatusUpdate) -> Message | None:
    """Move an outbound message to the provider's reported status (sent, delivered, read,
    failed). Statuses never move backwards; unknown message ids are ignored."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(channel=channel, direction=Direction.OUT, provider_message_id=update.provider_message_id)
            .first()
        )
        if message is None:
            logger.info(
                "channels.status.unknown_message",
                extra={"channel_id": channel.pk, "provider_message_id": update.provider_message_id},
            )
            return None
        at = update.timestamp or timezone.now()
        if update.status == MessageStatus.FAILED:
            message.status = MessageStatus.FAILED
            message.failed_at = at
            message.error_code = update.error_code
            message.error = update.error
            message.save(update_fields=["status", "failed_at", "error_code", "error"])
            logger.warning(
                "channels.message.failed",
                extra={"message_id": message.pk, "error_code": update.error_code, "error": update.error},
            )
            emit(StoreEventKind.MESSAGE_FAILED, _message_event(message, channel))
            return message
        if update.status not in _STATUS_RANK or message.status == MessageStatus.FAILED:
            return message
        fields = []
        stamp = {MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at",
                 MessageStatus.READ: "read_at"}.get(update.status)
        if stamp and getattr(message, stamp) is None:
            setattr(message, stamp, at)
            fields.append(stamp)
        if _STATUS_RANK[update.status] > _STATUS_RANK.get(message.status, 0):
            message.status = update.status
            fields.append("status")
        if fields:
            message.save(update_fields=fields)
        return message


# --- the accumulator ------------------------------------------------------------------


def burst_seconds(channel: Channel) -> float:
    return float(channel.setting("burst_seconds", settings.CHANNELS_BURST_SECONDS))


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
            max_wait = float(channel.setting("burst_max_wait_seconds", settings.CHANNELS_BURST_MAX_WAIT_SECONDS))
            max_messages = int(channel.setting("burst_max_messages", settings.CHANNELS_BURST_MAX_MESSAGES))
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
            from channels import tasks

            _on_commit_enqueue(tasks.run_conversation_turn, [turn.pk])
            logger.info(
                "channels.burst.closed",
                extra={"conversation_id": conversation.pk, "turn_id": turn.pk, "messages": len(pending)},
            )
    return turn


# --- the agent turn -------------------------------------------------------------------


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
    separator = channel.setting("burst_separator", settings.CHANNELS_BURST_SEPARATOR)
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
    """Fairness between stores: at most ``CHANNELS_MAX_TURNS_PER_STORE`` turns of one store
    run at once, so one store's flood leaves workers free for the others' customers.

    Claims of one store are serialised by a transaction-scoped advisory lock keyed by the
    schema, so two workers cannot both take the last slot. Raises ``TurnBusy``.
    """
    cap = settings.CHANNELS_MAX_TURNS_PER_STORE
    if cap <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"channels.turns:{connection.schema_name}"])
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
    runner = runner or default_turn_runner()
    result = runner(request)
    return record_turn_result(turn.pk, result)


def _finish_turn(turn_id: int, *, status: str, error: str = "") -> ConversationTurn:
    ConversationTurn.objects.filter(pk=turn_id).update(status=status, error=error, finished_at=timezone.now())
    return ConversationTurn.objects.get(pk=turn_id)


def fail_turn(turn_id: int, error: str) -> ConversationTurn:
    return _finish_turn(turn_id, status=TurnStatus.FAILED, error=error[:2000])


def release_turn(turn_id: int, error: str) -> None:
    """Put a running turn back to pending (a retryable failure: it will run again)."""
    ConversationTurn.objects.filter(pk=turn_id, status=TurnStatus.RUNNING).update(
        status=TurnStatus.PENDING, started_at=None, error=error[:2000]
    )


def split_reply(text: str, limit: int | None = None) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at paragraph or sentence
    boundaries where possible (a WhatsApp text is at most 4096 characters)."""
    limit = limit or settings.CHANNELS_MAX_MESSAGE_CHARS
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces = [p for p in re.split(r"(?<=[.!?…])\s+|\n{2,}", text) if p.strip()]
    parts: list[str] = []
    current = ""
    for piece in pieces:
        while len(piece) > limit:  # a sentence longer than a message: cut at a space
            cut = piece.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        candidate = f"{current} {piece}".strip() if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


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


# --- outbound delivery ----------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    message: Message
    attempted: bool  # False: the message was not queued (already sent, sending or failed)


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


def deliver(message_id: int) -> Delivery:
    """Send one queued outbound message through its channel's provider, at most once.

    The message is marked ``sending`` under a row lock and committed before the call, so
    a second worker (or a retried task) finds it taken and sends nothing. On success it
    becomes ``sent`` with the provider's id and the reply's next part is enqueued after
    the channel's spacing. A retryable failure (429, 5xx, network) puts it back to
    ``queued`` and re-raises ``DeliveryError`` for the task to retry with backoff; any
    other failure marks it ``failed`` with the error (visible in the admin).
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().select_related("conversation", "channel")
            .filter(pk=message_id, direction=Direction.OUT).first()
        )
        if message is None or message.status != MessageStatus.QUEUED:
            return Delivery(message, attempted=False)
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.save(update_fields=["status", "attempts"])
    conversation, channel = message.conversation, message.channel
    try:
        sent = outbound.send_text(
            channel,
            to=conversation.contact_id,
            text=message.text,
            external_conversation_id=conversation.external_id,
            idempotency_key=message.idempotency_key or f"atendo-{message.pk}",
        )
    except DeliveryError as exc:
        give_up = not exc.retryable or message.attempts > settings.CHANNELS_SEND_MAX_RETRIES
        _record_delivery_failure(message, exc.message, exc.provider_code or str(exc.status or ""), final=give_up)
        if give_up:
            return Delivery(Message.objects.get(pk=message.pk), attempted=True)
        raise
    except ChannelMisconfigured as exc:
        _record_delivery_failure(message, exc.message, exc.code, final=True)
        return Delivery(Message.objects.get(pk=message.pk), attempted=True)
    now = timezone.now()
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT, provider_message_id=sent.provider_message_id, sent_at=now,
        error="", error_code="",
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now)
    logger.info("channels.message.sent", extra={"message_id": message.pk, "channel_id": channel.pk})
    sent_message = Message.objects.get(pk=message.pk)
    with transaction.atomic():
        emit(StoreEventKind.MESSAGE_SENT, _message_event(sent_message, channel))
    _enqueue_next_part(message)
    return Delivery(sent_message, attempted=True)


def _record_delivery_failure(message: Message, error: str, code: str, *, final: bool) -> None:
    fields = {"error": error[:2000], "error_code": code[:50]}
    if final:
        fields.update(status=MessageStatus.FAILED, failed_at=timezone.now())
        logger.warning("channels.message.failed", extra={"message_id": message.pk, "error": error})
    else:
        fields["status"] = MessageStatus.QUEUED
        logger.info("channels.message.retry", extra={"message_id": message.pk, "error": error})
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(**fields)
        if final:
            emit(StoreEventKind.MESSAGE_FAILED, _message_event(Message.objects.get(pk=message.pk), message.channel))


def _enqueue_next_part(message: Message) -> None:
    if message.turn_id is None:
        return
    following = (
        Message.objects.filter(turn_id=message.turn_id, part__gt=message.part, status=MessageStatus.QUEUED)
        .order_by("part").values_list("pk", flat=True).first()
    )
    if following is not None:
        from channels import tasks

        spacing = float(message.channel.setting("reply_spacing_seconds", settings.CHANNELS_REPLY_SPACING_SECONDS))
        with transaction.atomic():
            _on_commit_enqueue(tasks.deliver_message, [following], countdown=spacing)


# --- handoff --------------------------------------------------------------------------


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


def conversation_for_external_id(channel: Channel, external_id: str) -> Conversation | None:
    if not external_id:
        return None
    return Conversation.objects.filter(channel=channel, external_id=external_id).first()


def is_own_outbound(channel: Channel, provider_message_id: str) -> bool:
    """Whether a provider's echo of an outgoing message is one we sent."""
    return bool(provider_message_id) and Message.objects.filter(
        channel=channel, direction=Direction.OUT, provider_message_id=provider_message_id
    ).exists()


def messages_of(conversation_id: int) -> Iterable[Message]:
    return Message.objects.filter(conversation_id=conversation_id).order_by("created_at", "pk")


# --- webhook ingestion (one store's part of a delivery) --------------------------------


def ingest_meta_batch(channel_id: int, batch) -> InboundEvent | None:
    """Store one Meta account's part of a webhook delivery: the raw event, each message
    (deduplicated) and each status update. ``batch`` is an ``inbound.MetaBatch``."""
    channel = Channel.objects.filter(pk=channel_id, kind=batch.provider, active=True).first()
    if channel is None:
        logger.warning(
            "channels.meta.channel_missing",
            extra={"channel_id": channel_id, "provider": batch.provider, "account_id": batch.account_id},
        )
        return None
    with transaction.atomic():
        for message in batch.messages:
            if message.provider_message_id and message.contact_id:
                record_inbound(channel, message)
        for update in batch.statuses:
            apply_status(channel, update)
        return record_event(channel, batch.provider, batch.payload)


def ingest_chatwoot_event(channel: Channel, event, payload: dict) -> InboundEvent:
    """Act on a Chatwoot webhook (an ``inbound.ChatwootEvent``): a contact's message
    starts a burst; staff replying or being assigned hands the conversation to them (the
    bot stays silent); the conversation going back to ``pending`` returns it to the bot."""
    with transaction.atomic():
        if event.action in ("message", "human_message") and event.message is not None:
            recorded = record_inbound(channel, event.message, start_turn=event.action == "message")
            if event.action == "human_message":
                handoff(recorded.message.conversation_id, "A human agent is assigned in Chatwoot.",
                        by="chatwoot", notify_provider=False)
        elif event.action == "human":
            conversation = conversation_for_external_id(channel, event.external_conversation_id)
            own = is_own_outbound(channel, event.provider_message_id) or (
                conversation is not None
                and Message.objects.filter(
                    conversation=conversation, direction=Direction.OUT, author="agent",
                    status=MessageStatus.SENDING, text=(payload.get("content") or ""),
                ).exists()
            )
            if conversation is not None and not own:
                handoff(conversation.pk, "A human agent replied in Chatwoot.", by="chatwoot",
                        notify_provider=False)
        elif event.action == "bot":
            conversation = conversation_for_external_id(channel, event.external_conversation_id)
            if conversation is not None:
                return_to_bot(conversation.pk, by="chatwoot", notify_provider=False)
        return record_event(channel, "chatwoot", payload)


def ingest_messages(channel: Channel, provider: str, payload: dict,
                    messages: Iterable[InboundMessage], statuses: Iterable[StatusUpdate] = ()) -> InboundEvent:
    """Store a webhook delivery of a per-channel provider (Evolution API, WuzAPI)."""
    with transaction.atomic():
        for message in messages:
            if message.provider_message_id and message.contact_id:
                record_inbound(channel, message)
        for update in statuses:
            apply_status(channel, update)
        return record_event(channel, provider, payload)


def retry_message(message_id: int) -> bool:
    """Queue a failed outbound message again (staff's "retry" in the admin). Returns False
    when the message is not failed (a sent message is never sent again)."""
    from channels import tasks

    with transaction.atomic():
        updated = Message.objects.filter(
            pk=message_id, direction=Direction.OUT, status=MessageStatus.FAILED
        ).update(status=MessageStatus.QUEUED, attempts=0, error="", error_code="", failed_at=None)
        if updated:
            _on_commit_enqueue(tasks.deliver_message, [message_id])
    return bool(updated)


# --- memory hygiene -------------------------------------------------------------------


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
