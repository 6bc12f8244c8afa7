"""What providers send us: signature checks and payload parsing into plain dataclasses.

Pure functions, no database: the webhook views verify and parse with these, then hand
the normalized messages and status updates to ``channels.services``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.errors import InvalidSignature, MalformedPayload


@dataclass(frozen=True)
class InboundMessage:
    provider_message_id: str
    contact_id: str
    contact_name: str = ""
    text: str = ""
    media_type: str = ""
    media_ref: str = ""
    media_mime: str = ""
    caption: str = ""
    reply_to: str = ""
    timestamp: datetime | None = None
    # The provider's conversation id where it has one (Chatwoot).
    external_conversation_id: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    status: str  # sent | delivered | read | failed
    timestamp: datetime | None = None
    error_code: str = ""
    error: str = ""


@dataclass(frozen=True)
class TemplateStatusUpdate:
    """Meta's ``message_template_status_update``: a template approved, rejected, paused..."""

    event: str  # APPROVED, REJECTED, PAUSED, DISABLED, PENDING_DELETION...
    template_id: str
    name: str
    language: str
    reason: str = ""


# The routing key of a WhatsApp Business Account (its templates' webhooks carry no phone
# number id, only the account's id in ``entry.id``).
WHATSAPP_BUSINESS = "whatsapp_business"


@dataclass(frozen=True)
class MetaBatch:
    """The part of a Meta webhook delivery that concerns one provider account."""

    provider: str  # whatsapp | messenger | instagram | whatsapp_business (template updates)
    account_id: str
    payload: dict[str, Any]
    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusUpdate, ...]
    template_updates: tuple[TemplateStatusUpdate, ...] = ()


def load_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"The body is not JSON: {exc}") from exc


