"""The store's audit log: who changed what, when, and the fields before and after."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    API_KEY = "api_key", "API key"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Action(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    # The agent's side effects, recorded whoever (or whatever) ran the turn.
    ORDER_CREATED = "order_created", "Order created by the agent"
    HANDOFF = "handoff", "Handed off to a human"


class AuditEntry(models.Model):
    """One change. ``changes`` maps each field that changed to ``{"before", "after"}``
    (secrets show as ``"***"``); a creation has only ``after``, a deletion only ``before``."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    # Where the change came from: admin, api, agent, task, webhook, shell.
    source = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor_kind", "actor_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or self.actor_kind} {self.action} {self.object_type} {self.object_id}"
