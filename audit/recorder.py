"""Model signals -> audit entries.

- A model of the registry saved, updated in bulk (``QuerySet.update``), its many-to-many
  relations edited, or deleted while
  staff or an API key is acting: one entry per object with the fields that changed (the
  row is read once before the change to know "before").
- The agent's side effects, whoever runs the turn: an order whose first status change is
  by ``agent:<id>`` (``orders.OrderTransition``), and a conversation handed to a human.

Entries are written in the same transaction as the change, so a rolled-back change leaves
no entry, and only in a store's schema (the public schema has no audit log).
"""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import uuid
from contextvars import ContextVar
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit import registry
from audit.context import SYSTEM, Actor, _actor, current_actor
from audit.models import Action, ActorKind, AuditEntry
from tenants.request_id import current_request_id

logger = logging.getLogger(__name__)

# Tasks that run the agent: what they change on their own is the agent's doing.
AGENT_TASKS = frozenset({"channels.run_conversation_turn"})
_BEFORE = "_audit_before"


# --- values -----------------------------------------------------------------------------


def _plain(field: models.Field, value: Any) -> Any:
    """A JSON value to compare and to show (secrets are compared as they are, shown masked)."""
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        places = getattr(field, "decimal_places", None)
        if places is not None:
            value = value.quantize(decimal.Decimal(1).scaleb(-places))
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, str):
        return value if len(value) <= registry.MAX_TEXT else value[: registry.MAX_TEXT] + "…"
    if isinstance(value, (int, float, bool)):
        return value
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _values(instance: models.Model, fields: list[models.Field]) -> dict[str, Any]:
    return {f.attname: _plain(f, getattr(instance, f.attname)) for f in fields}


