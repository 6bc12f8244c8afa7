"""POST /api/v1/messages/send: the store's systems message a contact through a channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels import services
from channels.inbound import InboundMessage
from channels.models import Direction, Message, MessageStatus
from channels.tests.conftest import enqueued
from tenants.api_keys import create_api_key


@pytest.fixture
def api_key(store):
    return create_api_key(store, "erp", ["app"]).key


def _send(client, store, key, **body):
    response = client.post("/api/v1/messages/send", body, content_type="application/json",
                           HTTP_HOST="store-a.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    connection.set_tenant(store)
    return response


def _customer_wrote(channel, when=None):
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id="wamid.in", contact_id="5511988887777", text="oi")
    ).message
    if when is not None:
        Message.objects.filter(pk=message.pk).update(created_at=when)


def test_a_message_inside_the_24_hour_window_is_queued_once(client, store, whatsapp_channel, provider, api_key,
                                                           django_capture_on_commit_callbacks):
    _customer_wrote(whatsapp_channel, timezone.now() - timedelta(hours=23))
    body = {"channel_id": whatsapp_channel.pk, "to": "+5511988887777", "text": "Seu pedido #1042 está pronto!",
            "idempotency_key": "order-1042-ready"}

    with django_capture_on_commit_callbacks() as callbacks:
        first = _send(client, store, api_key, **body)
        again = _send(client, store, api_key, **body)

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert len(enqueued(callbacks, "channels.deliver_message")) == 1
    message = Message.objects.get(direction=Direction.OUT)
    assert (message.author, message.status, message.conversation.contact_id) == ("api", MessageStatus.QUEUED,
                                                                                "5511988887777")
    services.deliver(message.pk)
    assert provider.requests[0].body["text"]["body"] == "Seu pedido #1042 está pronto!"


def test_outside_the_window_the_api_says_only_a_template_can_be_sent(client, store, whatsapp_channel, api_key):
    _customer_wrote(whatsapp_channel, timezone.now() - timedelta(hours=25))

    response = _send(client, store, api_key, channel_id=whatsapp_channel.pk, to="5511988887777", text="Oi!")
    never = _send(client, store, api_key, channel_id=whatsapp_channel.pk, to="5511900000000", text="Oi!")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "outside_customer_service_window"
    assert "template" in error["message"]
    assert never.json()["error"]["code"] == "outside_customer_service_window"
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_an_unknown_channel_is_a_404_and_a_read_key_is_refused(client, store, api_key):
    read_key = create_api_key(store, "dash", ["read"]).key

    assert _send(client, store, api_key, channel_id=99999, to="1", text="x").status_code == 404
    assert _send(client, store, read_key, channel_id=99999, to="1", text="x").status_code == 403



def test_staff_systems_hand_off_and_return_through_the_api(client, store, whatsapp_channel, api_key):
    from channels.models import Conversation, ConversationStatus

    _customer_wrote(whatsapp_channel)
    conversation = Conversation.objects.get()

    def post(path, **body):
        response = client.post(path, body, content_type="application/json", HTTP_HOST="store-a.localhost",
                               HTTP_AUTHORIZATION=f"Bearer {api_key}")
        connection.set_tenant(store)
        return response

    handed = post(f"/api/v1/conversations/{conversation.pk}/handoff", reason="VIP customer")
    assert handed.json() == {"conversation_id": conversation.pk, "status": "human", "handoff_reason": "VIP customer"}
    assert Conversation.objects.get().status == ConversationStatus.HUMAN

    back = post(f"/api/v1/conversations/{conversation.pk}/return-to-bot")
    assert back.json()["status"] == "bot"
    assert post("/api/v1/conversations/999999/handoff").status_code == 404
