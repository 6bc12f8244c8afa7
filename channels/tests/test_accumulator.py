"""A burst of customer messages becomes exactly one agent turn."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from agents.turns import TurnRequest, TurnResult
from channels import services
from channels.inbound import InboundMessage
from channels.models import ConversationStatus, ConversationTurn, Message, TurnStatus
from channels.tests.conftest import bursts


def _say(channel, text: str, wamid: str) -> Message:
    return services.record_inbound(
        channel, InboundMessage(provider_message_id=wamid, contact_id="5511988887777", contact_name="Ana", text=text)
    ).message


def test_a_burst_of_three_messages_is_one_turn(store, whatsapp_channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as scheduled:
        burst = [_say(whatsapp_channel, t, f"wamid.{i}") for i, t in
                 enumerate(["oi", "preciso de ajuda", "com a API"])]
    conversation_id = burst[0].conversation_id
    assert len(bursts(scheduled)) == 3  # each message resets the window: one close per message

    # The closes fire in any order, some twice (a redelivered task): one turn.
    results = [services.close_burst(conversation_id, m.pk) for m in (burst[1], burst[0], burst[2], burst[2])]

    assert results[0] is None and results[1] is None
    turn = ConversationTurn.objects.get()
    assert results[2] == turn
    assert results[3] is None  # nothing left unanswered
    assert (turn.turn_key, turn.first_message_id, turn.last_message_id, turn.status) == (
        f"{conversation_id}:{burst[2].pk}", burst[0].pk, burst[2].pk, TurnStatus.PENDING
    )
    request = services.build_turn_request(turn)
    assert request.messages[-1].text == "oi\npreciso de ajuda\ncom a API"
    assert request.messages[-1].role == "customer"
    assert (request.turn_key, request.channel, request.conversation_id) == (turn.turn_key, "whatsapp", conversation_id)
    assert request.lead_id == burst[0].conversation.lead_id is not None


def test_a_message_after_the_turn_starts_a_new_burst(store, whatsapp_channel):
    first = _say(whatsapp_channel, "oi", "wamid.1")
    services.close_burst(first.conversation_id, first.pk)
    second = _say(whatsapp_channel, "tem tamanho 36?", "wamid.2")

    turn = services.close_burst(second.conversation_id, second.pk)

    assert ConversationTurn.objects.count() == 2
    assert (turn.first_message_id, turn.last_message_id) == (second.pk, second.pk)


def test_a_burst_that_never_pauses_is_answered_after_the_max_wait(store, whatsapp_channel, settings):
    settings.CHANNELS_BURST_MAX_WAIT_SECONDS = 10
    first = _say(whatsapp_channel, "oi", "wamid.1")
    _say(whatsapp_channel, "ainda escrevendo", "wamid.2")

    assert services.close_burst(first.conversation_id, first.pk) is None
    turn = services.close_burst(first.conversation_id, first.pk, now=timezone.now() + timedelta(seconds=11))

    assert turn is not None and turn.last_message_id == Message.objects.order_by("pk").last().pk


def test_no_turn_while_a_human_has_the_conversation(store, whatsapp_channel, django_capture_on_commit_callbacks):
    message = _say(whatsapp_channel, "oi", "wamid.1")
    services.handoff(message.conversation_id, "customer asked for a person")

    with django_capture_on_commit_callbacks() as scheduled:
        later = _say(whatsapp_channel, "alguém aí?", "wamid.2")

    assert bursts(scheduled) == []
    assert services.close_burst(later.conversation_id, later.pk) is None
    assert not ConversationTurn.objects.exists()


def test_the_agent_sees_the_history_then_the_burst(store, whatsapp_channel):
    seen: list[TurnRequest] = []

    def agent(request: TurnRequest) -> TurnResult:
        seen.append(request)
        return TurnResult(reply=f"answer {len(seen)}")

    first = _say(whatsapp_channel, "oi", "wamid.1")
    services.run_turn(services.close_burst(first.conversation_id, first.pk).pk, runner=agent)
    second = _say(whatsapp_channel, "quanto custa?", "wamid.2")
    services.run_turn(services.close_burst(second.conversation_id, second.pk).pk, runner=agent)

    assert [(m.role, m.text) for m in seen[1].messages] == [
        ("customer", "oi"), ("agent", "answer 1"), ("customer", "quanto custa?")
    ]


def test_turns_of_one_conversation_run_one_at_a_time(store, whatsapp_channel):
    import pytest

    from channels.errors import TurnBusy

    first = _say(whatsapp_channel, "oi", "wamid.1")
    turn_1 = services.close_burst(first.conversation_id, first.pk)
    second = _say(whatsapp_channel, "e o frete?", "wamid.2")
    turn_2 = services.close_burst(second.conversation_id, second.pk)

    # The second burst waits for the first turn (pending or running), never runs beside it.
    with pytest.raises(TurnBusy):
        services.run_turn(turn_2.pk, runner=lambda r: TurnResult(reply="x"))
    services.run_turn(turn_1.pk, runner=lambda r: TurnResult(reply="first"))
    services.run_turn(turn_2.pk, runner=lambda r: TurnResult(reply="second"))

    assert list(ConversationTurn.objects.order_by("pk").values_list("status", "reply")) == [
        (TurnStatus.DONE, "first"), (TurnStatus.DONE, "second")
    ]


def test_a_turn_that_finds_a_human_in_charge_stays_silent(store, whatsapp_channel):
    message = _say(whatsapp_channel, "oi", "wamid.1")
    turn = services.close_burst(message.conversation_id, message.pk)
    services.handoff(message.conversation_id, "staff took over")

    services.run_turn(turn.pk, runner=lambda r: TurnResult(reply="should not be sent"))

    turn.refresh_from_db()
    assert turn.status == TurnStatus.SILENT
    assert not Message.objects.filter(direction="out").exists()
    assert message.conversation.__class__.objects.get().status == ConversationStatus.HUMAN



def test_a_burst_is_answered_once_it_has_the_max_messages(store, whatsapp_channel):
    whatsapp_channel.config["burst_max_messages"] = 3
    whatsapp_channel.save()
    burst = [_say(whatsapp_channel, text, f"wamid.{i}") for i, text in enumerate(["a", "b", "c", "d"])]

    assert services.close_burst(burst[0].conversation_id, burst[0].pk) is not None  # 4 waiting >= 3

    turn = ConversationTurn.objects.get()
    assert (turn.first_message_id, turn.last_message_id) == (burst[0].pk, burst[3].pk)


def test_the_answering_agents_accumulator_settings_apply_unless_the_channel_sets_its_own(
    store, whatsapp_channel, settings, django_capture_on_commit_callbacks
):
    from agents import services as agent_services

    settings.CHANNELS_BURST_SECONDS = 5.0
    agent = agent_services.create_agent_from_template("support", make_default=True)
    agent.burst_seconds, agent.burst_max_messages, agent.burst_separator = 1.5, 2, " / "
    agent.save()

    with django_capture_on_commit_callbacks() as scheduled:
        first = _say(whatsapp_channel, "oi", "wamid.a1")
        second = _say(whatsapp_channel, "meu pedido não chegou", "wamid.a2")
    assert [c.countdown for c in bursts(scheduled)] == [1.5, 1.5]  # the agent's window, not the platform's
    # Two messages is the agent's max: the first message's close already answers the burst.
    turn = services.close_burst(first.conversation_id, first.pk)
    assert turn is not None and turn.last_message_id == second.pk
    assert services.build_turn_request(turn).messages[-1].text == "oi / meu pedido não chegou"

    whatsapp_channel.config["burst_seconds"] = 8
    whatsapp_channel.save(update_fields=["config"])
    with django_capture_on_commit_callbacks() as scheduled:
        _say(whatsapp_channel, "alô?", "wamid.a3")
    assert [c.countdown for c in bursts(scheduled)] == [8.0]  # the channel's own setting comes first
