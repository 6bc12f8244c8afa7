"""WhatsApp message templates: the store's templates as Meta reports them, and the check
that a template call names an approved one before it is queued."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels import outbound
from channels.errors import (
    ChannelNotFound,
    TemplateNotApproved,
    TemplatesNotSupported,
    UnknownTemplate,
)
from channels.models import Channel, ChannelKind, MessageTemplate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplateCall:
    """A template message to send: Meta's ``template`` object (name, language code and
    the components that fill its variables, e.g. ``[{"type": "body", "parameters":
    [{"type": "text", "text": "Ana"}]}]``)."""

    name: str
    language: str
    components: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "components": list(self.components)}


@dataclass(frozen=True)
class TemplateSync:
    created: int
    updated: int
    removed: int


def sync_templates(channel_id: int) -> TemplateSync:
    """Replace the channel's templates by what the Graph API's ``message_templates``
    returns now (name, language, category, status, components). Idempotent.

    Raises ``ChannelNotFound``, ``TemplatesNotSupported`` (not WhatsApp),
    ``ChannelMisconfigured`` (no ``business_account_id``/token) and ``DeliveryError``
    (the Graph API refused or is unreachable).
    """
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise ChannelNotFound(f"No channel {channel_id} here.")
    if channel.kind != ChannelKind.WHATSAPP:
        raise TemplatesNotSupported(f"{channel.name} is not a WhatsApp channel: only WhatsApp has templates.")
    reported = outbound.list_message_templates(channel)
    now = timezone.now()
    created = updated = 0
    seen: set[tuple[str, str]] = set()
    with transaction.atomic():
        for item in reported:
            name, language = str(item.get("name") or ""), str(item.get("language") or "")
            if not name or not language:
                continue
            seen.add((name, language))
            _, was_created = MessageTemplate.objects.update_or_create(
                channel=channel, name=name, language=language,
                defaults={
                    "category": str(item.get("category") or "")[:30],
                    "status": str(item.get("status") or "").upper()[:30],
                    "components": item.get("components") or [],
                    "provider_template_id": str(item.get("id") or "")[:64],
                    "synced_at": now,
                },
            )
            created += was_created
            updated += not was_created
        stale = [t.pk for t in MessageTemplate.objects.filter(channel=channel)
                 if (t.name, t.language) not in seen]
        MessageTemplate.objects.filter(pk__in=stale).delete()
    logger.info("channels.templates.synced", extra={"channel_id": channel.pk, "templates_created": created,
                                                     "templates_updated": updated, "templates_removed": len(stale)})
    return TemplateSync(created=created, updated=updated, removed=len(stale))


def apply_template_status(channel: Channel, update) -> int:
    """Meta's ``message_template_status_update`` (an ``inbound.TemplateStatusUpdate``):
    the template's new status on every WhatsApp channel of the same business account,
    matched by Meta's template id, else by name and language. Returns how many changed;
    a template not synced here yet changes nothing (the next sync brings it)."""
    account = str(channel.setting("business_account_id", "") or "")
    siblings = Channel.objects.filter(kind=ChannelKind.WHATSAPP)
    siblings = siblings.filter(config__business_account_id=account) if account else siblings.filter(pk=channel.pk)
    templates = MessageTemplate.objects.filter(channel__in=siblings)
    matched = templates.filter(provider_template_id=update.template_id) if update.template_id else templates.none()
    if not matched.exists():
        matched = templates.filter(name=update.name, language=update.language)
    changed = matched.update(status=update.event, status_reason=update.reason[:200], synced_at=timezone.now())
    logger.info("channels.templates.status", extra={
        "channel_id": channel.pk, "template": update.name, "language": update.language, "status": update.event,
        "reason": update.reason, "templates_changed": changed})
    return changed


def templates_of(channel_id: int) -> list[MessageTemplate]:
    return list(MessageTemplate.objects.filter(channel_id=channel_id))


def approved_names(channel: Channel) -> list[str]:
    """``name (language)`` of the channel's approved templates, for error messages."""
    return [f"{name} ({language})" for name, language in MessageTemplate.objects.filter(
        channel=channel, status=MessageTemplate.APPROVED).values_list("name", "language")]


def check_template(channel: Channel, call: TemplateCall) -> MessageTemplate:
    """The channel's template that ``call`` names, if Meta approved it.

    Raises ``TemplatesNotSupported``, ``UnknownTemplate`` (never synced, or another
    language) and ``TemplateNotApproved``.
    """
    if channel.kind != ChannelKind.WHATSAPP:
        raise TemplatesNotSupported(
            f"{channel.name} is a {channel.get_kind_display()} channel: template messages are WhatsApp's.",
            field="template")
    template = MessageTemplate.objects.filter(channel=channel, name=call.name, language=call.language).first()
    if template is None:
        known = approved_names(channel)
        raise UnknownTemplate(
            f"No template {call.name!r} in {call.language!r} on {channel.name}. "
            + (f"Approved templates: {', '.join(known)}." if known else
               "No templates synced yet: sync them from Meta (admin action or "
               f"POST /api/v1/channels/{channel.pk}/templates/sync)."),
            field="template")
    if not template.approved:
        raise TemplateNotApproved(
            f"Template {call.name!r} ({call.language}) is {template.status or 'not approved'} at Meta; "
            "only an APPROVED template can be sent.", field="template")
    return template


_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_template(template: MessageTemplate, call: TemplateCall) -> str:
    """The template's body with the call's body parameters in place of ``{{1}}``,
    ``{{2}}``... (or named ``{{first_name}}``), as the customer will read it."""
    values: dict[str, str] = {}
    for component in call.components:
        if str(component.get("type", "")).lower() != "body":
            continue
        for position, parameter in enumerate(component.get("parameters") or [], start=1):
            text = str(parameter.get("text", parameter.get(parameter.get("type", ""), "")))
            values[str(position)] = text
            if parameter.get("parameter_name"):
                values[str(parameter["parameter_name"])] = text
    body = template.body or f"[template {template.name}]"
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)
