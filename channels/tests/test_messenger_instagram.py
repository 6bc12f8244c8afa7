"""Messenger and Instagram Direct through the same Meta webhook, routed by page / account id."""

from __future__ import annotations

from agents.turns import TurnResult
from channels import services
from channels.models import Direction, Message
from channels.tests.conftest import post_meta


def _messaging(obj: str, account: str, mid: str, text: str) -> dict:
    return {
        "object": obj,
        "entry": [{
            "id": account, "time": 1700000000000,
            "messaging": [{
                "sender": {"id": "24000000000001"}, "recipient": {"id": account}, "timestamp": 1700000000000,
                "message": {"mid": mid, "text": text},
            }],
        }],
    }


def test_messenger_and_instagram_messages_reach_their_channels_and_replies_go_out(
    client, store, provider, meta_settings
):
    config = {"access_token": "page-token", "graph_base_url": provider.url}
    messenger = services.create_channel(kind="messenger", name="Page", config={**config, "page_id": "1010"})
    instagram = services.create_channel(kind="instagram", name="IG", config={**config, "ig_account_id": "2020"})

    assert post_meta(client, store, _messaging("page", "1010", "m_1", "oi pela página")).status_code == 200
    assert post_meta(client, store, _messaging("instagram", "2020", "m_2", "oi pelo insta")).status_code == 200
    echo = _messaging("page", "1010", "m_3", "our own reply")
    echo["entry"][0]["messaging"][0]["message"]["is_echo"] = True
    post_meta(client, store, echo)

    by_channel = dict(Message.objects.values_list("channel_id", "text"))
    assert by_channel == {messenger.pk: "oi pela página", instagram.pk: "oi pelo insta"}
    message = Message.objects.get(channel=messenger)
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="Olá!"))
    services.deliver(Message.objects.get(direction=Direction.OUT).pk)
    (sent,) = provider.requests
    assert sent.path == "/v24.0/1010/messages"
    assert sent.body == {"recipient": {"id": "24000000000001"}, "messaging_type": "RESPONSE",
                         "message": {"text": "Olá!"}}
    assert sent.headers["authorization"] == "Bearer page-token"
