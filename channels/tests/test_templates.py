"""WhatsApp message templates: synced from the Graph API, the only message allowed outside
the 24-hour customer-service window, sent in Meta's template wire format."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels import services
from channels.inbound import InboundMessage
from channels.models import Channel, Direction, InboundEvent, Message, MessageStatus, MessageTemplate
from channels.tests.conftest import enqueued, post_meta
from channels.tests.fake_providers import fixture
from tenants.api_keys import create_api_key

WABA_ID = "102290129340398"
ORDER_READY = {
    "id": "594425479261596", "name": "order_ready", "language": "pt_BR", "status": "APPROVED",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Olá {{1}}, seu pedido {{2}} está pronto para retirada!",
                    "example": {"body_text": [["Ana", "#1042"]]}}],
}
TEMPLATES = [
    ORDER_READY,
    {"id": "1", "name": "order_ready", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready!"}]},
    {"id": "2", "name": "black_friday", "language": "pt_BR", "status": "PENDING", "category": "MARKETING",
     "components": [{"type": "BODY", "text": "Até 50% off!"}]},
    {"id": "3", "name": "old_promo", "language": "pt_BR", "status": "REJECTED", "category": "MARKETING",
     "components": []},
    {"id": "4", "name": "follow_up", "language": "pt_BR", "status": "APPROVED", "category": "MARKETING",
     "components": [{"type": "BODY", "text": "Ainda tem interesse?"}]},
]
ORDER_READY_CALL = {
    "name": "order_ready", "language": "pt_BR",
    "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#1042"}]}],
}


@pytest.fixture
def waba_channel(whatsapp_channel, provider):
    whatsapp_channel.config["business_account_id"] = WABA_ID
    whatsapp_channel.save(update_fields=["config"])
    provider.templates = list(TEMPLATES)
    return whatsapp_channel


@pytest.fixture
def api_key(store):
    return create_api_key(store, "erp", ["app", "read"]).key


def _api(client, store, key, method: str, path: str, body: dict | None = None):
    call = client.post if method == "POST" else client.get
    kwargs = {"content_type": "application/json"} if method == "POST" else {}
    response = call(path, body or {}, HTTP_HOST="store-a.localhost", HTTP_AUTHORIZATION=f"Bearer {key}", **kwargs)
    connection.set_tenant(store)
    return response


def _customer_wrote(channel, hours_ago: float) -> None:
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id="wamid.in", contact_id="5511988887777", text="oi")
    ).message
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))


def test_templates_are_synced_from_the_graph_api_across_pages(store, waba_channel, provider):
    result = services.sync_templates(waba_channel.pk)

    assert (result.created, result.updated, result.removed) == (5, 0, 0)
    pages = [r for r in provider.requests if "/message_templates" in r.path]
    assert len(pages) == 3  # two per page, following the cursors
    assert pages[0].path.startswith(f"/v24.0/{WABA_ID}/message_templates?")
    assert pages[0].headers["authorization"] == "Bearer EAAG-test-token"
    rows = {(t.name, t.language): (t.status, t.category) for t in MessageTemplate.objects.all()}
    assert rows[("order_ready", "pt_BR")] == ("APPROVED", "UTILITY")
    assert rows[("black_friday", "pt_BR")] == ("PENDING", "MARKETING")

    provider.templates = [dict(ORDER_READY, status="PAUSED")]
    again = services.sync_templates(waba_channel.pk)

    assert (again.created, again.updated, again.removed) == (0, 1, 4)
    assert [(t.name, t.status) for t in MessageTemplate.objects.all()] == [("order_ready", "PAUSED")]


def test_outside_the_window_an_approved_template_is_sent_in_the_graph_api_template_format(
        client, store, waba_channel, provider, api_key, django_capture_on_commit_callbacks):
    services.sync_templates(waba_channel.pk)
    _customer_wrote(waba_channel, hours_ago=30)
    body = {"channel_id": waba_channel.pk, "to": "+5511988887777", "template": ORDER_READY_CALL,
            "idempotency_key": "order-1042-ready"}

    with django_capture_on_commit_callbacks() as callbacks:
        refused = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                       {"channel_id": waba_channel.pk, "to": "5511988887777", "text": "Seu pedido está pronto"})
        first = _api(client, store, api_key, "POST", "/api/v1/messages/send", body)
        again = _api(client, store, api_key, "POST", "/api/v1/messages/send", body)

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "outside_customer_service_window"
    assert "order_ready (pt_BR)" in error["message"] and "follow_up (pt_BR)" in error["message"]
    assert "black_friday" not in error["message"]  # pending: not offered
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert len(enqueued(callbacks, "channels.deliver_message")) == 1

    message = Message.objects.get(direction=Direction.OUT)
    assert message.text == "Olá Ana, seu pedido #1042 está pronto para retirada!"
    delivery = services.deliver(message.pk)

    (sent,) = [r for r in provider.requests if r.method == "POST"]
    assert sent.path == "/v24.0/1122334455667/messages"
    assert sent.body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511988887777",
        "type": "template",
        "template": {"name": "order_ready", "language": {"code": "pt_BR"},
                     "components": ORDER_READY_CALL["components"]},
    }
    assert delivery.message.status == MessageStatus.SENT
    assert delivery.message.provider_message_id.startswith("wamid.FAKE")


@pytest.mark.parametrize(("call", "code", "words"), [
    ({"name": "black_friday", "language": "pt_BR"}, "template_not_approved", "PENDING"),
    ({"name": "order_ready", "language": "es_ES"}, "unknown_template", "order_ready (pt_BR)"),
    ({"name": "nope", "language": "pt_BR"}, "unknown_template", "Approved templates"),
])
def test_a_template_that_is_not_approved_or_not_known_is_refused(client, store, waba_channel, api_key,
                                                                call, code, words):
    services.sync_templates(waba_channel.pk)

    response = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                    {"channel_id": waba_channel.pk, "to": "5511988887777", "template": call})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert list(error["fields"]) == ["template"]
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_text_and_template_together_or_neither_is_a_400_naming_the_field(client, store, waba_channel, api_key):
    both = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                {"channel_id": waba_channel.pk, "to": "55119", "text": "oi", "template": ORDER_READY_CALL})
    neither = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                   {"channel_id": waba_channel.pk, "to": "55119"})
    nameless = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                    {"channel_id": waba_channel.pk, "to": "55119", "template": {"language": "pt_BR"}})

    assert (both.status_code, neither.status_code, nameless.status_code) == (400, 400, 400)
    assert "template" in both.json()["error"]["fields"]
    assert "text" in neither.json()["error"]["fields"]
    assert "template" in nameless.json()["error"]["fields"]


def test_templates_are_whatsapp_only(client, store, provider, api_key):
    web = services.create_channel(kind="api", name="Web")

    response = _api(client, store, api_key, "POST", "/api/v1/messages/send",
                    {"channel_id": web.pk, "to": "visitor-1", "template": ORDER_READY_CALL})
    sync = _api(client, store, api_key, "POST", f"/api/v1/channels/{web.pk}/templates/sync")

    assert response.json()["error"]["code"] == "templates_not_supported"
    assert sync.json()["error"]["code"] == "templates_not_supported"


def test_the_api_syncs_and_lists_a_channels_templates(client, store, waba_channel, api_key):
    synced = _api(client, store, api_key, "POST", f"/api/v1/channels/{waba_channel.pk}/templates/sync")
    listed = _api(client, store, api_key, "GET", f"/api/v1/channels/{waba_channel.pk}/templates")

    assert synced.status_code == 200
    assert synced.json()["created"] == 5
    assert listed.status_code == 200
    first = listed.json()[0]
    assert (first["name"], first["language"], first["status"], first["category"]) == (
        "black_friday", "pt_BR", "PENDING", "MARKETING")
    assert {t["name"] for t in listed.json()} == {"black_friday", "follow_up", "old_promo", "order_ready"}


def test_a_channel_without_its_business_account_id_says_so(client, store, whatsapp_channel, api_key):
    response = _api(client, store, api_key, "POST", f"/api/v1/channels/{whatsapp_channel.pk}/templates/sync")

    assert response.status_code == 400
    assert "business_account_id" in response.json()["error"]["message"]
    assert Channel.objects.get(pk=whatsapp_channel.pk).templates.count() == 0


def test_staff_sync_templates_from_the_channel_list_and_see_them_in_the_console(client, store, waba_channel):
    from django.contrib.auth import get_user_model

    from conftest import STORE_A

    client.force_login(get_user_model().objects.get(username=STORE_A["owner_email"]))
    done = client.post("/admin/channels/channel/", {"action": "sync_templates", "_selected_action": [waba_channel.pk]},
                       HTTP_HOST="store-a.localhost", follow=True)
    listing = client.get("/admin/channels/messagetemplate/", HTTP_HOST="store-a.localhost")
    connection.set_tenant(store)

    assert "5 new, 0 updated, 0 removed" in done.content.decode()
    assert listing.status_code == 200
    assert "order_ready" in listing.content.decode() and "black_friday" in listing.content.decode()


def test_staff_cannot_send_free_text_from_the_console_once_the_window_closed(client, store, whatsapp_channel):
    from django.contrib.auth import get_user_model

    from channels.models import Conversation
    from channels.tests.test_admin import _inline_management
    from conftest import STORE_A

    _customer_wrote(whatsapp_channel, hours_ago=26)
    conversation = Conversation.objects.get()
    client.force_login(get_user_model().objects.get(username=STORE_A["owner_email"]))

    response = client.post(f"/admin/channels/conversation/{conversation.pk}/change/",
                           {"staff_message": "Oi Ana, ainda tem interesse?", **_inline_management()},
                           HTTP_HOST="store-a.localhost",
                           follow=True)
    connection.set_tenant(store)

    assert "customer-service window is closed" in response.content.decode()
    assert not Message.objects.filter(direction=Direction.OUT).exists()


# --- Meta's message_template_status_update webhook -------------------------------------


def test_metas_template_status_webhook_updates_the_template_on_every_channel_of_the_account(
    client, store, waba_channel
):
    services.sync_channel_routes(waba_channel)  # what saving the channel in the admin does
    services.sync_templates(waba_channel.pk)
    paused = fixture("whatsapp/template_status_update.json")  # Meta's reference shape, our ids

    assert post_meta(client, store, paused).status_code == 200

    template = MessageTemplate.objects.get(name="order_ready", language="pt_BR")
    assert (template.status, template.status_reason, template.approved) == ("PAUSED", "LOW_QUALITY", False)
    assert MessageTemplate.objects.get(name="order_ready", language="en_US").status == "APPROVED"

    # Approved again, matched by name and language when Meta's id is not the stored one.
    approved = copy.deepcopy(paused)
    approved["entry"][0]["changes"][0]["value"].update(event="APPROVED", reason="NONE", message_template_id=77777)
    approved["entry"][0]["changes"][0]["value"]["message_template_name"] = "black_friday"
    post_meta(client, store, approved)
    black_friday = MessageTemplate.objects.get(name="black_friday")
    assert (black_friday.status, black_friday.status_reason) == ("APPROVED", "")


def test_a_template_webhook_for_an_account_nobody_connected_is_acknowledged_and_ignored(
    client, store, waba_channel
):
    services.sync_templates(waba_channel.pk)
    payload = fixture("whatsapp/template_status_update.json")
    payload["entry"][0]["id"] = "999999999"

    assert post_meta(client, store, payload).status_code == 200
    assert not InboundEvent.objects.exists()
    assert MessageTemplate.objects.get(name="order_ready", language="pt_BR").status == "APPROVED"


def test_a_template_quality_change_leaves_the_status_alone(client, store, waba_channel):
    services.sync_channel_routes(waba_channel)
    services.sync_templates(waba_channel.pk)
    payload = fixture("whatsapp/template_status_update.json")
    payload["entry"][0]["changes"][0]["value"] = {
        "previous_quality_score": "GREEN", "new_quality_score": "YELLOW",
        "message_template_id": 594425479261596, "message_template_name": "order_ready",
        "message_template_language": "pt-BR"}

    assert post_meta(client, store, payload).status_code == 200
    assert InboundEvent.objects.get().processed
    assert MessageTemplate.objects.get(name="order_ready", language="pt_BR").status == "APPROVED"
