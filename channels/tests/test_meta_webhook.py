"""WhatsApp Cloud API webhooks on the platform domain, with Meta's own payloads."""

from __future__ import annotations

import copy
import logging

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from channels import inbound, services
from channels.errors import InvalidSignature
from channels.models import (
    Conversation,
    Direction,
    InboundEvent,
    Message,
    MessageStatus,
)
from channels.tests.conftest import PHONE_NUMBER_ID, bursts, drain, post_meta
from channels.tests.fake_providers import fixture
from leads.models import LeadIdentity


def test_the_meta_sdk_signature_vector_verifies():
    vector = fixture("whatsapp/signature_vector.json")
    inbound.verify_meta_signature(vector["raw_body"].encode(), vector["header_value"], vector["app_secret"])
    with pytest.raises(InvalidSignature):
        inbound.verify_meta_signature(b"test2", vector["header_value"], vector["app_secret"])
    with pytest.raises(InvalidSignature):
        inbound.verify_meta_signature(vector["raw_body"].encode(), vector["header_value"], "OTHER_SECRET")


def test_handshake_echoes_the_challenge_for_a_channel_verify_token(client, store, whatsapp_channel):
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": whatsapp_channel.verify_token}
    response = client.get("/webhooks/meta/", params, HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.content == b"1158201444"

    params["hub.verify_token"] = "not-a-token"
    assert client.get("/webhooks/meta/", params, HTTP_HOST="localhost").status_code == 403


def test_handshake_accepts_the_platform_verify_token(client, public_schema, meta_settings):
    meta_settings.CHANNELS_META_VERIFY_TOKEN = "platform-token"
    params = {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "platform-token"}
    response = client.get("/webhooks/meta/", params, HTTP_HOST="localhost")
    assert (response.status_code, response.content) == (200, b"42")


def test_a_signed_text_message_is_stored_with_its_conversation_and_lead(client, store, whatsapp_channel):
    response = post_meta(client, store, fixture("whatsapp/inbound_text.json"))

    assert response.status_code == 200
    message = Message.objects.get()
    assert (message.direction, message.text, message.provider_message_id, message.status) == (
        Direction.IN, "Body Text", "wamid.xyzxyz", MessageStatus.RECEIVED
    )
    assert message.provider_timestamp.timestamp() == 1697043223
    conversation = message.conversation
    assert (conversation.channel_id, conversation.contact_id, conversation.contact_name) == (
        whatsapp_channel.pk, "972987654321", "Test Name"
    )
    identity = LeadIdentity.objects.get(lead=conversation.lead)
    assert (identity.kind, identity.value) == ("whatsapp", "+972987654321")
    event = InboundEvent.objects.get()
    assert event.processed and event.provider == "whatsapp"
    assert event.payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] == PHONE_NUMBER_ID


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, store, whatsapp_channel):
    body = fixture("whatsapp/inbound_text.json")
    bad = post_meta(client, store, body, signature="sha256=" + "0" * 64)
    missing = post_meta(client, store, body, signature="")

    assert (bad.status_code, missing.status_code) == (401, 401)
    assert bad.json()["error"]["code"] == "invalid_signature"
    assert not Message.objects.exists()
    assert not InboundEvent.objects.exists()
    assert not Conversation.objects.exists()


def test_a_body_signed_before_re_serialisation_is_refused(client, store, whatsapp_channel):
    from channels.tests.conftest import meta_signature

    body = fixture("whatsapp/inbound_text.json")
    import json

    signature = meta_signature(json.dumps(body, indent=2).encode())
    assert post_meta(client, store, json.dumps(body).encode(), signature=signature).status_code == 401
    assert not Message.objects.exists()


def test_malformed_json_is_a_400(client, store, whatsapp_channel):
    response = post_meta(client, store, b'{"object": "whatsapp_business_account", "entry": [')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_payload"
    assert not InboundEvent.objects.exists()


def test_an_unknown_phone_number_id_is_acknowledged_logged_and_not_stored(client, store, whatsapp_channel, caplog):
    payload = copy.deepcopy(fixture("whatsapp/inbound_text.json"))
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999000999"

    with caplog.at_level(logging.WARNING, logger="channels.webhooks"):
        response = post_meta(client, store, payload)

    assert response.status_code == 200
    assert any(r.getMessage() == "channels.meta.unknown_account" and r.account_id == "999000999"
               for r in caplog.records)
    assert not Message.objects.exists()
    assert not InboundEvent.objects.exists()


