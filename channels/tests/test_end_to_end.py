"""From the provider's webhook to the reply on the customer's phone, with the real agent."""

from __future__ import annotations

import copy
import signal
import subprocess
import time

import pytest
from django.db import connection

from agents.tests.fake_llm import completion, tool_call
from channels import services
from channels.inbound import InboundMessage
from channels.models import (
    Conversation,
    ConversationStatus,
    ConversationTurn,
    Direction,
    Message,
    MessageStatus,
    TurnStatus,
)
from channels.tests.conftest import APP_SECRET, bursts, post_meta
from channels.tests.fake_providers import FakeProviderServer, fixture
from channels.tests.workers import start_worker, stop_workers, wait_for


def _whatsapp_text(wamid: str, text: str, phone_number_id: str | None = None) -> dict:
    payload = copy.deepcopy(fixture("whatsapp/inbound_text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0].update(id=wamid, text={"body": text})
    if phone_number_id:
        value["metadata"]["phone_number_id"] = phone_number_id
    return payload


def test_a_signed_burst_gets_one_reply_from_the_agent_on_the_graph_api(
    client, store, whatsapp_channel, provider, fake_llm, llm_agent
):
    fake_llm.script = [completion("Temos sim! O collant manga longa custa R$ 99,90.")]
    burst = [("wamid.A1", "oi"), ("wamid.A2", "vocês têm collant"), ("wamid.A3", "manga longa?")]
    for wamid, text in burst:
        assert post_meta(client, store, _whatsapp_text(wamid, text)).status_code == 200
    assert post_meta(client, store, _whatsapp_text("wamid.A2", "vocês têm collant")).status_code == 200  # retry

    inbound = list(Message.objects.filter(direction=Direction.IN).order_by("pk"))
    assert len(inbound) == 3
    turns = {services.close_burst(m.conversation_id, m.pk) for m in inbound} - {None}
    (turn,) = turns
    services.run_turn(turn.pk)  # the real agents.services.run_turn
    services.run_turn(turn.pk)  # a retried task: the turn is done, nothing runs again
    (reply,) = Message.objects.filter(direction=Direction.OUT)
    services.deliver(reply.pk)
    services.deliver(reply.pk)

    (llm_request,) = fake_llm.requests
    assert llm_request["messages"][-1] == {"role": "user", "content": "oi\nvocês têm collant\nmanga longa?"}
    (sent,) = provider.requests
    assert sent.body["to"] == "972987654321"
    assert sent.body["text"]["body"] == "Temos sim! O collant manga longa custa R$ 99,90."
    reply.refresh_from_db()
    assert (reply.status, reply.provider_message_id) == (MessageStatus.SENT, "wamid.FAKE0001")
    turn.refresh_from_db()
    assert (turn.provider, turn.model, turn.agent_id) == ("openai", "gpt-4o-mini", llm_agent.pk)

    # Meta then reports the reply delivered and read.
    for status in ("delivered", "read"):
        payload = copy.deepcopy(fixture(f"whatsapp/status_{status}.json"))
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.FAKE0001"
        post_meta(client, store, payload)
    reply.refresh_from_db()
    assert reply.status == MessageStatus.READ


def test_the_agent_handoff_tool_silences_the_bot(
    client, store, whatsapp_channel, provider, fake_llm, llm_agent, django_capture_on_commit_callbacks
):
    from leads.models import EventKind

    fake_llm.script = [completion("Vou chamar alguém da equipe.",
                                  [tool_call("call_1", "handoff", {"reason": "quer falar com uma pessoa"})])]
    post_meta(client, store, _whatsapp_text("wamid.H1", "quero falar com uma pessoa"))
    message = Message.objects.get()
    turn = services.close_burst(message.conversation_id, message.pk)

    services.run_turn(turn.pk)

    conversation = Conversation.objects.get()
    assert conversation.status == ConversationStatus.HUMAN
    assert conversation.handoff_reason == "quer falar com uma pessoa"
    assert conversation.lead.events.filter(kind=EventKind.HANDOFF).count() == 1
    with django_capture_on_commit_callbacks() as scheduled:
        post_meta(client, store, _whatsapp_text("wamid.H2", "oi?"))
    assert bursts(scheduled) == []

    services.return_to_bot(conversation.pk)
    with django_capture_on_commit_callbacks() as scheduled:
        post_meta(client, store, _whatsapp_text("wamid.H3", "voltei"))
    assert len(bursts(scheduled)) == 1


# --- on a real Celery worker (committed rows) -------------------------------------------

WORKER_PHONE_NUMBER_ID = "7770001"


@pytest.fixture
def committed_whatsapp(django_db_blocker, celery_worker, settings):
    """Store A with a committed WhatsApp channel on a local Graph API server and a short
    burst window; removes everything the test created."""
    from agents.models import Agent
    from conftest import STORE_A
    from leads.models import Lead
    from tenants.models import Tenant

    settings.CHANNELS_META_APP_SECRET = APP_SECRET
    provider = FakeProviderServer()
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug=STORE_A["slug"])
        connection.set_tenant(tenant)
        leads_before = set(Lead.objects.values_list("pk", flat=True))
        agents_before = set(Agent.objects.values_list("pk", flat=True))
        channel = services.create_channel(kind="whatsapp", name="WhatsApp (worker test)", config={
            "phone_number_id": WORKER_PHONE_NUMBER_ID, "access_token": "EAAG-worker",
            "graph_base_url": provider.url, "burst_seconds": 0.5, "reply_spacing_seconds": 0,
        })
        try:
            yield tenant, channel, provider
        finally:
            connection.set_tenant(tenant)
            services.delete_channel(channel.pk)
            Lead.objects.exclude(pk__in=leads_before).delete()
            Agent.objects.exclude(pk__in=agents_before).delete()
            connection.set_schema_to_public()
            provider.close()


_wait_for = wait_for


def test_on_a_worker_a_burst_of_three_is_one_turn_and_one_reply(client, committed_whatsapp):
    tenant, channel, provider = committed_whatsapp
    # Each delivery is stored in the store's inbox and the worker processes it (no inline
    # draining here: the webhook's wake-up reaches the worker through the broker).
    for wamid, text in (("wamid.W1", "oi"), ("wamid.W2", "preciso de ajuda"), ("wamid.W3", "com a API")):
        response = post_meta(client, tenant, _whatsapp_text(wamid, text, WORKER_PHONE_NUMBER_ID), process=False)
        assert response.status_code == 200
    post_meta(client, tenant, _whatsapp_text("wamid.W3", "com a API", WORKER_PHONE_NUMBER_ID),
              process=False)  # redelivery

    assert _wait_for(lambda: len(provider.requests) >= 1), "no reply reached the Graph API"
    time.sleep(2)  # room for a second, wrong, reply

    connection.set_tenant(tenant)
    (turn,) = ConversationTurn.objects.filter(conversation__channel=channel)
    last = Message.objects.filter(channel=channel, direction=Direction.IN).order_by("pk").last()
    assert turn.turn_key == f"{turn.conversation_id}:{last.pk}"
    assert Message.objects.filter(channel=channel, direction=Direction.IN).count() == 3
    assert len(provider.requests) == Message.objects.filter(channel=channel, direction=Direction.OUT).count()
    assert len({r.body["text"]["body"] for r in provider.requests}) == len(provider.requests)
    assert all(r.path == f"/v24.0/{WORKER_PHONE_NUMBER_ID}/messages" for r in provider.requests)


# --- a worker killed (SIGKILL) in the middle of a turn ------------------------------------
# Its own workers (a slow agent, a 2-second broker visibility timeout) on their own queue.
# (Kept in this module: its rolled-back tests make pytest-django create the test database.)

QUEUE = "channels_sigkill_test"


def _start_worker(name: str) -> subprocess.Popen:
    return start_worker(name, "channels.tests.sigkill_settings", f"{QUEUE},webhooks")


@pytest.fixture
def committed_turn(django_db_blocker, django_db_setup):
    from conftest import STORE_A
    from leads.models import Lead
    from tenants.models import Tenant

    provider = FakeProviderServer()
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug=STORE_A["slug"])
        connection.set_tenant(tenant)
        leads_before = set(Lead.objects.values_list("pk", flat=True))
        channel = services.create_channel(kind="whatsapp", name="WhatsApp (SIGKILL test)", config={
            "phone_number_id": "7770002", "access_token": "EAAG-kill", "graph_base_url": provider.url})
        message = services.record_inbound(channel, InboundMessage(
            provider_message_id="wamid.K1", contact_id="5511977776666", text="vocês entregam amanhã?"),
            start_turn=False).message
        turn = ConversationTurn.objects.create(
            conversation_id=message.conversation_id, turn_key=f"{message.conversation_id}:{message.pk}",
            first_message_id=message.pk, last_message_id=message.pk,
        )
        try:
            yield tenant, channel, turn, provider
        finally:
            connection.set_tenant(tenant)
            services.delete_channel(channel.pk)
            Lead.objects.exclude(pk__in=leads_before).delete()
            connection.set_schema_to_public()
            provider.close()


