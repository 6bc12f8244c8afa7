"""Replies reach the provider once, with retries on 429/5xx/network, statuses tracked."""

from __future__ import annotations

import pytest

from agents.turns import TurnResult
from channels import outbound, services
from channels.errors import DeliveryError
from channels.inbound import InboundMessage
from channels.models import (
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    TurnStatus,
)
from channels.tests.fake_providers import fixture


def _turn_for(channel, text: str = "oi", wamid: str = "wamid.in1"):
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id="5511988887777", text=text)
    ).message
    return services.close_burst(message.conversation_id, message.pk)


def _reply(channel, text: str = "Olá! Temos sim.") -> Message:
    turn = _turn_for(channel)
    services.run_turn(turn.pk, runner=lambda request: TurnResult(reply=text))
    return Message.objects.get(direction=Direction.OUT, turn=turn)


def test_a_reply_goes_to_the_graph_api_in_its_wire_format(store, whatsapp_channel, provider):
    reply = _reply(whatsapp_channel)

    delivery = services.deliver(reply.pk)

    (request,) = provider.requests
    assert request.path == "/v24.0/1122334455667/messages"
    assert request.headers["authorization"] == "Bearer EAAG-test-token"
    expected = fixture("whatsapp/send_text_request_body.json")
    expected["to"] = "5511988887777"
    expected["text"] = {"preview_url": False, "body": "Olá! Temos sim."}
    assert request.body == expected
    assert delivery.message.status == MessageStatus.SENT
    assert delivery.message.provider_message_id == "wamid.FAKE0001"
    assert delivery.message.sent_at is not None


def test_a_reply_is_sent_once_even_if_the_task_runs_again(store, whatsapp_channel, provider):
    reply = _reply(whatsapp_channel)

    first = services.deliver(reply.pk)
    again = services.deliver(reply.pk)  # a redelivered task, a second worker...

    assert (first.attempted, again.attempted) == (True, False)
    assert len(provider.requests) == 1


def test_a_retried_turn_records_no_second_reply(store, whatsapp_channel, provider):
    turn = _turn_for(whatsapp_channel)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="uma vez"))
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="duas vezes"))  # retried task
    services.record_turn_result(turn.pk, TurnResult(reply="de novo"))  # a late duplicate

    (reply,) = Message.objects.filter(direction=Direction.OUT)
    assert reply.text == "uma vez"
    services.deliver(reply.pk)
    services.deliver(reply.pk)
    assert [r.body["text"]["body"] for r in provider.requests] == ["uma vez"]


def test_a_429_is_retried_and_then_sent(store, whatsapp_channel, provider):
    provider.failures = [(429, {"error": {"message": "(#130429) Rate limit hit", "code": 130429}}),
                         (503, {"error": {"message": "Service temporarily unavailable", "code": 2}})]
    reply = _reply(whatsapp_channel)

    for _ in range(2):
        with pytest.raises(DeliveryError) as failure:
            services.deliver(reply.pk)
        assert failure.value.retryable
        reply.refresh_from_db()
        assert reply.status == MessageStatus.QUEUED
    assert reply.error_code == "2"
    delivery = services.deliver(reply.pk)

    assert delivery.message.status == MessageStatus.SENT
    assert delivery.message.attempts == 3
    assert len(provider.requests) == 3


def test_the_task_retries_with_backoff_until_sent(store, whatsapp_channel, provider, settings):
    from channels import tasks

    settings.CHANNELS_SEND_BACKOFF = 0.01
    provider.failures = [(500, {"error": {"message": "boom", "code": 1}})]
    reply = _reply(whatsapp_channel)

    tasks.deliver_message.apply(args=[reply.pk])

    reply.refresh_from_db()
    assert reply.status == MessageStatus.SENT
    assert len(provider.requests) == 2


def test_a_refused_message_fails_at_once_with_the_error(store, whatsapp_channel, provider):
    provider.failures = [(400, {"error": {"message": "(#131030) Recipient phone number not in allowed list",
                                          "code": 131030}})]
    reply = _reply(whatsapp_channel)

    delivery = services.deliver(reply.pk)

    assert delivery.message.status == MessageStatus.FAILED
    assert delivery.message.error_code == "131030"
    assert "not in allowed list" in delivery.message.error
    assert len(provider.requests) == 1


def test_retries_are_bounded(store, whatsapp_channel, provider, settings):
    settings.CHANNELS_SEND_MAX_RETRIES = 2
    provider.failures = [(502, {"error": {"message": "bad gateway"}})] * 5
    reply = _reply(whatsapp_channel)

    for _ in range(2):
        with pytest.raises(DeliveryError):
            services.deliver(reply.pk)
    final = services.deliver(reply.pk)

    assert final.message.status == MessageStatus.FAILED
    assert len(provider.requests) == 3


def test_an_unreachable_provider_is_a_retryable_failure(store, whatsapp_channel, settings):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    whatsapp_channel.config["graph_base_url"] = f"http://127.0.0.1:{port}"
    whatsapp_channel.save()
    reply = _reply(whatsapp_channel)

    with pytest.raises(DeliveryError) as failure:
        services.deliver(reply.pk)

    assert failure.value.retryable
    reply.refresh_from_db()
    assert reply.status == MessageStatus.QUEUED


def test_a_long_reply_is_split_at_sentences_and_sent_in_order(store, whatsapp_channel, provider, settings):
    settings.CHANNELS_MAX_MESSAGE_CHARS = 60
    text = ("Temos a sapatilha de ponta em todos os tamanhos. " * 3) + "Quer que eu reserve uma para você?"
    turn = _turn_for(whatsapp_channel)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply=text))

    parts = list(Message.objects.filter(turn=turn).order_by("part"))
    assert all(len(p.text) <= 60 for p in parts) and len(parts) == 4
    assert " ".join(p.text for p in parts) == text.strip()
    for part in parts:
        services.deliver(part.pk)
    assert [r.body["text"]["body"] for r in provider.requests] == [p.text for p in parts]


def test_the_handoff_marker_is_removed_and_hands_off(store, whatsapp_channel, provider):
    turn = _turn_for(whatsapp_channel)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="Vou chamar alguém da loja. [HANDOFF]"))

    (reply,) = Message.objects.filter(direction=Direction.OUT)
    assert reply.text == "Vou chamar alguém da loja."
    conversation = Conversation.objects.get()
    assert conversation.status == ConversationStatus.HUMAN
    turn.refresh_from_db()
    assert turn.status == TurnStatus.DONE


def test_a_store_message_is_queued_once_per_idempotency_key(store, whatsapp_channel, provider):
    turn = _turn_for(whatsapp_channel)
    first = services.send_message(turn.conversation_id, "Seu pedido está pronto!", idempotency_key="order-7-ready")
    second = services.send_message(turn.conversation_id, "Seu pedido está pronto!", idempotency_key="order-7-ready")

    assert first.pk == second.pk
    services.deliver(first.pk)
    assert len(provider.requests) == 1


def test_a_channel_without_a_token_fails_the_message_clearly(store, whatsapp_channel, provider):
    whatsapp_channel.config.pop("access_token")
    whatsapp_channel.save()
    reply = _reply(whatsapp_channel)

    delivery = services.deliver(reply.pk)

    assert delivery.message.status == MessageStatus.FAILED
    assert delivery.message.error_code == "channel_misconfigured"
    assert provider.requests == []


def test_outbound_urls_follow_the_channel_config(store, whatsapp_channel):
    assert outbound.graph_url(whatsapp_channel, "1122334455667/messages").endswith("/v24.0/1122334455667/messages")