def _from_unix(value: Any) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- signatures -----------------------------------------------------------------------


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_meta_signature(raw_body: bytes, header: str | None, app_secret: str) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex>`` (HMAC-SHA256 of the raw body with the
    app secret) in constant time. Raises ``InvalidSignature``."""
    if not app_secret:
        raise InvalidSignature("No Meta app secret is configured; refusing unsigned webhooks.")
    if not header or not header.startswith("sha256="):
        raise InvalidSignature("Missing X-Hub-Signature-256 header.")
    expected = hmac_sha256_hex(app_secret, raw_body)
    if not hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower()):
        raise InvalidSignature("X-Hub-Signature-256 does not match the body.")


def verify_chatwoot_signature(
    raw_body: bytes, signature: str | None, timestamp: str | None, secret: str, *, max_age: int,
    now: float | None = None,
) -> None:
    """Check ``X-Chatwoot-Signature: sha256=<hex>`` = HMAC-SHA256(secret, "{ts}.{body}")
    and that ``X-Chatwoot-Timestamp`` is within ``max_age`` seconds. Raises ``InvalidSignature``."""
    if not signature or not timestamp:
        raise InvalidSignature("Missing X-Chatwoot-Signature or X-Chatwoot-Timestamp header.")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise InvalidSignature("X-Chatwoot-Timestamp is not a unix time.") from exc
    if abs((now if now is not None else time.time()) - sent_at) > max_age:
        raise InvalidSignature("X-Chatwoot-Timestamp is outside the accepted window.")
    expected = hmac_sha256_hex(secret, timestamp.encode() + b"." + raw_body)
    if not hmac.compare_digest(expected, signature.removeprefix("sha256=").strip().lower()):
        raise InvalidSignature("X-Chatwoot-Signature does not match the body.")


def verify_wuzapi_signature(raw_body: bytes, signature: str | None, hmac_key: str) -> None:
    """Check ``x-hmac-signature: <hex>`` (no prefix) = HMAC-SHA256(key, raw body)."""
    if not signature:
        raise InvalidSignature("Missing x-hmac-signature header.")
    if not hmac.compare_digest(hmac_sha256_hex(hmac_key, raw_body), signature.strip().lower()):
        raise InvalidSignature("x-hmac-signature does not match the body.")


# --- Meta: WhatsApp Cloud API, Messenger, Instagram -----------------------------------

_WHATSAPP_MEDIA = ("image", "video", "audio", "document", "sticker")


def _whatsapp_message(raw: dict[str, Any], names: dict[str, str]) -> InboundMessage:
    kind = raw.get("type", "")
    sender = str(raw.get("from", ""))
    fields: dict[str, Any] = {}
    if kind == "text":
        fields["text"] = (raw.get("text") or {}).get("body", "")
    elif kind == "interactive":
        interactive = raw.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        fields["text"] = reply.get("title", "")
    elif kind == "button":
        fields["text"] = (raw.get("button") or {}).get("text", "")
    elif kind in _WHATSAPP_MEDIA:
        media = raw.get(kind) or {}
        fields.update(
            media_type=kind,
            media_ref=str(media.get("id") or media.get("url") or ""),
            media_mime=media.get("mime_type", ""),
            caption=media.get("caption", ""),
            text=media.get("caption", ""),
        )
    elif kind == "location":
        location = raw.get("location") or {}
        fields["text"] = " ".join(
            str(p) for p in ("[location]", location.get("name", ""), location.get("address", ""),
                             location.get("latitude", ""), location.get("longitude", "")) if p != ""
        )
    else:
        fields["media_type"] = kind or "unsupported"
    return InboundMessage(
        provider_message_id=str(raw.get("id", "")),
        contact_id=sender,
        contact_name=names.get(sender, ""),
        reply_to=str((raw.get("context") or {}).get("id", "")),
        timestamp=_from_unix(raw.get("timestamp")),
        **fields,
    )


def _whatsapp_status(raw: dict[str, Any]) -> StatusUpdate:
    errors = raw.get("errors") or []
    first = errors[0] if errors else {}
    detail = (first.get("error_data") or {}).get("details") or first.get("message") or first.get("title") or ""
    return StatusUpdate(
        provider_message_id=str(raw.get("id", "")),
        status=str(raw.get("status", "")),
        timestamp=_from_unix(raw.get("timestamp")),
        error_code=str(first.get("code", "")) if first else "",
        error=str(detail),
    )


def _messaging_event(raw: dict[str, Any]) -> tuple[InboundMessage | None, list[StatusUpdate]]:
    """One ``entry[].messaging[]`` item of a Messenger / Instagram webhook."""
    sender = str((raw.get("sender") or {}).get("id", ""))
    when = _from_unix(raw.get("timestamp"))
    if "message" in raw:
        message = raw["message"] or {}
        if message.get("is_echo"):
            return None, []
        attachments = message.get("attachments") or []
        media = attachments[0] if attachments else {}
        text = message.get("text", "")
        if "quick_reply" in message and not text:
            text = (message.get("quick_reply") or {}).get("payload", "")
        return InboundMessage(
            provider_message_id=str(message.get("mid", "")),
            contact_id=sender,
            text=text,
            media_type=media.get("type", "") if media else "",
            media_ref=((media.get("payload") or {}).get("url", "")) if media else "",
            reply_to=str((message.get("reply_to") or {}).get("mid", "")),
            timestamp=when,
        ), []
    if "postback" in raw:
        postback = raw["postback"] or {}
        return InboundMessage(
            provider_message_id=str(postback.get("mid", "")),
            contact_id=sender,
            text=postback.get("title") or postback.get("payload", ""),
            timestamp=when,
        ), []
    statuses = []
    for kind, status in (("delivery", "delivered"), ("read", "read")):
        if kind in raw:
            for mid in (raw[kind] or {}).get("mids", []) or []:
                statuses.append(StatusUpdate(provider_message_id=str(mid), status=status, timestamp=when))
    return None, statuses


def _template_status(value: dict) -> TemplateStatusUpdate | None:
    """A template's new status, or None for the updates of that field that carry none
    (quality score changes)."""
    event = str(value.get("event") or "").strip().upper()
    if not event:
        return None
    reason = value.get("reason")
    return TemplateStatusUpdate(
        event=event[:30],
        template_id=str(value.get("message_template_id") or ""),
        name=str(value.get("message_template_name") or ""),
        # The webhook writes "pt-BR" where the template list says "pt_BR".
        language=str(value.get("message_template_language") or "").replace("-", "_"),
        reason="" if reason in (None, "NONE") else str(reason),
    )


def parse_meta_payload(payload: Any) -> list[MetaBatch]:
    """Split a Meta webhook body into one batch per provider account it concerns.

    ``object: whatsapp_business_account`` entries are routed by
    ``changes[].value.metadata.phone_number_id``; ``page`` / ``instagram`` entries by
    ``entry[].id``. Raises ``MalformedPayload`` when the envelope is not Meta's.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedPayload("Not a Meta webhook: no entry list.")
    kind = payload.get("object")
    batches: list[MetaBatch] = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict):
            raise MalformedPayload("A Meta webhook entry is not an object.")
        if kind == "whatsapp_business_account":
            for change in entry.get("changes") or []:
                value = (change or {}).get("value") or {}
                if (change or {}).get("field") == "message_template_status_update":
                    update = _template_status(value)
                    batches.append(MetaBatch(
                        provider=WHATSAPP_BUSINESS, account_id=str(entry.get("id", "")),
                        payload={"object": kind, "entry": [{"id": entry.get("id"), "changes": [change]}]},
                        messages=(), statuses=(), template_updates=(update,) if update else (),
                    ))
                    continue
                account = str((value.get("metadata") or {}).get("phone_number_id", ""))
                names = {
                    str(c.get("wa_id", "")): (c.get("profile") or {}).get("name", "")
                    for c in value.get("contacts") or []
                }
                batches.append(
                    MetaBatch(
                        provider="whatsapp",
                        account_id=account,
                        payload={"object": kind, "entry": [{"id": entry.get("id"), "changes": [change]}]},
                        messages=tuple(_whatsapp_message(m, names) for m in value.get("messages") or []),
                        statuses=tuple(_whatsapp_status(s) for s in value.get("statuses") or []),
                    )
                )
        elif kind in ("page", "instagram"):
            messages: list[InboundMessage] = []
            statuses: list[StatusUpdate] = []
            for item in entry.get("messaging") or []:
                message, item_statuses = _messaging_event(item or {})
                if message is not None:
                    messages.append(message)
                statuses.extend(item_statuses)
            batches.append(
                MetaBatch(
                    provider="messenger" if kind == "page" else "instagram",
                    account_id=str(entry.get("id", "")),
                    payload={"object": kind, "entry": [entry]},
                    messages=tuple(messages),
                    statuses=tuple(statuses),
                )
            )
        else:
            raise MalformedPayload(f"Unsupported Meta webhook object {kind!r}.")
    return batches