def test_a_worker_killed_mid_turn_still_gives_exactly_one_reply(committed_turn):
    from channels import tasks

    tenant, _channel, turn, provider = committed_turn
    first = _start_worker("doomed")
    second = None
    try:
        tasks.run_conversation_turn.apply_async(args=[turn.pk], queue=QUEUE, headers={"_schema_name": tenant.schema_name})
        running = _wait_for(
            lambda: ConversationTurn.objects.filter(pk=turn.pk, status=TurnStatus.RUNNING).exists(), 60)
        assert running, "the first worker never started the turn"
        first.send_signal(signal.SIGKILL)  # mid-turn: the agent is still thinking
        first.wait(timeout=10)
        assert provider.requests == []

        second = _start_worker("rescuer")
        assert _wait_for(lambda: len(provider.requests) >= 1, 60), "nobody answered after the worker died"
        time.sleep(3)  # room for a duplicate reply, which must not come

        assert len(provider.requests) == 1
        assert provider.requests[0].body["text"]["body"] == "Resposta para: vocês entregam amanhã?"
        turn.refresh_from_db()
        assert (turn.status, turn.attempts) == (TurnStatus.DONE, 2)
        assert Message.objects.filter(conversation_id=turn.conversation_id, direction=Direction.OUT).count() == 1
    finally:
        stop_workers(first, second)
