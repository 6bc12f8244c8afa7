"""A store's contacts: leads, their identities on each channel, their timeline and profile."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

E164_PATTERN = r"^\+[1-9]\d{7,14}$"
e164_validator = RegexValidator(
    E164_PATTERN, "Enter a phone number in E.164 form, e.g. +5511999998888."
)
PROFILE_EMBEDDING_DIMENSIONS = 384


class Stage(models.TextChoices):
    NEW = "new", "New"
    ENGAGED = "engaged", "Engaged"
    QUALIFIED = "qualified", "Qualified"
    CUSTOMER = "customer", "Customer"
    LOST = "lost", "Lost"


class IdentityKind(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    CHATWOOT = "chatwoot", "Chatwoot"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    INSTAGRAM = "instagram", "Instagram"
    MESSENGER = "messenger", "Messenger"
    API = "api", "API"


class EventKind(models.TextChoices):
    MESSAGE = "message", "Message"
    ORDER_CREATED = "order_created", "Order created"
    ORDER_PAID = "order_paid", "Order paid"
    HANDOFF = "handoff", "Handoff"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    NOTE = "note", "Note"


class Lead(models.Model):
    """One person the store talks to, whatever channels they use."""

    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[e164_validator])
    email = models.EmailField(blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    tags = models.JSONField(default=list, blank=True)
    consent_marketing = models.BooleanField(default=False)
    consent_whatsapp = models.BooleanField(default=False)
    source_channel = models.CharField(
        max_length=20, choices=IdentityKind.choices, blank=True
    )
    profile_summary = models.TextField(blank=True)
    profile_embedding = VectorField(
        dimensions=PROFILE_EMBEDDING_DIMENSIONS, null=True, blank=True
    )
    profile_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["stage"]), models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or f"Lead {self.pk}"


class LeadIdentity(models.Model):
    """How a channel names the lead (a WhatsApp wa_id, a Chatwoot contact id, an e-mail...)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    value = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "lead identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], name="lead_identity_unique_kind_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class LeadEvent(models.Model):
    """One line of the lead's timeline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    payload = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"
