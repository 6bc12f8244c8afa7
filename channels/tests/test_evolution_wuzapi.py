"""Evolution API and WuzAPI: per-channel webhooks on the store's domain, their send APIs."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from agents.turns import TurnResult
from channels import services
from channels.inbound import hmac_sha256_hex
from channels.models import Direction, Message
from channels.tests.conftest import drain
from channels.tests.fake_providers import fixture, fixture_bytes


def test_an_evolution_messages_upsert_is_stored_and_answered_through_send_text(client, store, provider):
    channel = services.create_channel(kind="evolution", name="Evolution", config={
        "base_url": provider.url, "instance": "store1", "apikey": "00000000-0000-4000-8000-000000000001"})
    payload = fixture("evolution/messages_upsert_incoming_text.json")

    response = client.post(f"/webhooks/evolution/{channel.pk}/", data=json.dumps(payload),
                           content_type="application/json", HTTP_HOST="store-a.localhost")
    drain(store)

    assert response.status_code == 200
    message = Message.objects.get()
    assert (message.text, message.provider_message_id, message.conversation.contact_id) == (
        "hola - text", "3EB03E3CA617ADA52AEA79", "59170000001")
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="¡Hola Carlos!"))
    services.deliver(Message.objects.get(direction=Direction.OUT).pk)
    (request,) = provider.requests
    assert (request.path, request.headers["apikey"], request.body) == (
        "/message/sendText/store1", "00000000-0000-4000-8000-000000000001",
        {"number": "59170000001", "text": "¡Hola Carlos!"})


def test_an_evolution_webhook_with_another_apikey_is_refused(client, store):
    channel = services.create_channel(kind="evolution", name="Evolution", config={"apikey": "right"})
    payload = fixture("evolution/messages_upsert_incoming_text.json")

    response = client.post(f"/webhooks/evolution/{channel.pk}/", data=json.dumps(payload),
                           content_type="application/json", HTTP_HOST="store-a.localhost")
    drain(store)

    assert response.status_code == 401
    assert not Message.objects.exists()


def _wuzapi_form(token: str) -> bytes:
    event = json.loads(fixture_bytes("wuzapi/message_event.json"))
    return urlencode(sorted({"jsonData": json.dumps({"type": "Message", "event": event}),
                             "token": token}.items())).encode()


def test_a_signed_wuzapi_message_is_stored_and_a_forged_one_refused(client, store, provider):
    key = "k" * 32
    channel = services.create_channel(kind="wuzapi", name="WuzAPI", config={
        "base_url": provider.url, "token": "user-token", "hmac_key": key})
    body = _wuzapi_form("user-token")

    def post(signature: str):
        response = client.post(f"/webhooks/wuzapi/{channel.pk}/", data=body,
                               content_type="application/x-www-form-urlencoded",
                               HTTP_HOST="store-a.localhost", HTTP_X_HMAC_SIGNATURE=signature)
        drain(store)
        return response

    assert post("0" * 64).status_code == 401
    assert not Message.objects.exists()
    assert post(hmac_sha256_hex(key, body)).status_code == 200

    message = Message.objects.get()
    assert (message.text, message.provider_message_id, message.conversation.contact_id,
            message.conversation.contact_name) == ("Hello world!", "12345678901234567890123456789012",
                                                   "123456789", "Jow Blow")
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="Hi!"))
    reply = Message.objects.get(direction=Direction.OUT)
    services.deliver(reply.pk)
    (request,) = provider.requests
    assert (request.path, request.headers["token"]) == ("/chat/send/text", "user-token")
    assert request.body == {"Phone": "123456789", "Body": "Hi!", "Id": reply.idempotency_key}
