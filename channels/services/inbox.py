"""The inbox: a webhook delivery is stored, and processed by a worker in arrival order.

The webhook's request does only what must happen before the provider hears "200":
verify the signature, check the body, route it to its store and ``accept`` it — one
``INSERT`` into the store's ``InboundEvent`` table, committed — then wake the store's
drain. Everything else (the conversation, the lead, the message, statuses, handoffs,
the burst's close) is ``drain_inbox``'s, in a worker, milliseconds later.

Waking is cheap under a flood: a Redis flag per store (``SET NX``) says a drain is
already on its way, so only the first delivery of a burst enqueues one. The drain clears
the flag before it looks for work, so a delivery either finds the flag cleared (and
enqueues a drain) or is seen by the drain that cleared it. One drain per store runs at
a time (a PostgreSQL advisory lock), in arrival order, a savepoint per delivery and a
transaction per ``DELIVERIES_PER_TRANSACTION``.
A delivery whose processing fails keeps its error, is retried with backoff, and after
``CHANNELS_INBOX_MAX_ATTEMPTS`` is kept as failed (admin: process again); a beat task
wakes any store with deliveries left behind (a lost task, Redis down at the time).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels import inbound
from channels.events import redis_client
from channels.models import InboundEvent
from channels.services.common import _on_commit_enqueue
from channels.services.ingest import ingest_chatwoot_event, ingest_messages, ingest_meta_batch

logger = logging.getLogger(__name__)

META_PROVIDERS = ("whatsapp", "instagram", "messenger", inbound.WHATSAPP_BUSINESS)
PROVIDERS = (*META_PROVIDERS, "chatwoot", "evolution", "wuzapi")

def _wake_key(schema: str) -> str:
    return f"atendo:inbox-wake:{schema}"


def _insert_sql(schema: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(schema)}.{quote(InboundEvent._meta.db_table)} "
        '("channel_id", "provider", "payload", "received_at", "processed", "error", "attempts") '
        "VALUES (%s, %s, %s::jsonb, now(), false, '', 0) RETURNING \"id\""
    )


def accept(channel_id: int | None, provider: str, payload: dict, *, schema: str | None = None) -> int:
    """Keep a verified delivery in the store's inbox and wake its drain once committed.
    Returns the ``InboundEvent`` id.

    One statement, schema-qualified (``schema``: the store's; default the current one),
    so the platform-wide Meta webhook never switches the connection's search path.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    schema = schema or connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(schema), [channel_id, provider, json.dumps(payload)])
        event_id = cursor.fetchone()[0]
    if connection.in_atomic_block:
        transaction.on_commit(lambda: wake(schema))
    else:  # autocommit (the webhook's request): the row is committed already
        wake(schema)
    return event_id


def wake(schema: str, *, force: bool = False) -> bool:
    """Enqueue the store's drain unless one is already on its way (``force``: enqueue
    anyway). True when a drain was enqueued. A broker or Redis failure is logged, not
    raised: the delivery is stored, and the beat's sweep drains it."""
    from channels import tasks

    try:
        if not force and not redis_client().set(_wake_key(schema), "1", nx=True, ex=settings.CHANNELS_INBOX_WAKE_SECONDS):
            return False
        tasks.drain_inbox.apply_async(headers={"_schema_name": schema})
        return True
    except Exception:  # noqa: BLE001 (any broker error: the sweep drains it)
        logger.exception("channels.inbox.wake_failed", extra={"schema": schema})
        try:
            redis_client().delete(_wake_key(schema))  # the next delivery tries again
        except redis.RedisError:
            pass
        return False


def _pending():
    now = timezone.now()
    return InboundEvent.objects.filter(processed=False, failed_at__isnull=True).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


# Deliveries processed in one transaction (each in its own savepoint): one commit, and so
# one WAL flush, per this many instead of per delivery.
DELIVERIES_PER_TRANSACTION = 20


def drain_inbox(*, limit: int | None = None) -> int | None:
    """Process the current store's pending deliveries in arrival order.

    Returns how many it processed, or None when another drain of this store holds the
    lock (the caller retries shortly: the delivery that woke it must not wait for the
    next one). ``limit`` stops after that many (tests, the admin).
    """
    schema = connection.schema_name
    lock_key = f"atendo.inbox:{schema}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [lock_key])
        if not cursor.fetchone()[0]:
            return None
    done = 0
    try:
        try:
            # Before looking: a delivery stored after this enqueues a drain of its own.
            redis_client().delete(_wake_key(schema))
        except redis.RedisError:
            logger.warning("channels.inbox.flag_not_cleared", extra={"schema": schema})
        while limit is None or done < limit:
            size = DELIVERIES_PER_TRANSACTION if limit is None else min(DELIVERIES_PER_TRANSACTION, limit - done)
            with transaction.atomic():
                events = list(_pending().select_for_update(of=("self",)).select_related("channel").order_by("pk")[:size])
                for event in events:
                    _process(event)
            if not events:
                break
            done += len(events)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock_key])
    return done


