"""Every change by staff or an API key, and every agent side effect, is in the store's audit log."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from agents import services as agents_services
from agents import vault
from agents.tests.fake_llm import FakeLLMServer, completion, tool_call
from agents.turns import ConversationMessage, TurnRequest
from audit.models import Action, ActorKind, AuditEntry
from catalog.tests.factories import category, product
from channels import services as channels
from channels.inbound import InboundMessage
from conftest import OWNER_PASSWORD, STORE_A
from leads import services as leads
from orders import services as orders
from orders.models import Order
from tenants.tests.api_helpers import api_as, error

HOST = "store-a.localhost"


def _staff_login(client) -> None:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302


def test_a_staff_change_in_the_admin_is_logged_with_before_and_after(client, store):
    shoes = category("Sapatilhas")
    _staff_login(client)

    response = client.post(
        f"/admin/catalog/category/{shoes.pk}/change/",
        {"name": "Sapatilhas de ponta", "slug": "sapatilhas", "parent": ""},
        HTTP_HOST=HOST,
    )

    assert response.status_code == 302
    (entry,) = AuditEntry.objects.filter(object_type="catalog.Category")
    assert entry.action == Action.UPDATE
    assert (entry.actor_kind, entry.actor_label, entry.source) == (ActorKind.USER, STORE_A["owner_email"], "admin")
    assert entry.object_id == str(shoes.pk)
    assert entry.changes == {"name": {"before": "Sapatilhas", "after": "Sapatilhas de ponta"}}
    assert entry.request_id  # the X-Request-ID the response carried

    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/", HTTP_HOST=HOST)
    assert page.status_code == 200
    assert b"Sapatilhas de ponta" in page.content
    assert b'name="_save"' not in page.content  # read-only: nothing to save
    assert client.get("/admin/audit/auditentry/add/", HTTP_HOST=HOST).status_code == 403
    listing = client.get("/admin/audit/auditentry/?action__exact=update", HTTP_HOST=HOST)
    assert listing.status_code == 200 and b"Sapatilhas de ponta" in listing.content


def test_a_staff_deletion_in_the_admin_keeps_what_was_deleted(client, store):
    shoes = category("Sapatilhas")
    _staff_login(client)

    response = client.post(f"/admin/catalog/category/{shoes.pk}/delete/", {"post": "yes"}, HTTP_HOST=HOST)

    assert response.status_code == 302
    (entry,) = AuditEntry.objects.filter(object_type="catalog.Category", action=Action.DELETE)
    assert entry.object_repr == "Sapatilhas"
    assert entry.changes["name"] == {"before": "Sapatilhas"}
    assert entry.changes["slug"] == {"before": "sapatilhas"}


def test_an_api_change_is_logged_with_the_key_and_secrets_are_masked(client, store):
    api = api_as(client, "store-a", ["app"])
    created = api.post("api-keys", {"name": "erp", "scopes": ["webhook"]})
    assert created.status_code == 201

    (entry,) = AuditEntry.objects.filter(object_type="tenants.ApiKey", action=Action.CREATE)
    assert entry.actor_kind == ActorKind.API_KEY
    assert entry.actor_label.startswith("test (atd_")
    assert entry.source == "api"
    assert entry.changes["name"] == {"after": "erp"}
    assert entry.changes["scopes"] == {"after": ["webhook"]}
    assert entry.changes["secret_hash"] == {"after": "***"}

    assert api.delete(f"api-keys/{created.json()['id']}").status_code == 204
    revoked = AuditEntry.objects.get(object_type="tenants.ApiKey", action=Action.UPDATE)
    assert revoked.changes["revoked_at"]["before"] is None
    assert revoked.changes["revoked_at"]["after"]


def test_a_change_a_service_makes_with_a_bulk_update_is_logged_too(client, store):
    lead = leads.ensure_lead("email", "duda@example.com", name="Duda")
    api = api_as(client, "store-a", ["app"])

    response = api.patch(f"leads/{lead.pk}", {"tags": ["VIP", "pointe"]})  # leads.set_tags: .update()

    assert response.status_code == 200
    (entry,) = AuditEntry.objects.filter(object_type="leads.Lead", object_id=str(lead.pk))
    assert entry.action == Action.UPDATE and entry.actor_kind == ActorKind.API_KEY
    assert entry.changes == {"tags": {"before": [], "after": ["vip", "pointe"]}}


def test_many_to_many_edits_show_the_ids_before_and_after(store):
    from django.contrib.auth.models import Group, User

    from audit.context import Actor, acting_as

    owner = User.objects.get(username=STORE_A["owner_email"])
    support = Group.objects.create(name="Support")
    with acting_as(Actor(ActorKind.USER, str(owner.pk), owner.username, "admin")):
        owner.groups.add(support)
        owner.groups.remove(support)

    added, removed = AuditEntry.objects.filter(object_type="auth.User").order_by("id")
    assert added.changes == {"groups": {"before": [], "after": [support.pk]}}
    assert removed.changes == {"groups": {"before": [support.pk], "after": []}}


def test_the_api_reads_the_log_filtered_and_page_by_page(client, store):
    writer = api_as(client, "store-a", ["app"])
    for name in ("one", "two", "three"):
        assert writer.post("api-keys", {"name": name, "scopes": ["read"]}).status_code == 201
    reader = api_as(client, "store-a", ["read"])

    first = reader.get("audit-log", {"action": "create", "object_type": "tenants.ApiKey", "page_size": 2})
    assert first.status_code == 200
    body = first.json()
    names = [e["changes"]["name"]["after"] for e in body["results"]]
    assert names[:2] == ["three", "two"]  # newest first
    everything = list(body["results"])
    next_url = body["next"]
    while next_url:
        page = reader.get(next_url).json()
        everything += page["results"]
        next_url = page["next"]
    assert [e["changes"]["name"]["after"] for e in everything] == ["three", "two", "one"]
    assert {e["actor_kind"] for e in everything} == {"api_key"}

    assert reader.get("audit-log", {"action": "delete"}).json()["results"] == []
    assert reader.get("audit-log", {"at_after": "2999-01-01T00:00:00Z"}).json()["results"] == []
    bad = reader.get("audit-log", {"action": "explode"})
    assert bad.status_code == 400 and "action" in error(bad)["fields"]


def test_the_audit_log_needs_a_key_with_a_scope_that_reads(client, store):
    assert api_as(client, "store-a", None).get("audit-log").status_code == 401
    assert api_as(client, "store-a", ["webhook"]).get("audit-log").status_code == 403
    assert api_as(client, "store-a", ["app"]).get("audit-log").status_code == 200


def test_store_b_never_sees_store_a_entries(client, store, other_store):
    assert api_as(client, "store-a", ["app"]).post("api-keys", {"name": "a-only", "scopes": ["read"]}).status_code == 201
    assert AuditEntry.objects.filter(changes__name__after="a-only").count() == 1

    theirs = api_as(client, "store-b", ["read"]).get("audit-log")
    assert theirs.status_code == 200
    assert "a-only" not in theirs.content.decode()
    with tenant_context(other_store):
        assert not AuditEntry.objects.filter(changes__name__after="a-only").exists()


def _agent_turn(text: str, wamid: str):
    channel = channels.create_channel(kind="api", name="Web")
    message = channels.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id="5511911112222", text=text)
    ).message
    return channels.close_burst(message.conversation_id, message.pk)


@pytest.fixture
def fake_llm():
    server = FakeLLMServer().start()
    yield server
    server.stop()


def test_an_order_created_by_the_agent_is_logged_as_the_agents(store, fake_llm, settings):
    settings.AGENTS_ORDER_PAYMENT_GATEWAY = "manual"
    settings.AGENTS_LLM_BACKOFF = 0.01
    agent = agents_services.create_agent_from_template(
        "sales", name="Vendas", provider="openai", model="gpt-4o-mini", make_default=True
    )
    agent.base_url = fake_llm.url + "/v1"
    agent.save()
    vault.set_credential("llm", "openai", "sk-test-1234567890")
    shoe = product("SP-38", "Sapatilha 38", price="199.90", stock=3)
    lead = leads.ensure_lead("whatsapp", "5511988887777", name="Bia")
    fake_llm.script = [
        completion(tool_calls=[tool_call("c1", "create_order", {"items": [{"product_id": shoe.pk, "quantity": 1}]})]),
        completion("Pedido criado!"),
    ]

    agents_services.run_turn(TurnRequest(
        conversation_id=1, channel="whatsapp", messages=(ConversationMessage("customer", "Quero a sapatilha 38"),),
        lead_id=lead.pk, turn_key="conv-1:burst-1",
    ))

    order = Order.objects.get()
    (entry,) = AuditEntry.objects.filter(action=Action.ORDER_CREATED)
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == (ActorKind.AGENT, str(agent.pk), "Vendas")
    assert (entry.object_type, entry.object_id) == ("orders.Order", str(order.pk))
    assert entry.changes["total"] == {"after": "199.90"}
    assert entry.changes["status"] == {"after": "draft"}
    assert entry.changes["lead_id"] == {"after": lead.pk}


def test_an_order_created_outside_the_agent_is_no_agent_side_effect(store):
    shoe = product("SP-39", "Sapatilha 39")
    lead = leads.ensure_lead("email", "caio@example.com", name="Caio")
    orders.create_order(lead.pk, [(shoe.pk, 1)], "api", by="staff:ana")
    assert not AuditEntry.objects.filter(action=Action.ORDER_CREATED).exists()


def test_a_handoff_by_the_agent_is_logged_as_the_agents(store):
    agent = agents_services.create_agent_from_template("sales", name="Vendas", make_default=True)
    turn = _agent_turn("quero falar com um atendente", "w-handoff")

    channels.run_turn(turn.pk)  # the real agent (offline responder): it hands off

    (entry,) = AuditEntry.objects.filter(action=Action.HANDOFF)
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == (ActorKind.AGENT, str(agent.pk), "Vendas")
    assert entry.object_type == "channels.Conversation"
    assert entry.object_id == str(turn.conversation_id)
    assert entry.changes["status"] == {"before": "bot", "after": "human"}


def test_a_handoff_through_the_api_is_logged_with_the_key(client, store):
    turn = _agent_turn("oi", "w-api-handoff")
    api = api_as(client, "store-a", ["app"])

    response = api.post(f"conversations/{turn.conversation_id}/handoff", {"reason": "VIP customer"})

    assert response.status_code == 200
    (entry,) = AuditEntry.objects.filter(action=Action.HANDOFF)
    assert entry.actor_kind == ActorKind.API_KEY
    assert entry.changes["handoff_reason"] == {"after": "VIP customer"}


def test_the_demo_store_shows_staff_changes_and_an_agent_handoff(store):
    from agents import demo as agents_demo
    from audit import demo
    from channels import demo as channels_demo
    from leads import demo as leads_demo

    leads_demo.populate()
    agents_demo.populate()
    channels_demo.populate()

    assert demo.populate(store) == 3
    assert demo.populate(store) == 0  # idempotent

    actions = set(AuditEntry.objects.values_list("actor_kind", "action", "object_type"))
    assert (ActorKind.USER, Action.CREATE, "tenants.ApiKey") in actions
    assert (ActorKind.USER, Action.UPDATE, "leads.Lead") in actions
    assert (ActorKind.AGENT, Action.HANDOFF, "channels.Conversation") in actions
