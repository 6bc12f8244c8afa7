"""Outbound delivery: each queued message sent at most once, in order with spacing, retried
with backoff on 429/5xx, given up visibly after N attempts."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels import outbound
from channels.errors import (
    ChannelMisconfigured,
    DeliveryError,
)
from channels.events import emit
from channels.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from channels.models import EventKind as StoreEventKind
from channels.services.common import _message_event, _on_commit_enqueue

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Delivery:
    message: Message
    attempted: bool  # False: the message was not queued (already sent, sending or failed)


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
        if message.template:
            sent = outbound.send_template(
                channel, to=conversation.contact_id, name=message.template.get("name", ""),
                language=message.template.get("language", ""), components=message.template.get("components"),
            )
        else:
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
