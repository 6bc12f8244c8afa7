"""A store's channels, conversations, messages, raw inbound events and agent turns."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_verify_token() -> str:
    return secrets.token_urlsafe(24)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class ChannelKind(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp Cloud API"
    CHATWOOT = "chatwoot", "Chatwoot"
    EVOLUTION = "evolution", "Evolution API"
    WUZAPI = "wuzapi", "WuzAPI"
    INSTAGRAM = "instagram", "Instagram Direct"
    MESSENGER = "messenger", "Facebook Messenger"
    API = "api", "API / web"


# Channels whose provider calls the platform-wide Meta webhook, and the config key that
# names the provider account they are routed by.
META_ROUTE_KEYS = {
    ChannelKind.WHATSAPP: "phone_number_id",
    ChannelKind.INSTAGRAM: "ig_account_id",
    ChannelKind.MESSENGER: "page_id",
}


class Channel(models.Model):
    """One connection of the store to a messaging provider.

    ``config`` holds the provider's settings: base URLs (``graph_base_url``,
    ``base_url``), account ids (``phone_number_id``, ``account_id``, ``instance``),
    credentials (``access_token``, ``api_access_token``, ``webhook_secret``, ``apikey``,
    ``token``, ``hmac_key``) and the accumulator's ``burst_seconds`` /
    ``burst_max_wait_seconds``.
    """

    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    verify_token = models.CharField(max_length=128, default=new_verify_token)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def setting(self, key: str, default=None):
        value = (self.config or {}).get(key)
        return default if value in (None, "") else value


class ConversationStatus(models.TextChoices):
    BOT = "bot", "Bot answers"
    HUMAN = "human", "Human (handoff)"


class Conversation(models.Model):
    """The thread between the store and one contact on one channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    # How the provider names the contact: a WhatsApp wa_id, a Chatwoot contact id...
    contact_id = models.CharField(max_length=128)
    contact_name = models.CharField(max_length=200, blank=True)
    # The provider's own conversation id where it has one (Chatwoot).
    external_id = models.CharField(max_length=128, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.BOT
    )
    handoff_reason = models.CharField(max_length=500, blank=True)
    handoff_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when the conversation went idle beyond the TTL (cleared by the next message); the
    # agent's short-term memory starts at ``memory_starts_at`` (the lead profile keeps the rest).
    ended_at = models.DateTimeField(null=True, blank=True)
    memory_starts_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_activity_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "contact_id"], name="conversation_unique_channel_contact"
            )
        ]
        indexes = [models.Index(fields=["status", "-last_activity_at"])]

    def __str__(self) -> str:
        return f"{self.contact_name or self.contact_id} on {self.channel.name}"


class Direction(models.TextChoices):
    IN = "in", "Inbound"
    OUT = "out", "Outbound"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # Denormalised so a provider id is unique per channel.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    # Who wrote an outbound message: the agent, or staff (a human agent, the store's API).
    author = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # The provider id of the message this one replies to (WhatsApp ``context.id``).
    reply_to_provider_id = models.CharField(max_length=255, blank=True)
    media_type = models.CharField(max_length=20, blank=True)
    media_ref = models.CharField(max_length=500, blank=True)
    media_mime = models.CharField(max_length=100, blank=True)
    caption = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # An outbound message's key: a retried turn records its reply under the same key.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    turn = models.ForeignKey(
        "ConversationTurn", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    part = models.PositiveSmallIntegerField(default=0)
    provider_timestamp = models.DateTimeField(null=True, blank=True)
    # An outbound WhatsApp template message: {"name", "language", "components"} as sent to
    # the Graph API (``text`` then holds its rendered body, for people and the agent).
    template = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "direction", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_unique_provider_id_per_channel",
            )
        ]
        indexes = [models.Index(fields=["conversation", "direction", "id"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.text[:40] or self.media_type}"


class MessageTemplate(models.Model):
    """A WhatsApp message template of the channel's business account, as Meta reports it
    (synced from the Graph API's ``message_templates``). Only an ``APPROVED`` one may be
    sent, and it is the only kind of message allowed outside the 24-hour window."""

    APPROVED = "APPROVED"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=20)
    category = models.CharField(max_length=30, blank=True)
    # Meta's status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED...
    status = models.CharField(max_length=30)
    # Why Meta rejected, paused or disabled it (its webhook's ``reason``).
    status_reason = models.CharField(max_length=200, blank=True)
    components = models.JSONField(default=list, blank=True)
    provider_template_id = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name", "language"], name="template_unique_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}, {self.status})"

    @property
    def approved(self) -> bool:
        return self.status == self.APPROVED

    @property
    def body(self) -> str:
        for component in self.components or []:
            if str(component.get("type", "")).upper() == "BODY":
                return str(component.get("text", ""))
        return ""


class TurnStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Answered"
    SILENT = "silent", "Silent (no reply)"
    FAILED = "failed", "Failed"


class ConversationTurn(models.Model):
    """One agent turn answering one burst of customer messages.

    ``turn_key`` (conversation id + last inbound message id of the burst) is unique, so a
    burst closed twice (a retried or duplicated task) is still one turn.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    turn_key = models.CharField(max_length=100, unique=True)
    first_message_id = models.BigIntegerField()
    last_message_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=TurnStatus.choices, default=TurnStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    reply = models.TextField(blank=True)
    error = models.TextField(blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its task was enqueued. A pending turn without one waits for a free slot of the
    # store (``CHANNELS_MAX_TURNS_PER_STORE``): fairness between stores.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "pk"]
        indexes = [models.Index(fields=["status", "dispatched_at"], name="turn_status_dispatched")]

    def __str__(self) -> str:
        return f"turn {self.turn_key} ({self.status})"


class InboundEvent(models.Model):
    """A provider's webhook delivery as received (the part of it that concerns this store):
    the store's inbox. The webhook stores it and answers; a worker processes the inbox in
    arrival order (``channels.services.inbox``) into conversations and messages.

    Pending: ``processed`` false and ``failed_at`` empty; an attempt that fails records its
    ``error`` and waits until ``next_attempt_at``; after the last attempt ``failed_at`` is
    set and staff process it again from the admin."""

    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    provider = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            # The inbox: what is left to process, in arrival order.
            models.Index(fields=["id"], name="inboundevent_pending",
                         condition=models.Q(processed=False, failed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.provider} event at {self.received_at:%Y-%m-%d %H:%M:%S}"


class EventKind(models.TextChoices):
    MESSAGE_RECEIVED = "message.received", "message.received"
    MESSAGE_SENT = "message.sent", "message.sent"
    MESSAGE_FAILED = "message.failed", "message.failed"
    CONVERSATION_HANDOFF = "conversation.handoff", "conversation.handoff"
    LEAD_CREATED = "lead.created", "lead.created"
    ORDER_CREATED = "order.created", "order.created"
    ORDER_PAID = "order.paid", "order.paid"
    ORDER_STATUS_CHANGED = "order.status_changed", "order.status_changed"
    STOCK_CHANGED = "stock.changed", "stock.changed"
    BUDGET_EXCEEDED = "budget.exceeded", "budget.exceeded"


class TokenBudget(models.Model):
    """The store's monthly budget of model tokens (one row per store). Past it, its agents
    answer with the offline responder until the month ends, and staff are told once."""

    monthly_tokens = models.PositiveBigIntegerField(
        default=0, help_text="Prompt + completion tokens per calendar month (UTC). 0: no budget.")
    # The month (its first day) in which staff were told the budget ran out.
    exceeded_month = models.DateField(null=True, blank=True)
    exceeded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "token budget"

    def __str__(self) -> str:
        return f"{self.monthly_tokens} tokens a month" if self.monthly_tokens else "no token budget"


class WebhookSubscription(models.Model):
    """The store's own endpoint that receives its events, HMAC-signed with ``secret``."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event names, e.g. [\"message.received\", \"order.paid\"].")
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription, with every attempt logged."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, db_index=True)
    event = models.CharField(max_length=40, choices=EventKind.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # [{"at", "attempt", "status", "ms", "error"}], oldest first.
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} ({self.status})"
