"""The store's events: signed webhooks to its endpoints, retries, replay, and the live stream."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from agents.turns import TurnResult
from channels import events, services
from channels.inbound import InboundMessage, hmac_sha256_hex
from channels.models import (
    EventKind,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from tenants.api_keys import create_api_key


class Receiver:
    """The store's own endpoint: answers ``statuses`` in order (then 200), records requests."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(owner.statuses.pop(0) if owner.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/atendo"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _say(channel, wamid="wamid.1"):
    return services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id="5511988887777", text="oi")
    ).message


def test_subscribed_events_are_recorded_once_per_endpoint(store, whatsapp_channel, receiver):
    WebhookSubscription.objects.create(url=receiver.url, events=["message.received", "conversation.handoff"])
    WebhookSubscription.objects.create(url=receiver.url + "/orders", events=["order.paid"])

    message = _say(whatsapp_channel)
    services.handoff(message.conversation_id, "needs a person")

    # lead.created happened too, but nobody subscribed to it.
    assert sorted(WebhookDelivery.objects.values_list("event", flat=True)) == [
        "conversation.handoff", "message.received"]
    received = WebhookDelivery.objects.get(event=EventKind.MESSAGE_RECEIVED)
    assert received.payload["data"]["text"] == "oi"
    assert received.payload["data"]["conversation_id"] == message.conversation_id


def test_a_delivery_is_signed_with_a_timestamp(store, whatsapp_channel, receiver):
    subscription = WebhookSubscription.objects.create(url=receiver.url, events=["message.received"])
    _say(whatsapp_channel)
    delivery = WebhookDelivery.objects.get()

    done = events.deliver_webhook(delivery.pk)

    ((headers, body),) = receiver.requests
    assert json.loads(body) == delivery.payload
    assert headers["x-atendo-event"] == "message.received"
    assert headers["x-atendo-delivery"] == delivery.event_id
    timestamp = headers["x-atendo-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac_sha256_hex(subscription.secret, f"{timestamp}.".encode() + body)
    assert headers["x-atendo-signature"] == f"sha256={expected}"
    assert (done.status, done.attempts, done.response_status) == (WebhookDeliveryStatus.DELIVERED, 1, 200)
    assert done.log[0]["status"] == 200 and done.log[0]["ms"] >= 0


def test_a_failing_endpoint_is_retried_then_marked_failed_and_can_be_replayed(store, whatsapp_channel, settings):
    settings.CHANNELS_EVENT_MAX_ATTEMPTS = 3
    receiver = Receiver(statuses=[500, 503, 502])
    try:
        WebhookSubscription.objects.create(url=receiver.url, events=["message.received"])
        _say(whatsapp_channel)
        delivery = WebhookDelivery.objects.get()

        for _ in range(2):
            with pytest.raises(events.WebhookDeliveryFailed):
                events.deliver_webhook(delivery.pk)
        failed = events.deliver_webhook(delivery.pk)
        assert (failed.status, failed.attempts) == (WebhookDeliveryStatus.FAILED, 3)
        assert [entry["status"] for entry in failed.log] == [500, 503, 502]

        again = events.replay(delivery.pk)
        delivered = events.deliver_webhook(again.pk)
        assert delivered.status == WebhookDeliveryStatus.DELIVERED
        assert delivered.event_id == delivery.event_id
        assert len(receiver.requests) == 4
    finally:
        receiver.close()


def test_sent_and_failed_replies_and_new_leads_are_events(store, whatsapp_channel, provider, receiver):
    WebhookSubscription.objects.create(url=receiver.url, events=["message.sent", "message.failed", "lead.created"])
    message = _say(whatsapp_channel)
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="olá"))
    from channels.models import Message

    services.deliver(Message.objects.get(direction="out").pk)
    provider.failures = [(400, {"error": {"message": "bad number", "code": 131026}})]
    failing = services.send_message(message.conversation_id, "segunda mensagem")
    services.deliver(failing.pk)

    assert list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "lead.created", "message.sent", "message.failed"]


def test_the_event_stream_relays_events_live(client, store, whatsapp_channel, settings,
                                              django_capture_on_commit_callbacks):
    settings.CHANNELS_SSE_HEARTBEAT_SECONDS = 0.2
    key = create_api_key(store, "dashboard", ["read"]).key
    response = client.get("/api/v1/events/stream", HTTP_HOST="store-a.localhost",
                          HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT="text/event-stream",
                          HTTP_ACCEPT_ENCODING="gzip, deflate, br")  # as a browser asks
    connection.set_tenant(store)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert not response.has_header("Content-Encoding")  # each event leaves at once, uncompressed
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 3000\n\n"  # subscribed

    with django_capture_on_commit_callbacks(execute=True):
        _say(whatsapp_channel)

    seen = b""
    for _ in range(20):
        seen += next(chunks)
        if b"event: message.received" in seen:
            break
    blocks = [b for b in seen.decode().split("\n\n") if b.startswith("id: ")]
    by_event = {line.split(": ", 1)[1]: block for block in blocks for line in block.splitlines()
                if line.startswith("event: ")}
    assert set(by_event) == {"lead.created", "message.received"}
    data = json.loads(by_event["message.received"].split("data: ", 1)[1])
    assert data["data"]["text"] == "oi"
    response.close()


def test_the_event_stream_needs_a_key(client, store):
    response = client.get("/api/v1/events/stream", HTTP_HOST="store-a.localhost")
    assert response.status_code == 401