def _process(event: InboundEvent) -> bool:
    """Act on a locked delivery and mark it processed, inside the caller's transaction. A
    failure rolls the delivery's effects back (its savepoint), records the error and
    schedules the next attempt (or, after the last one, marks it failed)."""
    now = timezone.now()
    event.attempts += 1
    try:
        with transaction.atomic():
            note = _act(event)
    except Exception as exc:  # any failure of a delivery's processing is retried, then kept
        event.error = f"{type(exc).__name__}: {exc}"[:5000]
        if event.attempts >= settings.CHANNELS_INBOX_MAX_ATTEMPTS:
            event.failed_at, event.next_attempt_at = now, None
            logger.exception("channels.inbox.failed", extra={"event_id": event.pk, "attempts": event.attempts})
        else:
            delay = settings.CHANNELS_INBOX_RETRY_SECONDS * 2 ** (event.attempts - 1)
            event.next_attempt_at = now + timedelta(seconds=delay)
            logger.warning("channels.inbox.retry", exc_info=True,
                           extra={"event_id": event.pk, "attempts": event.attempts, "in_seconds": delay})
            _retry_later(delay)
        event.save(update_fields=["attempts", "error", "next_attempt_at", "failed_at"])
        return False
    event.processed, event.processed_at, event.next_attempt_at = True, now, None
    event.error = note
    event.save(update_fields=["processed", "processed_at", "attempts", "error", "next_attempt_at"])
    return True


def _retry_later(delay: float) -> None:
    from channels import tasks

    _on_commit_enqueue(tasks.drain_inbox, [], countdown=delay + 0.1)


def _act(event: InboundEvent) -> str:
    """The delivery's effects through the ingest functions. Returns a note for the event
    ("" when all went as usual)."""
    channel = event.channel
    if channel is None or not channel.active:
        # Removed or switched off after the webhook accepted the delivery.
        logger.warning("channels.inbox.channel_gone", extra={"event_id": event.pk, "provider": event.provider})
        return "The channel was removed or switched off before this delivery was processed; nothing was stored."
    payload = event.payload
    if event.provider in META_PROVIDERS:
        for batch in inbound.parse_meta_payload(payload):
            ingest_meta_batch(channel, batch)
    elif event.provider == "chatwoot":
        ingest_chatwoot_event(channel, inbound.parse_chatwoot_payload(payload), payload)
    elif event.provider == "evolution":
        ingest_messages(channel, inbound.parse_evolution_payload(payload))
    elif event.provider == "wuzapi":
        messages, statuses = inbound.parse_wuzapi_event(payload)
        ingest_messages(channel, messages, statuses)
    else:
        raise ValueError(f"unknown provider {event.provider!r}")
    return ""


def process_again(event_ids) -> int:
    """Staff: give failed (or waiting) deliveries another round now. Returns how many."""
    count = InboundEvent.objects.filter(pk__in=list(event_ids), processed=False).update(
        failed_at=None, next_attempt_at=None
    )
    if count:
        schema = connection.schema_name
        transaction.on_commit(lambda: wake(schema, force=True))
    return count


def has_due_deliveries(*, older_than_seconds: float = 10.0) -> bool:
    """Whether the store has deliveries a drain should have taken by now (the sweep)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return _pending().filter(Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True, received_at__lte=cutoff)).exists()
