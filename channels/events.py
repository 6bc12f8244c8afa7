"""The store's events: signed webhooks to its own endpoints and a live stream (SSE).

``emit(event, data)`` records one delivery per subscribed endpoint and, once the
transaction commits, enqueues them and publishes the event on the store's Redis pub/sub
channel, which ``GET /api/v1/events/stream`` relays to dashboards (several web processes
see the same events).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from channels.errors import ChannelError
from channels.inbound import hmac_sha256_hex
from channels.models import (
    EventKind,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)

_redis: redis.Redis | None = None


class WebhookDeliveryFailed(ChannelError):
    code = "webhook_delivery_failed"


def redis_client() -> redis.Redis:
    """The process's Redis client of the channels app (live events, the inbox's wake-ups)."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    return _redis


# schema -> (read at, [(subscription id, events)]): the webhook fast path should not query
# subscriptions on every message. Saving or deleting one forgets this process's copy at
# once (``forget_subscriptions``); other processes see the change within the TTL.
_SUBSCRIPTIONS_TTL = 10.0
_subscription_cache: dict[str, tuple[float, list[tuple[int, list[str]]]]] = {}


def _subscriptions(schema: str) -> list[tuple[int, list[str]]]:
    cached = _subscription_cache.get(schema)
    if cached is not None and time.monotonic() - cached[0] < _SUBSCRIPTIONS_TTL:
        return cached[1]
    rows = [(pk, list(events or [])) for pk, events in
            WebhookSubscription.objects.filter(active=True).values_list("pk", "events")]
    _subscription_cache[schema] = (time.monotonic(), rows)
    return rows


def forget_subscriptions(**kwargs) -> None:
    _subscription_cache.clear()


def stream_name(schema_name: str) -> str:
    return f"atendo:events:{schema_name}"


def emit(event: str, data: dict[str, Any]) -> str:
    """Announce ``event`` to the store's subscribed endpoints and live dashboards.

    Nothing leaves before the current transaction commits (a rolled-back change emits
    nothing). Returns the event id receivers deduplicate by.
    """
    if event not in EventKind.values:
        raise ValueError(f"unknown event {event!r}")
    event_id = uuid.uuid4().hex
    payload = {"id": event_id, "event": event, "created_at": timezone.now().isoformat(), "data": data}
    schema = connection.schema_name
    listening = [pk for pk, names in _subscriptions(schema) if event in names]
    deliveries = [
        WebhookDelivery.objects.create(subscription=subscription, event_id=event_id, event=event, payload=payload)
        # Re-read: the cached list only says whether to look (it may be seconds old).
        for subscription in (WebhookSubscription.objects.filter(pk__in=listening, active=True) if listening else ())
    ]

    def after_commit() -> None:
        from channels import tasks

        for delivery in deliveries:
            tasks.deliver_webhook.apply_async(args=[delivery.pk], headers={"_schema_name": schema})
        try:
            redis_client().publish(stream_name(schema), json.dumps(payload))
        except redis.RedisError:
            logger.warning("channels.events.publish_failed", extra={"event": event})

    transaction.on_commit(after_commit)
    return event_id


def signature_headers(secret: str, body: bytes, *, event: str, delivery_id: str,
                      timestamp: int | None = None) -> dict[str, str]:
    """``X-Atendo-Signature: sha256=<hex>`` = HMAC-SHA256(secret, "{timestamp}.{body}");
    receivers check it and that ``X-Atendo-Timestamp`` is recent (replays are refused)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "Atendo-Webhooks/1",
        "X-Atendo-Event": event,
        "X-Atendo-Delivery": delivery_id,
        "X-Atendo-Timestamp": str(timestamp),
        "X-Atendo-Signature": "sha256=" + hmac_sha256_hex(secret, f"{timestamp}.".encode() + body),
    }


def deliver_webhook(delivery_id: int) -> WebhookDelivery | None:
    """POST one delivery to its endpoint and log the attempt (status, milliseconds, error).

    A 2xx marks it delivered. Any other answer or a network error raises
    ``WebhookDeliveryFailed`` for the task to retry with backoff, until
    ``CHANNELS_EVENT_MAX_ATTEMPTS`` attempts, after which it is marked failed (replayable
    from the admin). At-least-once: receivers deduplicate by ``X-Atendo-Delivery``.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().select_related("subscription")
            .filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status != WebhookDeliveryStatus.PENDING:
            return delivery
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = signature_headers(subscription.secret, body, event=delivery.event, delivery_id=delivery.event_id)
    started = time.monotonic()
    status, error = None, ""
    try:
        response = httpx.post(subscription.url, content=body, headers=headers,
                              timeout=settings.CHANNELS_EVENT_TIMEOUT)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:300]}"
    except httpx.HTTPError as exc:
        error = f"{exc.__class__.__name__}: {exc}"
    ms = int((time.monotonic() - started) * 1000)
    ok = not error
    final = ok or delivery.attempts >= settings.CHANNELS_EVENT_MAX_ATTEMPTS
    now = timezone.now()
    delivery.log = [*delivery.log, {"at": now.isoformat(), "attempt": delivery.attempts, "status": status,
                                    "ms": ms, "error": error}]
    delivery.response_status, delivery.response_ms, delivery.error = status, ms, error
    fields = ["log", "response_status", "response_ms", "error"]
    if ok:
        delivery.status, delivery.delivered_at = WebhookDeliveryStatus.DELIVERED, now
        fields += ["status", "delivered_at"]
    elif final:
        delivery.status = WebhookDeliveryStatus.FAILED
        fields.append("status")
    delivery.save(update_fields=fields)
    if not final:
        raise WebhookDeliveryFailed(error)
    return delivery


def replay(delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again (same event id) as a new delivery."""
    original = WebhookDelivery.objects.get(pk=delivery_id)
    schema = connection.schema_name
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            subscription_id=original.subscription_id, event_id=original.event_id, event=original.event,
            payload=original.payload,
        )
        from channels import tasks

        transaction.on_commit(
            lambda: tasks.deliver_webhook.apply_async(args=[copy.pk], headers={"_schema_name": schema})
        )
    return copy


def stream(schema_name: str, *, heartbeat: float | None = None, max_seconds: float | None = None) -> Iterator[str]:
    """Server-sent events of one store, as text chunks, until ``max_seconds`` (None: forever).

    Subscribes before yielding its first chunk, so an event published after that is seen.
    """
    heartbeat = settings.CHANNELS_SSE_HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(stream_name(schema_name))
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        yield "retry: 3000\n\n"
        while deadline is None or time.monotonic() < deadline:
            message = pubsub.get_message(timeout=heartbeat)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            payload = json.loads(message["data"])
            yield f"id: {payload['id']}\nevent: {payload['event']}\ndata: {json.dumps(payload)}\n\n"
    finally:
        pubsub.close()
