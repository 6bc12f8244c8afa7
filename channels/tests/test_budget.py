"""The store's monthly token budget: past it the agents answer with the offline responder,
and staff are told once (a ``budget.exceeded`` event and the admin)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from agents.models import TokenUsage
from agents.tests.fake_llm import completion
from agents.turns import TurnResult
from channels import services
from channels.inbound import InboundMessage
from channels.models import (
    ConversationTurn,
    Direction,
    Message,
    TokenBudget,
    WebhookDelivery,
    WebhookSubscription,
)
from conftest import STORE_A


def _turn(channel, wamid: str, text: str = "oi") -> ConversationTurn:
    message = services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id="5511988887777", text=text)
    ).message
    return services.close_burst(message.conversation_id, message.pk)


def _used(tokens: int, *, at=None) -> None:
    TokenUsage.objects.create(provider="openai", model="gpt-4o-mini", prompt_tokens=tokens, completion_tokens=0,
                              at=at or timezone.now())


def test_past_the_monthly_budget_turns_ask_for_the_offline_responder_and_staff_are_told_once(store):
    channel = services.create_channel(kind="api", name="Web")
    WebhookSubscription.objects.create(url="http://127.0.0.1:9/hooks", events=["budget.exceeded"])
    services.set_monthly_tokens(1000)
    _used(5_000_000, at=timezone.now() - timedelta(days=40))  # last month's usage does not count
    _used(900)
    seen = []

    def runner(request):
        seen.append(request.offline_only)
        return TurnResult(reply="oi")

    services.run_turn(_turn(channel, "m1").pk, runner=runner)
    _used(150)
    services.run_turn(_turn(channel, "m2").pk, runner=runner)
    services.run_turn(_turn(channel, "m3").pk, runner=runner)

    assert seen == [False, True, True]
    (told,) = WebhookDelivery.objects.filter(event="budget.exceeded")
    assert told.payload["data"] == {"monthly_tokens": 1000, "used_tokens": 1050,
                                    "month": timezone.now().date().replace(day=1).isoformat(),
                                    "fallback": "offline responder"}
    assert TokenBudget.objects.get().exceeded_at is not None

    services.set_monthly_tokens(5000)  # staff raise it: the models are back at once
    services.run_turn(_turn(channel, "m4").pk, runner=runner)
    assert seen[-1] is False


def test_no_budget_means_no_limit(store):
    channel = services.create_channel(kind="api", name="Web")
    _used(10_000_000)
    seen = []

    services.run_turn(_turn(channel, "m1").pk, runner=lambda r: seen.append(r.offline_only) or TurnResult(reply="x"))

    assert seen == [False]
    assert services.budget_state().exceeded is False


def test_with_the_real_agent_the_model_is_not_called_past_the_budget(store, whatsapp_channel, fake_llm, llm_agent,
                                                                      client):
    services.set_monthly_tokens(100)
    fake_llm.script = [completion("Temos sim, tamanho P.", prompt_tokens=120, completion_tokens=30)]

    first = _turn(whatsapp_channel, "wamid.1", "vocês têm collant P?")
    services.run_turn(first.pk)  # the real agents.services.run_turn on the fake LLM: 150 tokens
    second = _turn(whatsapp_channel, "wamid.2", "e manga longa?")
    services.run_turn(second.pk)

    assert len(fake_llm.requests) == 1  # the second turn never reached the model
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.provider == "openai"
    assert second.provider == "offline"
    assert Message.objects.filter(direction=Direction.OUT, turn=second).exists()

    client.force_login(get_user_model().objects.get(username=STORE_A["owner_email"]))
    conversations = client.get("/admin/channels/conversation/", HTTP_HOST="store-a.localhost")
    budget = client.get("/admin/channels/tokenbudget/", HTTP_HOST="store-a.localhost")
    connection.set_tenant(store)
    assert "token budget is used up (150 of 100 tokens)" in conversations.content.decode()
    assert "Used up: offline responder" in budget.content.decode()


def test_the_month_is_summed_once_and_then_only_the_recent_usage(store):
    services.set_monthly_tokens(10_000)
    now = timezone.now()
    _used(600, at=now - timedelta(hours=3))
    _used(300, at=now - timedelta(minutes=1))
    assert services.budget_state(now=now).used_tokens == 900

    # Twenty minutes on: the 300 have settled into the kept sum, counted once, not twice.
    later = now + timedelta(minutes=20)
    _used(50, at=later)
    assert services.budget_state(now=later).used_tokens == 950
    # The kept part is not read again: rows older than it no longer matter to a check.
    TokenUsage.objects.filter(at__lt=now - timedelta(hours=2)).update(prompt_tokens=0)
    assert services.budget_state(now=later).used_tokens == 950
    services.set_monthly_tokens(10_000)  # a budget change sums the month afresh
    assert services.budget_state(now=later).used_tokens == 350