# --- Chatwoot -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatwootEvent:
    """What a Chatwoot webhook means for us."""

    action: str  # "message" (a contact wrote), "human" (staff took over), "bot", "ignore"
    message: InboundMessage | None = None
    external_conversation_id: str = ""
    contact_id: str = ""
    provider_message_id: str = ""  # of an outgoing message (to recognise our own)


def parse_chatwoot_payload(payload: Any) -> ChatwootEvent:
    if not isinstance(payload, dict) or "event" not in payload:
        raise MalformedPayload("Not a Chatwoot webhook: no event.")
    event = payload["event"]
    conversation = payload.get("conversation") if event.startswith("message_") else payload
    conversation = conversation or {}
    conversation_id = str(conversation.get("id", ""))
    meta = conversation.get("meta") or {}
    contact_id = str(
        (meta.get("sender") or {}).get("id")
        or (conversation.get("contact_inbox") or {}).get("contact_id")
        or ""
    )
    if event == "message_created":
        message_type = payload.get("message_type")
        sender = payload.get("sender") or {}
        if payload.get("private"):
            return ChatwootEvent(action="ignore", external_conversation_id=conversation_id)
        if message_type in ("outgoing", 1):
            # A human agent (sender type "user") replying takes the conversation over; our
            # own bot's messages come back here too and are ignored.
            sender_type = str(sender.get("type", "")).lower()
            action = "human" if sender_type == "user" else "ignore"
            return ChatwootEvent(
                action=action, external_conversation_id=conversation_id, contact_id=contact_id,
                provider_message_id=str(payload.get("id", "")),
            )
        if message_type not in ("incoming", 0):
            return ChatwootEvent(action="ignore", external_conversation_id=conversation_id)
        if meta.get("assignee") is not None and conversation.get("status") == "open":
            # Staff own this conversation: store the message, the bot stays silent.
            human = True
        else:
            human = False
        attachments = payload.get("attachments") or []
        media = attachments[0] if attachments else {}
        message = InboundMessage(
            provider_message_id=str(payload.get("id", "")),
            contact_id=str(sender.get("id", "") or contact_id),
            contact_name=sender.get("name", "") or "",
            text=payload.get("content") or "",
            media_type=(media.get("file_type", "") if media else ""),
            media_ref=(media.get("data_url", "") if media else ""),
            timestamp=_from_unix(conversation.get("timestamp")),
            external_conversation_id=conversation_id,
        )
        return ChatwootEvent(
            action="human_message" if human else "message", message=message,
            external_conversation_id=conversation_id, contact_id=message.contact_id,
        )
    if event in ("conversation_status_changed", "conversation_updated", "assignee_changed"):
        status = conversation.get("status")
        if status == "open" and meta.get("assignee") is not None:
            return ChatwootEvent(action="human", external_conversation_id=conversation_id, contact_id=contact_id)
        if status == "pending":
            return ChatwootEvent(action="bot", external_conversation_id=conversation_id, contact_id=contact_id)
    return ChatwootEvent(action="ignore", external_conversation_id=conversation_id)