def test_a_duplicate_delivery_is_stored_once_and_answered_once(
    client, store, whatsapp_channel, django_capture_on_commit_callbacks
):
    payload = fixture("whatsapp/inbound_text.json")
    with django_capture_on_commit_callbacks() as first:
        assert post_meta(client, store, payload).status_code == 200
    with django_capture_on_commit_callbacks() as second:
        assert post_meta(client, store, payload).status_code == 200

    assert Message.objects.count() == 1
    assert InboundEvent.objects.count() == 2  # every delivery is kept as received
    assert len(bursts(first)) == 1  # the burst is scheduled once...
    assert bursts(second) == []  # ...and the redelivery schedules nothing


def test_an_image_is_stored_as_a_reference_with_its_caption(client, store, whatsapp_channel):
    payload = copy.deepcopy(fixture("whatsapp/inbound_image.json"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["caption"] = "this one, size 36?"

    post_meta(client, store, payload)

    message = Message.objects.get()
    assert (message.media_type, message.media_ref, message.media_mime, message.caption, message.text) == (
        "image", "65463453", "image/jpeg", "this one, size 36?", "this one, size 36?"
    )


def test_an_interactive_reply_and_a_reply_with_context(client, store, whatsapp_channel):
    post_meta(client, store, fixture("whatsapp/inbound_interactive_button_reply.json"))
    reply = copy.deepcopy(fixture("whatsapp/inbound_reply_with_context.json"))
    reply["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.second"
    post_meta(client, store, reply)

    button, replied = Message.objects.order_by("pk")
    assert (button.text, button.reply_to_provider_id) == ("title", "wamid.xyzxyz")
    assert (replied.text, replied.reply_to_provider_id) == ("replied text", "wamid.xyzxyz==")
    assert replied.conversation_id == button.conversation_id


def _outbound(channel, provider_id: str, status=MessageStatus.SENT) -> Message:
    conversation = Conversation.objects.create(channel=channel, contact_id="972987654321")
    return Message.objects.create(
        conversation=conversation, channel=channel, direction=Direction.OUT, author="agent",
        text="Olá!", provider_message_id=provider_id, status=status,
    )


def test_statuses_move_the_outbound_message_forward_only(client, store, whatsapp_channel):
    message = _outbound(whatsapp_channel, "wamid.xyzxyz")

    post_meta(client, store, fixture("whatsapp/status_delivered.json"))
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at.timestamp() == 1698266945

    post_meta(client, store, fixture("whatsapp/status_read.json"))
    post_meta(client, store, fixture("whatsapp/status_sent.json"))  # late: must not go back
    message.refresh_from_db()
    assert message.status == MessageStatus.READ
    assert message.read_at.timestamp() == 1689380458
    assert Message.objects.filter(direction=Direction.IN).count() == 0


def test_a_failed_status_records_the_provider_error(client, store, whatsapp_channel):
    message = _outbound(whatsapp_channel, "wamid.xyzxyz")

    post_meta(client, store, fixture("whatsapp/status_failed.json"))

    message.refresh_from_db()
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "130472")
    assert message.error == "Failed to send message because this user's phone number is part of an experiment"


def test_each_entry_goes_to_its_own_store(client, store, other_store, whatsapp_channel):
    with tenant_context(other_store):
        theirs = services.create_channel(kind="whatsapp", name="B", config={"phone_number_id": "5550001"})
    payload = copy.deepcopy(fixture("whatsapp/inbound_text.json"))
    change_b = copy.deepcopy(payload["entry"][0]["changes"][0])
    change_b["value"]["metadata"]["phone_number_id"] = "5550001"
    change_b["value"]["messages"][0]["text"]["body"] = "for store B"
    payload["entry"][0]["changes"].append(change_b)

    assert post_meta(client, store, payload).status_code == 200
    assert drain(other_store) == 1
    connection.set_tenant(store)

    assert list(Message.objects.values_list("text", flat=True)) == ["Body Text"]
    with tenant_context(other_store):
        assert list(Message.objects.values_list("text", "channel_id")) == [("for store B", theirs.pk)]
    connection.set_tenant(store)


def test_a_phone_number_id_cannot_route_to_two_stores(store, other_store, whatsapp_channel):
    from tenants.errors import ProviderAccountTaken

    with tenant_context(other_store), pytest.raises(ProviderAccountTaken):
        services.create_channel(kind="whatsapp", name="B", config={"phone_number_id": PHONE_NUMBER_ID})
    connection.set_tenant(store)