def _masked(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Secrets show only that they changed (or were set)."""
    return {
        name: {side: ("***" if value is not None else None) for side, value in change.items()}
        if registry.is_secret(name) else change
        for name, change in changes.items()
    }


def _fields(sender: type[models.Model], update_fields) -> list[models.Field]:
    fields = registry.tracked_fields(sender)
    if update_fields:
        names = set(update_fields)
        fields = [f for f in fields if f.name in names or f.attname in names]
    return fields


def _in_store() -> bool:
    return connection.schema_name != "public"


def _write(actor: Actor, action: str, instance: models.Model, object_type: str,
           changes: dict[str, Any]) -> AuditEntry:
    return AuditEntry.objects.create(
        actor_kind=actor.kind, actor_id=actor.id[:64], actor_label=actor.label[:200],
        source=actor.source[:20], request_id=current_request_id(), action=action,
        object_type=object_type, object_id=str(instance.pk or "")[:64],
        object_repr=str(instance)[:200], changes=changes,
    )


# --- changes by staff and API keys --------------------------------------------------------


def _acting() -> Actor | None:
    actor = current_actor()
    return actor if actor is not None and actor.is_person_or_key and _in_store() else None


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Remember the row as stored, to compare after the save (one query, only when needed)."""
    if raw or instance.pk is None or not _in_store():
        return
    if registry.label_of(sender) is not None and _acting() is not None:
        fields = _fields(sender, update_fields)
    elif sender is _conversation_model() and instance.status == "human":
        # Only a change to "human" can be a handoff; other saves cost nothing.
        fields = [f for f in _fields(sender, update_fields) if f.name == "status"]
    else:
        return
    if not fields:
        return
    row = sender._base_manager.filter(pk=instance.pk).values(*[f.attname for f in fields]).first()
    if row is None:
        return
    by_name = {f.attname: f for f in fields}
    instance.__dict__[_BEFORE] = {k: _plain(by_name[k], v) for k, v in row.items()}


def _after_save(sender, instance, created: bool, raw=False, update_fields=None, **kwargs) -> None:
    if raw:
        return
    before = instance.__dict__.pop(_BEFORE, None)
    if sender is _conversation_model():
        _maybe_handoff(instance, before)
    label = registry.label_of(sender)
    actor = _acting() if label else None
    if actor is None:
        return
    after = _values(instance, _fields(sender, update_fields))
    if created or before is None:
        changes = {k: {"after": v} for k, v in after.items() if v not in (None, "", [], {})}
        _write(actor, Action.CREATE, instance, label, _masked(changes))
        return
    changes = {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}
    if changes:
        _write(actor, Action.UPDATE, instance, label, _masked(changes))


def _after_delete(sender, instance, **kwargs) -> None:
    label = registry.label_of(sender)
    actor = _acting() if label else None
    if actor is None:
        return
    before = _values(instance, registry.tracked_fields(sender))
    changes = {k: {"before": v} for k, v in before.items() if v not in (None, "", [], {})}
    _write(actor, Action.DELETE, instance, label, _masked(changes))


def _m2m_field(instance: models.Model, through: type[models.Model]) -> models.Field | None:
    return next((f for f in instance._meta.many_to_many if f.remote_field.through is through), None)


def _related_ids(instance: models.Model, field: models.Field) -> list:
    return sorted(getattr(instance, field.name).values_list("pk", flat=True))


def _m2m_changed(sender, instance, action: str, reverse: bool, **kwargs) -> None:
    """Many-to-many edits (an agent's collections, a user's groups): the ids before and after."""
    if reverse or action not in ("pre_add", "pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"):
        return
    label = registry.label_of(type(instance))
    actor = _acting() if label else None
    field = _m2m_field(instance, sender) if actor else None
    if field is None:
        return
    key = f"_audit_m2m_{field.name}"
    if action.startswith("pre_"):
        instance.__dict__[key] = _related_ids(instance, field)
        return
    before = instance.__dict__.pop(key, None)
    after = _related_ids(instance, field)
    if before is not None and before != after:
        _write(actor, Action.UPDATE, instance, label, {field.name: {"before": before, "after": after}})


# Services change some rows with ``QuerySet.update`` (no signals): while staff or a key is
# acting, updates of audited models are recorded too (rows read before and after, by pk).
MAX_UPDATED_ROWS = 200
_plain_update = QuerySet.update


def _audited_update(self: QuerySet, **kwargs):
    label = registry.label_of(self.model)
    actor = _acting() if label else None
    fields = [f for f in registry.tracked_fields(self.model) if f.name in kwargs or f.attname in kwargs] if actor else []
    if not fields:
        return _plain_update(self, **kwargs)
    names = [f.attname for f in fields]
    chosen = self._chain()
    chosen.query.select_for_update = False
    before = {row.pop("pk"): row for row in chosen.order_by().values("pk", *names)[:MAX_UPDATED_ROWS]}
    count = _plain_update(self, **kwargs)
    if before:
        by_name = {f.attname: f for f in fields}
        for pk, instance in self.model._base_manager.in_bulk(list(before)).items():
            changes = {}
            for name in names:
                old, new = _plain(by_name[name], before[pk][name]), _plain(by_name[name], getattr(instance, name))
                if old != new:
                    changes[name] = {"before": old, "after": new}
            if changes:
                _write(actor, Action.UPDATE, instance, label, _masked(changes))
    return count


# --- the agent's side effects ---------------------------------------------------------------


def _conversation_model():
    return _models.get("conversation")


def _agent_actor(agent_id: str) -> Actor:
    label = f"agent {agent_id}"
    agent_model = _models.get("agent")
    if agent_model is not None and agent_id.isdigit():
        name = agent_model.objects.filter(pk=int(agent_id)).values_list("name", flat=True).first()
        if name:
            label = name
    return Actor(ActorKind.AGENT, agent_id, label, "agent")


def _order_transition_saved(sender, instance, created: bool, raw=False, **kwargs) -> None:
    if raw or not created or instance.from_status or not _in_store():
        return
    by = instance.by or ""
    if not by.startswith("agent:"):
        return
    order = instance.order
    actor = _agent_actor(by.split(":", 1)[1])
    _write(actor, Action.ORDER_CREATED, order, "orders.Order", {
        "status": {"after": instance.to_status},
        "total": {"after": _plain(order._meta.get_field("total"), order.total)},
        "currency": {"after": order.currency},
        "lead_id": {"after": order.lead_id},
        "channel": {"after": order.channel},
    })


# (conversation id, agent id) of the turn just finished in this context: a handoff that
# follows it in the same transaction is that agent's.
_agent_turn: ContextVar[tuple[int, int] | None] = ContextVar("audit_agent_turn", default=None)


def _turn_saved(sender, instance, created: bool, raw=False, update_fields=None, **kwargs) -> None:
    if not raw and instance.agent_id and update_fields and "agent_id" in update_fields:
        _agent_turn.set((instance.conversation_id, instance.agent_id))


def _handoff_actor(conversation) -> Actor:
    actor = current_actor()
    if actor is not None and actor.is_person_or_key:
        return actor
    turn = _agent_turn.get()
    if turn is not None and turn[0] == conversation.pk:
        return _agent_actor(str(turn[1]))
    return actor or SYSTEM


def _maybe_handoff(conversation, before: dict | None) -> None:
    if before is None or "status" not in before or not _in_store():
        return
    if conversation.status != "human" or before.get("status") == "human":
        return
    _write(_handoff_actor(conversation), Action.HANDOFF, conversation, "channels.Conversation", {
        "status": {"before": before.get("status"), "after": conversation.status},
        "handoff_reason": {"after": conversation.handoff_reason},
    })


# --- Celery: a task acts as the agent or as the system --------------------------------------


def _task_started(task=None, **kwargs) -> None:
    name = getattr(task, "name", "") or ""
    if name in AGENT_TASKS:
        _actor.set(Actor(ActorKind.AGENT, "", "agent", "agent"))
    else:
        _actor.set(Actor(ActorKind.SYSTEM, "", name[:200], "task"))
    _agent_turn.set(None)


def _task_finished(**kwargs) -> None:
    _actor.set(None)
    _agent_turn.set(None)


_models: dict[str, type[models.Model]] = {}


def connect() -> None:
    from django.apps import apps

    registry.load()
    for key, label in (("conversation", "channels.Conversation"), ("agent", "agents.Agent"),
                       ("turn", "channels.ConversationTurn")):
        try:
            _models[key] = apps.get_model(label)
        except LookupError:
            pass
    QuerySet.update = _audited_update
    pre_save.connect(_before_save, dispatch_uid="audit.before_save")
    post_save.connect(_after_save, dispatch_uid="audit.after_save")
    post_delete.connect(_after_delete, dispatch_uid="audit.after_delete")
    m2m_changed.connect(_m2m_changed, dispatch_uid="audit.m2m_changed")
    try:
        transition = apps.get_model("orders.OrderTransition")
    except LookupError:
        transition = None
    if transition is not None:
        post_save.connect(_order_transition_saved, sender=transition, dispatch_uid="audit.order_created")
    if "turn" in _models:
        post_save.connect(_turn_saved, sender=_models["turn"], dispatch_uid="audit.turn_saved")
    task_prerun.connect(_task_started, dispatch_uid="audit.task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="audit.task_finished", weak=False)
