"""Which models the audit log follows, and which of their fields it never shows or skips.

Every change that staff (admin, session API) or an API key makes to one of these models is
recorded with the fields before and after. Models that change on every message or turn
(messages, turns, runs, token usage, chunks, deliveries) are left out on purpose: they are
the activity itself, not a change somebody made to the store.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

AUDITED_MODELS = (
    "auth.User",
    "auth.Group",
    "tenants.ApiKey",
    "catalog.Category",
    "catalog.Product",
    "catalog.StoreProfile",
    "catalog.Synonym",
    "orders.Order",
    "orders.OrderItem",
    "leads.Lead",
    "leads.LeadIdentity",
    "knowledge.KnowledgeSettings",
    "knowledge.Collection",
    "knowledge.Document",
    "knowledge.CuratedAnswer",
    "agents.Agent",
    "agents.Credential",
    "agents.ModelPrice",
    "channels.Channel",
    "channels.Conversation",
    "channels.WebhookSubscription",
)

# A field whose name contains one of these is shown as "***" (only that it changed).
SECRET_MARKERS = ("password", "secret", "token", "encrypted", "hash", "credential", "api_key")
# Bookkeeping that changes by itself; a save that only touches these is not recorded.
IGNORED_FIELDS = frozenset({"updated_at", "last_login", "last_used_at", "last_activity_at"})
# Large or binary values are not copied into the log.
SKIPPED_FIELD_TYPES = ("VectorField", "BinaryField", "SearchVectorField")
MAX_TEXT = 500

_audited: dict[type[models.Model], str] = {}


def load() -> None:
    """Resolve the labels to model classes (apps without one of them are skipped)."""
    _audited.clear()
    for label in AUDITED_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        _audited[model] = label


def label_of(model: type[models.Model]) -> str | None:
    """The audited label of ``model`` (or of its concrete parent), ``None`` if not audited."""
    label = _audited.get(model)
    if label is None and model._meta.proxy:
        label = _audited.get(model._meta.concrete_model)
    return label


def is_secret(field_name: str) -> bool:
    name = field_name.lower()
    return any(marker in name for marker in SECRET_MARKERS)


def tracked_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        f for f in model._meta.concrete_fields
        if f.name not in IGNORED_FIELDS
        and not any(t in type(f).__name__ for t in SKIPPED_FIELD_TYPES)
        and not f.primary_key
    ]
