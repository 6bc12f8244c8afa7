"""The store console: channels with their webhook URL, conversations as threads, handoff."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from channels import services
from channels.inbound import InboundMessage
from channels.models import (
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
)
from conftest import STORE_A

HOST = "store-a.localhost"


@pytest.fixture
def staff(client, store):
    client.force_login(get_user_model().objects.get(username=STORE_A["owner_email"]))
    return client


def _get(client, store, url):
    response = client.get(url, HTTP_HOST=HOST)
    connection.set_tenant(store)
    return response


def test_the_channel_page_shows_the_exact_webhook_urls_and_verify_token(staff, store, whatsapp_channel,
                                                                       chatwoot_channel):
    listing = _get(staff, store, "/admin/channels/channel/")
    whatsapp = _get(staff, store, f"/admin/channels/channel/{whatsapp_channel.pk}/change/")
    chatwoot = _get(staff, store, f"/admin/channels/channel/{chatwoot_channel.pk}/change/")

    assert listing.status_code == 200
    assert "http://localhost/webhooks/meta/" in whatsapp.content.decode()
    assert whatsapp_channel.verify_token in whatsapp.content.decode()
    assert f"http://store-a.localhost/webhooks/chatwoot/{chatwoot_channel.pk}/" in chatwoot.content.decode()
    assert f"http://store-a.localhost/webhooks/chatwoot/{chatwoot_channel.pk}/" in listing.content.decode()


def test_a_channel_added_in_the_admin_is_routed(staff, store, meta_settings):
    from tenants import services as tenant_services

    response = staff.post("/admin/channels/channel/add/", {
        "kind": "whatsapp", "name": "WhatsApp loja", "active": "on",
        "config": '{"phone_number_id": "4440001"}', "verify_token": "vt-1",
        "secret_access_token": "EAAG-from-the-admin",
    }, HTTP_HOST=HOST)
    connection.set_tenant(store)

    assert response.status_code == 302
    from channels.models import Channel
    from channels.secrets import channel_secret

    channel = Channel.objects.get(name="WhatsApp loja")
    assert channel.config == {"phone_number_id": "4440001"}
    assert channel_secret(channel, "access_token") == "EAAG-from-the-admin"
    page = _get(staff, store, f"/admin/channels/channel/{channel.pk}/change/").content.decode()
    assert "EAAG-from-the-admin" not in page and "In the vault: ••••••••dmin" in page
    route = tenant_services.route_for_provider_account("whatsapp", "4440001")
    assert route.tenant.pk == store.pk
    connection.set_tenant(store)


def _conversation(channel) -> Conversation:
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id="wamid.1", contact_id="5511988887777", text="oi")
    ).message
    return message.conversation


def test_a_conversation_reads_as_a_thread_and_can_be_handed_off_and_back(staff, store, whatsapp_channel):
    conversation = _conversation(whatsapp_channel)
    Message.objects.create(conversation=conversation, channel=whatsapp_channel, direction=Direction.OUT,
                           author="agent", text="Olá! Em que posso ajudar?", status=MessageStatus.FAILED,
                           error="HTTP 400: Recipient phone number not in allowed list")

    page = _get(staff, store, f"/admin/channels/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "oi" in html and "Olá! Em que posso ajudar?" in html and "not in allowed list" in html
    assert 'name="_handoff"' in html

    staff.post(f"/admin/channels/conversation/{conversation.pk}/change/",
               {"staff_message": "", "_handoff": "1", **_inline_management()}, HTTP_HOST=HOST)
    connection.set_tenant(store)
    assert Conversation.objects.get().status == ConversationStatus.HUMAN

    staff.post("/admin/channels/conversation/", {"action": "return_to_bot", "_selected_action": [conversation.pk]},
               HTTP_HOST=HOST)
    connection.set_tenant(store)
    assert Conversation.objects.get().status == ConversationStatus.BOT


def test_staff_can_send_a_message_from_the_conversation(staff, store, whatsapp_channel):
    conversation = _conversation(whatsapp_channel)

    response = staff.post(f"/admin/channels/conversation/{conversation.pk}/change/",
                          {"staff_message": "Seu pedido saiu para entrega!", **_inline_management()},
                          HTTP_HOST=HOST)
    connection.set_tenant(store)

    assert response.status_code == 302
    sent = Message.objects.get(direction=Direction.OUT)
    assert (sent.author, sent.text, sent.status) == ("staff", "Seu pedido saiu para entrega!", MessageStatus.QUEUED)


def test_a_failed_message_can_be_retried_from_the_admin(staff, store, whatsapp_channel):
    conversation = _conversation(whatsapp_channel)
    failed = Message.objects.create(conversation=conversation, channel=whatsapp_channel, direction=Direction.OUT,
                                    author="agent", text="Olá!", status=MessageStatus.FAILED, error="HTTP 503")

    staff.post("/admin/channels/message/", {"action": "retry_delivery", "_selected_action": [failed.pk]},
               HTTP_HOST=HOST)
    connection.set_tenant(store)

    failed.refresh_from_db()
    assert (failed.status, failed.error) == (MessageStatus.QUEUED, "")


def _inline_management() -> dict:
    data = {}
    for prefix in ("messages", "turns"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    return data
