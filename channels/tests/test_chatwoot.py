"""Chatwoot agent bot: a contact's message starts a turn, staff taking over silences the bot."""

from __future__ import annotations

import copy
import json
import time

from agents.turns import TurnResult
from channels import services
from channels.inbound import hmac_sha256_hex
from channels.models import (
    Conversation,
    ConversationStatus,
    Direction,
    InboundEvent,
    Message,
)
from channels.tests.conftest import bursts, drain, enqueued
from channels.tests.fake_providers import fixture


def _post(client, store, channel, payload, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post(
        f"/webhooks/chatwoot/{channel.pk}/", data=body, content_type="application/json",
        HTTP_HOST="store-a.localhost", **headers,
    )
    drain(store)
    return response


def _signed(secret: str, body: bytes, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "HTTP_X_CHATWOOT_TIMESTAMP": str(timestamp),
        "HTTP_X_CHATWOOT_SIGNATURE": "sha256=" + hmac_sha256_hex(secret, f"{timestamp}.".encode() + body),
    }


def test_a_contact_message_is_stored_and_starts_a_burst(
    client, store, chatwoot_channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as scheduled:
        response = _post(client, store, chatwoot_channel, fixture("chatwoot/message_created_incoming.json"))

    assert response.status_code == 200
    message = Message.objects.get()
    assert (message.text, message.provider_message_id, message.direction) == ("hola", "17547", Direction.IN)
    conversation = message.conversation
    assert (conversation.contact_id, conversation.external_id, conversation.contact_name) == ("89", "25", "Lucía Gómez")
    assert conversation.lead.identities.get().value == "89"
    assert len(bursts(scheduled)) == 1


def test_outgoing_private_and_bot_messages_are_ignored(
    client, store, chatwoot_channel, django_capture_on_commit_callbacks
):
    incoming = fixture("chatwoot/message_created_incoming.json")
    private = dict(incoming, private=True, id=1)
    from_bot = dict(incoming, message_type="outgoing", id=2, sender={"id": 3, "name": "Atendo", "type": "agent_bot"})
    activity = dict(incoming, message_type="activity", id=4)

    with django_capture_on_commit_callbacks() as scheduled:
        for payload in (private, from_bot, activity):
            assert _post(client, store, chatwoot_channel, payload).status_code == 200

    assert not Message.objects.exists()
    assert bursts(scheduled) == []
    assert InboundEvent.objects.count() == 3


def test_a_human_agent_replying_silences_the_bot(client, store, chatwoot_channel, django_capture_on_commit_callbacks):
    incoming = fixture("chatwoot/message_created_incoming.json")
    _post(client, store, chatwoot_channel, incoming)
    staff_reply = dict(incoming, message_type="outgoing", id=17548, content="Oi Lucía, aqui é a Bia!",
                       sender={"id": 7, "name": "Bia", "type": "user"})

    _post(client, store, chatwoot_channel, staff_reply)
    with django_capture_on_commit_callbacks() as scheduled:
        _post(client, store, chatwoot_channel, dict(incoming, id=17549, content="obrigada!"))

    conversation = Conversation.objects.get()
    assert conversation.status == ConversationStatus.HUMAN
    assert conversation.handoff_reason == "A human agent replied in Chatwoot."
    assert Message.objects.filter(direction=Direction.IN).count() == 2  # stored, not answered
    assert bursts(scheduled) == []


def test_a_message_in_an_assigned_open_conversation_is_not_answered(
    client, store, chatwoot_channel, django_capture_on_commit_callbacks
):
    payload = copy.deepcopy(fixture("chatwoot/message_created_incoming.json"))
    payload["conversation"]["status"] = "open"
    payload["conversation"]["meta"]["assignee"] = {"id": 7, "name": "Bia", "type": "user"}

    with django_capture_on_commit_callbacks() as scheduled:
        _post(client, store, chatwoot_channel, payload)

    assert Conversation.objects.get().status == ConversationStatus.HUMAN
    assert bursts(scheduled) == []  # no burst...
    assert enqueued(scheduled, "channels.notify_provider_of_handoff") == []  # ...Chatwoot already knows
    assert Message.objects.count() == 1
    from channels.models import ConversationTurn

    assert not ConversationTurn.objects.exists()


def test_a_signed_webhook_is_verified(client, store, chatwoot_channel):
    chatwoot_channel.config["webhook_secret"] = "cw-secret"
    chatwoot_channel.save()
    body = json.dumps(fixture("chatwoot/message_created_incoming.json")).encode()

    good = _post(client, store, chatwoot_channel, body, **_signed("cw-secret", body))
    forged = _post(client, store, chatwoot_channel, body, **_signed("other-secret", body))
    stale = _post(client, store, chatwoot_channel, body, **_signed("cw-secret", body, int(time.time()) - 3600))
    unsigned = _post(client, store, chatwoot_channel, body)

    assert (good.status_code, forged.status_code, stale.status_code, unsigned.status_code) == (200, 401, 401, 401)
    assert Message.objects.count() == 1 and InboundEvent.objects.count() == 1


def test_an_unknown_channel_is_a_404(client, store, chatwoot_channel):
    response = client.post("/webhooks/chatwoot/999999/", data=b"{}", content_type="application/json",
                           HTTP_HOST="store-a.localhost")
    assert response.status_code == 404


def test_the_reply_goes_through_the_chatwoot_messages_api(client, store, chatwoot_channel, provider):
    _post(client, store, chatwoot_channel, fixture("chatwoot/message_created_incoming.json"))
    message = Message.objects.get()
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="Hello, how can I help you?"))

    reply = Message.objects.get(direction=Direction.OUT)
    delivery = services.deliver(reply.pk)

    (request,) = provider.requests
    assert request.path == "/api/v1/accounts/1/conversations/25/messages"
    assert request.headers["api_access_token"] == "cw-token"
    assert request.body == fixture("chatwoot/send_message_request_body.json")
    assert delivery.message.provider_message_id == "90001"

    # Chatwoot echoes our own reply back as an outgoing message: not a human taking over.
    echo = dict(fixture("chatwoot/message_created_incoming.json"), message_type="outgoing", id=90001,
                content="Hello, how can I help you?", sender={"id": 1, "name": "Atendo", "type": "user"})
    _post(client, store, chatwoot_channel, echo)
    assert Conversation.objects.get().status == ConversationStatus.BOT


