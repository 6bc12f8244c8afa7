"""Fairness between stores and memory hygiene of idle conversations."""

from __future__ import annotations

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
    TurnStatus,
)


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
