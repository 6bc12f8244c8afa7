"""Channel tasks: thin, ids in, idempotent; each runs in the enqueuing store's schema.

``channels.*`` tasks go to the ``webhooks`` queue; the agent turn goes to
``agent_turns`` so slow LLM calls never hold up burst closing and deliveries.
"""

from __future__ import annotations

import logging
import random

from django.conf import settings

from channels import services
from channels.errors import (
    AgentUnavailable,
    ConversationNotFound,
    DeliveryError,
    TurnBusy,
)
from config.celery import app

logger = logging.getLogger(__name__)

# Attempts of a turn whose agent fails or is unavailable before the turn is marked failed.
TURN_MAX_RETRIES = 3


def _backoff(retries: int, base: float) -> float:
    return base * (2**retries) * (1 + random.random() / 2)


@app.task(name="channels.drain_inbox", bind=True, ignore_result=True, max_retries=None)
def drain_inbox(self) -> None:
    """The store's stored webhook deliveries, processed in arrival order."""
    from django.db import connection

    from channels.services import inbox

    limit = settings.CHANNELS_INBOX_DRAIN_BATCH
    try:
        done = services.drain_inbox(limit=limit)
    except Exception as exc:
        # The database or Redis went away mid-drain: what was committed stays processed,
        # the rest is still pending; try again shortly (the beat's sweep is the last net).
        logger.exception("channels.inbox.drain_failed")
        raise self.retry(countdown=min(_backoff(self.request.retries, 2.0), 60)) from exc
    if done is None:
        # Another drain of this store is running; it may have looked before the delivery
        # that woke this one was stored, so look again shortly.
        raise self.retry(countdown=0.5 + random.random() / 2)
    if done >= limit:
        # A flood: hand the worker back to the other stores' tasks, then carry on.
        inbox.wake(connection.schema_name, force=True)


@app.task(name="channels.drain_inboxes_in_all_stores", platform_task=True, ignore_result=True)
def drain_inboxes_in_all_stores() -> int:
    """Beat: wake the drain of every store with deliveries left behind (a task lost with
    its broker message, Redis down when they arrived). Returns how many were woken."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from channels.services import inbox
    from tenants.models import Tenant

    woken = 0
    for tenant in Tenant.objects.stores().filter(is_active=True).order_by("pk"):
        with tenant_context(tenant):
            if inbox.has_due_deliveries():
                woken += inbox.wake(connection.schema_name, force=True)
    return woken


@app.task(name="channels.close_burst", ignore_result=True)
def close_burst(conversation_id: int, message_id: int) -> None:
    services.close_burst(conversation_id, message_id)


@app.task(
    name="channels.run_conversation_turn", queue="agent_turns", bind=True, ignore_result=True,
    max_retries=None,
)
def run_conversation_turn(self, turn_id: int) -> None:
    try:
        services.run_turn(turn_id)
    except TurnBusy:
        # Another turn of this conversation runs first; this one follows it (never dropped).
        raise self.retry(countdown=2 + random.random(), max_retries=None) from None
    except AgentUnavailable as exc:
        if self.request.retries >= TURN_MAX_RETRIES:
            services.fail_turn(turn_id, exc.message)
            logger.error("channels.turn.failed", extra={"turn_id": turn_id, "error": exc.message})
            return
        services.release_turn(turn_id, exc.message)
        raise self.retry(countdown=_backoff(self.request.retries, 5.0)) from exc
    except Exception as exc:
        # The agent's own failures (LLM down, a tool's bug) are not ours to classify: the
        # turn goes back to pending and is retried a few times, then marked failed.
        if self.request.retries >= TURN_MAX_RETRIES:
            services.fail_turn(turn_id, f"{exc.__class__.__name__}: {exc}")
            logger.exception("channels.turn.failed", extra={"turn_id": turn_id})
            return
        services.release_turn(turn_id, f"{exc.__class__.__name__}: {exc}")
        raise self.retry(countdown=_backoff(self.request.retries, 5.0)) from exc


@app.task(name="channels.deliver_message", bind=True, ignore_result=True, max_retries=None)
def deliver_message(self, message_id: int) -> None:
    try:
        services.deliver(message_id)
    except DeliveryError as exc:
        # deliver() gives up by itself after CHANNELS_SEND_MAX_RETRIES attempts.
        delay = max(exc.retry_after, _backoff(self.request.retries, settings.CHANNELS_SEND_BACKOFF))
        raise self.retry(countdown=min(delay, 300)) from exc


@app.task(name="channels.notify_provider_of_handoff", bind=True, ignore_result=True, max_retries=5)
def notify_provider_of_handoff(self, conversation_id: int, to_human: bool) -> None:
    try:
        services.notify_provider_of_handoff(conversation_id, to_human)
    except ConversationNotFound:
        return
    except DeliveryError as exc:
        if exc.retryable:
            raise self.retry(countdown=_backoff(self.request.retries, settings.CHANNELS_SEND_BACKOFF)) from exc
        logger.warning("channels.handoff.provider_refused", extra={"conversation_id": conversation_id,
                                                                    "error": exc.message})


@app.task(name="channels.end_idle_conversations_in_all_stores", platform_task=True, ignore_result=True)
def end_idle_conversations_in_all_stores() -> int:
    """Beat: fan out ``end_idle_conversations`` to every store, each in its own schema."""
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant

    count = 0
    for tenant in Tenant.objects.stores().filter(is_active=True).order_by("pk"):
        with tenant_context(tenant):
            end_idle_conversations.delay()
        count += 1
    return count


@app.task(name="channels.dispatch_turns_in_all_stores", platform_task=True, ignore_result=True)
def dispatch_turns_in_all_stores() -> int:
    """Beat: each store's waiting turns get their free slots (a safety net: finishing turns
    dispatch the next ones themselves; this catches a task lost with its broker message)."""
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant

    count = 0
    for tenant in Tenant.objects.stores().filter(is_active=True).order_by("pk"):
        with tenant_context(tenant):
            dispatch_turns.delay()
        count += 1
    return count


@app.task(name="channels.dispatch_turns", ignore_result=True)
def dispatch_turns() -> int:
    return len(services.dispatch_turns())


@app.task(name="channels.end_idle_conversations", ignore_result=True)
def end_idle_conversations() -> dict[str, int]:
    return services.end_idle_conversations()


@app.task(name="channels.deliver_webhook", bind=True, ignore_result=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> None:
    from channels import events

    try:
        events.deliver_webhook(delivery_id)
    except events.WebhookDeliveryFailed as exc:
        # events.deliver_webhook marks the delivery failed after CHANNELS_EVENT_MAX_ATTEMPTS.
        raise self.retry(countdown=min(_backoff(self.request.retries, settings.CHANNELS_EVENT_BACKOFF), 3600)) from exc