def test_handoff_opens_the_conversation_in_chatwoot_and_the_bot_stays_silent(
    client, store, chatwoot_channel, provider, django_capture_on_commit_callbacks
):
    _post(client, store, chatwoot_channel, fixture("chatwoot/message_created_incoming.json"))
    conversation = Conversation.objects.get()

    with django_capture_on_commit_callbacks() as notify:
        services.handoff(conversation.pk, "customer asked for a person")
    assert len(enqueued(notify, "channels.notify_provider_of_handoff")) == 1
    services.notify_provider_of_handoff(conversation.pk, True)  # what the enqueued task does

    (toggle,) = provider.requests
    assert toggle.path == "/api/v1/accounts/1/conversations/25/toggle_status"
    assert toggle.body == fixture("chatwoot/toggle_status_request_body.json")
    assert toggle.headers["api_access_token"] == "cw-token"

    with django_capture_on_commit_callbacks() as scheduled:
        _post(client, store, chatwoot_channel, dict(fixture("chatwoot/message_created_incoming.json"), id=17550))
    assert bursts(scheduled) == []

    services.return_to_bot(conversation.pk)
    services.notify_provider_of_handoff(conversation.pk, False)
    assert provider.requests[-1].body == {"status": "pending"}
    assert Conversation.objects.get().status == ConversationStatus.BOT


def test_handoff_records_a_lead_event(store, chatwoot_channel, client):
    from leads.models import EventKind

    _post(client, store, chatwoot_channel, fixture("chatwoot/message_created_incoming.json"))
    conversation = Conversation.objects.get()

    services.handoff(conversation.pk, "wants to talk about a refund", by="agent")
    services.handoff(conversation.pk, "again", by="agent")  # idempotent

    (event,) = conversation.lead.events.filter(kind=EventKind.HANDOFF)
    assert event.payload == {"reason": "wants to talk about a refund", "by": "agent", "conversation_id": conversation.pk}
