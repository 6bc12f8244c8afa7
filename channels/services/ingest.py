"""Inbound: a delivery's messages and statuses stored (deduplicated), conversations and
leads linked, and the burst's close scheduled. Database writes only; the inbox's worker
calls these for each stored webhook delivery (``channels.services.inbox``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from channels.events import emit
from channels.inbound import InboundMessage, StatusUpdate
from channels.models import (
    Channel,
    ChannelKind,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
)
from channels.models import EventKind as StoreEventKind
from channels.services.accumulator import schedule_burst_close
from channels.services.common import _message_event
from channels.services.handoff import handoff, return_to_bot
from channels.services.templates import apply_template_status

logger = logging.getLogger(__name__)


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


def _insert_sql(model, instance, tail: str) -> tuple[str, list]:
    """``INSERT`` of every concrete column of ``instance`` (Python defaults applied), with
    ``tail`` (``ON CONFLICT ... RETURNING ...``) appended."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {tail}", values


def _conversation_for_message(channel: Channel, message: InboundMessage, now) -> Conversation:
    """The (channel, contact) conversation, created if new and marked active now, in one
    statement (an upsert: no check-then-insert, no savepoint; each round trip counts on
    the webhook's path)."""
    new = Conversation(channel=channel, contact_id=message.contact_id, contact_name=message.contact_name,
                       external_id=message.external_conversation_id, last_activity_at=now, created_at=now)
    fields = list(Conversation._meta.concrete_fields)
    returning = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql, params = _insert_sql(Conversation, new, (
        'ON CONFLICT ("channel_id", "contact_id") DO UPDATE SET "last_activity_at" = EXCLUDED."last_activity_at", '
        f'"ended_at" = NULL RETURNING {returning}'))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    conversation = Conversation.from_db(connection.alias, [f.attname for f in fields], row)
    conversation.channel = channel
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


def _store_message_once(message: Message) -> bool:
    """Insert ``message`` unless the channel already has its provider message id (the
    partial unique constraint decides: a redelivery is a no-op). True when inserted."""
    sql, params = _insert_sql(Message, message, (
        'ON CONFLICT ("channel_id", "direction", "provider_message_id") WHERE NOT ("provider_message_id" = \'\') '
        'DO NOTHING RETURNING "id"'))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    message._state.db = connection.alias
    return True


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
    # No savepoint anywhere (the webhook's transaction is enough; each round trip counts on
    # the fast path): the conversation is an upsert and the message an insert that a
    # duplicate provider id turns into a no-op.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        conversation = _conversation_for_message(channel, message, now)
        stored = Message(
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
        if not _store_message_once(stored):
            # A redelivery (providers retry; the unique constraint decides, no check-then-act).
            existing = Message.objects.get(
                channel=channel, direction=Direction.IN, provider_message_id=message.provider_message_id
            )
            return Recorded(existing, created=False)
        if start_turn and conversation.status == ConversationStatus.BOT:
            schedule_burst_close(channel, conversation.pk, stored.pk)
        emit(StoreEventKind.MESSAGE_RECEIVED, _message_event(stored, channel))
    logger.info(
        "channels.message.received",
        extra={"channel_id": channel.pk, "conversation_id": conversation.pk, "message_id": stored.pk},
    )
    return Recorded(stored, created=True)


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


# --- a delivery's effects (the inbox's worker calls these; see ``inbox``) -------------


def ingest_meta_batch(channel: Channel, batch) -> None:
    """Act on one Meta account's part of a webhook delivery (an ``inbound.MetaBatch``):
    store each message (deduplicated) and apply each status update."""
    with transaction.atomic():
        for message in batch.messages:
            if message.provider_message_id and message.contact_id:
                record_inbound(channel, message)
        for update in batch.statuses:
            apply_status(channel, update)
        for update in batch.template_updates:
            apply_template_status(channel, update)


def ingest_chatwoot_event(channel: Channel, event, payload: dict) -> None:
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


def ingest_messages(channel: Channel, messages: Iterable[InboundMessage],
                    statuses: Iterable[StatusUpdate] = ()) -> None:
    """Act on a delivery of a per-channel provider (Evolution API, WuzAPI)."""
    with transaction.atomic():
        for message in messages:
            if message.provider_message_id and message.contact_id:
                record_inbound(channel, message)
        for update in statuses:
            apply_status(channel, update)