# --- Evolution API and WuzAPI ---------------------------------------------------------


def _jid_user(jid: str) -> str:
    return (jid or "").split("@", 1)[0].split(":", 1)[0]


def parse_evolution_payload(payload: Any) -> list[InboundMessage]:
    """``messages.upsert`` events from contacts (``fromMe`` false) as messages."""
    if not isinstance(payload, dict) or "event" not in payload:
        raise MalformedPayload("Not an Evolution API webhook: no event.")
    if payload["event"].replace("_", ".").lower() != "messages.upsert":
        return []
    items = payload.get("data")
    items = items if isinstance(items, list) else [items or {}]
    messages = []
    for data in items:
        key = data.get("key") or {}
        if key.get("fromMe") or str(key.get("remoteJid", "")).endswith("@g.us"):
            continue
        body = data.get("message") or {}
        text = body.get("conversation") or (body.get("extendedTextMessage") or {}).get("text", "")
        media_type, media = "", {}
        for name in ("imageMessage", "videoMessage", "audioMessage", "documentMessage"):
            if name in body:
                media_type, media = name.removesuffix("Message"), body[name] or {}
        messages.append(
            InboundMessage(
                provider_message_id=str(key.get("id", "")),
                contact_id=_jid_user(key.get("remoteJid", "")),
                contact_name=data.get("pushName", "") or "",
                text=text or media.get("caption", ""),
                media_type=media_type,
                media_ref=media.get("url", ""),
                media_mime=media.get("mimetype", ""),
                caption=media.get("caption", ""),
                timestamp=_from_unix(data.get("messageTimestamp")),
            )
        )
    return messages


def wuzapi_body(raw_body: bytes, content_type: str) -> tuple[dict[str, Any], str]:
    """The event JSON and the user token of a WuzAPI webhook (form or JSON mode)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(raw_body.decode("utf-8", errors="replace"))
        data = load_json((form.get("jsonData") or [""])[0].encode())
        token = (form.get("token") or [""])[0]
    else:
        data = load_json(raw_body)
        token = str(data.get("token", "")) if isinstance(data, dict) else ""
    if not isinstance(data, dict):
        raise MalformedPayload("A WuzAPI webhook's jsonData is not an object.")
    return data, token


def parse_wuzapi_event(data: dict[str, Any]) -> tuple[list[InboundMessage], list[StatusUpdate]]:
    kind = data.get("type")
    event = data.get("event") or {}
    if kind == "Message":
        info = event.get("Info") or {}
        if info.get("IsFromMe") or info.get("IsGroup"):
            return [], []
        body = event.get("Message") or {}
        text = body.get("conversation") or (body.get("extendedTextMessage") or {}).get("text", "")
        image = body.get("imageMessage") or {}
        when = None
        if info.get("Timestamp"):
            try:
                when = datetime.fromisoformat(str(info["Timestamp"]))
            except ValueError:
                when = None
        return [
            InboundMessage(
                provider_message_id=str(info.get("ID", "")),
                contact_id=_jid_user(info.get("Sender") or info.get("Chat") or ""),
                contact_name=info.get("PushName", "") or "",
                text=text or image.get("caption", ""),
                media_type="image" if image else (info.get("MediaType") or ""),
                media_ref=image.get("URL", "") or image.get("url", ""),
                caption=image.get("caption", ""),
                timestamp=when,
            )
        ], []
    if kind == "ReadReceipt":
        state = str(data.get("state") or event.get("Type") or "").lower()
        status = "read" if state.startswith("read") else "delivered" if state == "delivered" else ""
        if not status:
            return [], []
        return [], [
            StatusUpdate(provider_message_id=str(mid), status=status)
            for mid in event.get("MessageIDs") or []
        ]
    return [], []
