"""Fairness between stores and memory hygiene of idle conversations."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from agents.turns import TurnResult
from channels import services
from channels.errors import TurnBusy
from channels.inbound import InboundMessage
from channels.models import (
    Conversation,
    ConversationStatus,
    ConversationTurn,
    Direction,
    Message,
    TurnStatus,
)
from channels.tests.fake_providers import FakeProviderServer
from channels.tests.workers import start_worker, stop_workers, wait_for


def _turn(channel, contact: str, wamid: str) -> ConversationTurn:
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id=contact, text="oi")
    ).message
    return services.close_burst(message.conversation_id, message.pk)


def _mark_running(turn: ConversationTurn) -> None:
    ConversationTurn.objects.filter(pk=turn.pk).update(status=TurnStatus.RUNNING, started_at=timezone.now())


def test_a_store_at_its_turn_cap_waits_while_another_store_answers(store, other_store, settings):
    settings.CHANNELS_MAX_TURNS_PER_STORE = 2
    channel = services.create_channel(kind="api", name="Web")
    flood = [_turn(channel, f"contact-{i}", f"m{i}") for i in range(3)]
    _mark_running(flood[0])
    _mark_running(flood[1])

    with pytest.raises(TurnBusy, match="cap is 2"):
        services.run_turn(flood[2].pk, runner=lambda r: TurnResult(reply="x"))

    with tenant_context(other_store):
        theirs = services.create_channel(kind="api", name="Web B")
        turn_b = _turn(theirs, "contact-b", "b1")
        done = services.run_turn(turn_b.pk, runner=lambda r: TurnResult(reply="olá, loja B"))
        assert done.status == TurnStatus.DONE
    connection.set_tenant(store)

    ConversationTurn.objects.filter(pk=flood[0].pk).update(status=TurnStatus.DONE)
    assert services.run_turn(flood[2].pk, runner=lambda r: TurnResult(reply="x")).status == TurnStatus.DONE


def test_an_idle_conversation_ends_and_the_next_burst_starts_a_fresh_memory(store, settings):
    settings.CHANNELS_CONVERSATION_TTL_SECONDS = 3600
    channel = services.create_channel(kind="whatsapp", name="WA", config={"phone_number_id": "321"})
    first = _turn(channel, "5511988887777", "w1")
    services.run_turn(first.pk, runner=lambda r: TurnResult(reply="olá!"))

    later = timezone.now() + timedelta(hours=2)
    assert services.end_idle_conversations(now=later) == {"ended": 1, "returned_to_bot": 0}
    assert services.end_idle_conversations(now=later) == {"ended": 0, "returned_to_bot": 0}
    conversation = Conversation.objects.get()
    assert conversation.ended_at == later

    seen = []
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id="w2", contact_id="5511988887777", text="voltei")
    ).message
    turn = services.close_burst(message.conversation_id, message.pk)
    services.run_turn(turn.pk, runner=lambda r: seen.append(r) or TurnResult(reply="oi de novo"))

    assert [m.text for m in seen[0].messages] == ["voltei"]
    assert Conversation.objects.get().ended_at is None


def test_an_idle_handoff_returns_to_the_bot_when_configured(store, settings):
    settings.CHANNELS_HANDOFF_IDLE_RETURN_SECONDS = 600
    channel = services.create_channel(kind="api", name="Web")
    turn = _turn(channel, "contact-1", "m1")
    services.handoff(turn.conversation_id, "needs a person")

    result = services.end_idle_conversations(now=timezone.now() + timedelta(minutes=11))

    assert result["returned_to_bot"] == 1
    assert Conversation.objects.get().status == ConversationStatus.BOT


def test_a_store_past_its_cap_waits_in_the_database_and_each_finished_turn_lets_the_next_go(
        store, settings, django_capture_on_commit_callbacks):
    settings.CHANNELS_MAX_TURNS_PER_STORE = 2
    channel = services.create_channel(kind="api", name="Web")

    with django_capture_on_commit_callbacks() as callbacks:
        flood = [_turn(channel, f"contact-{i}", f"m{i}") for i in range(5)]
    queued = [c.args[0] for c in callbacks if getattr(c, "task_name", "") == "channels.run_conversation_turn"]

    assert queued == [flood[0].pk, flood[1].pk]  # the rest wait for a slot, not on the broker
    assert services.waiting_turns() == 3
    with django_capture_on_commit_callbacks() as callbacks:
        services.run_turn(flood[0].pk, runner=lambda r: TurnResult(reply="oi"))
    assert [c.args[0] for c in callbacks if getattr(c, "task_name", "") == "channels.run_conversation_turn"] == [flood[2].pk]
    assert services.dispatch_turns() == []  # idempotent: both slots are taken again


def test_a_second_burst_of_a_conversation_waits_for_the_first_turn_without_taking_a_slot(store, settings):
    settings.CHANNELS_MAX_TURNS_PER_STORE = 2
    channel = services.create_channel(kind="api", name="Web")
    first = _turn(channel, "contact-1", "m1")
    second = _turn(channel, "contact-1", "m2")
    other = _turn(channel, "contact-2", "m3")

    dispatched = set(ConversationTurn.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True))

    assert dispatched == {first.pk, other.pk}
    services.run_turn(first.pk, runner=lambda r: TurnResult(reply="oi"))
    assert ConversationTurn.objects.get(pk=second.pk).dispatched_at is not None


# --- fairness on real workers ----------------------------------------------------------
# Store A's broadcast campaign is answered by 200 customers at once; store B's one customer
# writes while A's flood is being worked through. Two workers, an agent that thinks 0.1 s,
# two turns per store at a time (channels/tests/fairness_settings.py).

FAIRNESS_QUEUE = "channels_fairness_test"


def _purge(queue: str) -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


@pytest.fixture
def two_committed_stores(django_db_blocker, django_db_setup, settings):
    from conftest import STORE_A, STORE_B
    from leads.models import Lead
    from tenants.models import Tenant

    settings.CHANNELS_TURN_QUEUE = FAIRNESS_QUEUE
    settings.CHANNELS_MAX_TURNS_PER_STORE = 2
    provider = FakeProviderServer()
    created = []
    with django_db_blocker.unblock():
        _purge(FAIRNESS_QUEUE)
        store_a, store_b = (Tenant.objects.get(slug=spec["slug"]) for spec in (STORE_A, STORE_B))
        try:
            connection.set_tenant(store_a)
            leads_a = set(Lead.objects.values_list("pk", flat=True))
            flood_channel = services.create_channel(kind="api", name="Campaign answers (fairness test)")
            created.append((store_a, flood_channel, leads_a))
            connection.set_tenant(store_b)
            leads_b = set(Lead.objects.values_list("pk", flat=True))
            channel_b = services.create_channel(kind="whatsapp", name="WhatsApp (fairness test)", config={
                "phone_number_id": "7770003", "access_token": "EAAG-b", "graph_base_url": provider.url})
            created.append((store_b, channel_b, leads_b))
            yield store_a, flood_channel, store_b, channel_b, provider
        finally:
            _purge(FAIRNESS_QUEUE)
            for tenant, channel, leads_before in created:
                connection.set_tenant(tenant)
                services.delete_channel(channel.pk)
                Lead.objects.exclude(pk__in=leads_before).delete()
            connection.set_schema_to_public()
            provider.close()


def _customer_writes(channel, contact: str, wamid: str, text: str) -> ConversationTurn:
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id=contact, text=text), start_turn=False
    ).message
    return services.close_burst(message.conversation_id, message.pk)


def test_one_stores_flood_of_200_does_not_queue_another_stores_customer_behind_it(two_committed_stores):
    store_a, flood_channel, store_b, channel_b, provider = two_committed_stores
    connection.set_tenant(store_a)
    for i in range(200):
        _customer_writes(flood_channel, f"campaign-{i}", f"A{i}", "quero a promoção")
    flood = ConversationTurn.objects.filter(conversation__channel=flood_channel)
    assert flood.count() == 200

    workers = [start_worker(f"fair{i}", "channels.tests.fairness_settings", f"{FAIRNESS_QUEUE},webhooks")
               for i in range(2)]
    try:
        assert wait_for(lambda: flood.filter(status=TurnStatus.DONE).count() >= 10, 90), "the flood never started"
        answered_before = flood.filter(status=TurnStatus.DONE).count()

        connection.set_tenant(store_b)
        started = time.monotonic()
        _customer_writes(channel_b, "5511955554444", "wamid.B1", "vocês abrem sábado?")
        assert wait_for(lambda: len(provider.requests) >= 1, 60), "store B's customer got no reply"
        waited = time.monotonic() - started

        connection.set_tenant(store_a)
        answered_meanwhile = flood.filter(status=TurnStatus.DONE).count() - answered_before
        # B's turn was queued behind at most A's two slots, not behind A's ~190 waiting turns.
        assert answered_meanwhile <= 12, f"{answered_meanwhile} of A's turns went before B's reply"
        assert waited < 15, f"B waited {waited:.1f} s"
        assert provider.requests[0].body["text"]["body"] == "Resposta para: vocês abrem sábado?"

        # A's flood is answered in full, each customer once.
        assert wait_for(lambda: flood.filter(status=TurnStatus.DONE).count() == 200, 240), (
            f"only {flood.filter(status=TurnStatus.DONE).count()} of A's 200 turns were answered")
        assert Message.objects.filter(channel=flood_channel, direction=Direction.OUT).count() == 200
    finally:
        stop_workers(*workers)
