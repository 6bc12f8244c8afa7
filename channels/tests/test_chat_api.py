"""The API channel: POST /api/v1/agents/{id}/chat (JSON) and /chat/stream (Server-Sent
Events), driven through the real ``openai`` client against a local fake server speaking
the chat-completions wire format. Each chat is a conversation of the store's API channel,
recorded like any other (messages, turn, lead, handoff)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from agents import services as agent_services
from agents import vault
from agents.models import AgentRun, ReplyRating, TokenUsage
from agents.tests.fake_llm import FakeLLMServer, completion, streamed, tool_call
from channels.models import ChannelKind, Conversation, ConversationStatus, ConversationTurn, Direction
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def fake_llm():
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fast_llm(settings):
    settings.AGENTS_LLM_BACKOFF = 0.01
    settings.AGENTS_LLM_TIMEOUT = 5.0
    settings.AGENTS_ORDER_PAYMENT_GATEWAY = "manual"


@pytest.fixture
def agent(store, fake_llm):
    agent = agent_services.create_agent_from_template("sales", name="Vendas", provider="openai", model="gpt-4o-mini")
    agent.base_url = fake_llm.url + "/v1"
    agent.save()
    vault.set_credential("llm", "openai", "sk-test-1234567890")
    return agent


@pytest.fixture
def collant(store):
    from catalog.models import Product

    return Product.objects.create(sku="COL-ML", name="Collant Manga Longa", price=Decimal("99.90"), stock_quantity=7)


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


def _events(response) -> list[tuple[str, dict]]:
    raw = b"".join(response.streaming_content).decode()
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_a_customer_buys_through_the_chat_api_and_the_thread_remembers(app, agent, fake_llm, collant):
    from orders.models import Order

    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "search_products", {"query": "collant manga longa"})]),
        completion(tool_calls=[tool_call("call_2", "create_order", {"items": [{"product_id": collant.pk, "quantity": 2}]})]),
        completion("Pronto! Pedido criado: 2 Collant Manga Longa, total R$ 199,80."),
        completion("De nada!"),
    ]

    first = app.post(f"agents/{agent.pk}/chat", {"message": "Quero 2 collants manga longa", "thread_id": "web-42"})
    second = app.post(f"agents/{agent.pk}/chat", {"message": "Obrigada!", "thread_id": "web-42"})

    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["reply"] == "Pronto! Pedido criado: 2 Collant Manga Longa, total R$ 199,80."
    assert (body["thread_id"], body["agent_id"], body["handoff"], body["provider"], body["model"]) == (
        "web-42", agent.pk, False, "openai", "gpt-4o-mini",
    )
    assert body["usage"] == {"prompt_tokens": 360, "completion_tokens": 90, "cost": "0.000108"}
    order = Order.objects.get()
    assert [e["kind"] for e in body["side_effects"]] == ["order_created"]
    assert body["side_effects"][0]["data"]["order_number"] == order.number
    collant.refresh_from_db()
    assert collant.stock_quantity == 5 and order.status == "pending_payment" and order.channel == "api"
    # Recorded like any channel's conversation: the message, the turn, the reply, the lead.
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert (conversation.channel.kind, conversation.contact_id) == (ChannelKind.API, "web-42")
    assert [(m.direction, m.text) for m in conversation.messages.order_by("pk")] == [
        (Direction.IN, "Quero 2 collants manga longa"),
        (Direction.OUT, "Pronto! Pedido criado: 2 Collant Manga Longa, total R$ 199,80."),
        (Direction.IN, "Obrigada!"),
        (Direction.OUT, "De nada!"),
    ]
    assert list(conversation.turns.values_list("status", flat=True)) == ["done", "done"]
    assert order.lead_id == conversation.lead_id is not None
    assert AgentRun.objects.get(pk=body["run_id"]).conversation_id == conversation.pk
    # The second message's model call saw the first exchange (memory by thread id).
    remembered = [(m["role"], m["content"]) for m in fake_llm.requests[3]["messages"] if m["role"] in ("user", "assistant")]
    assert remembered == [
        ("user", "Quero 2 collants manga longa"),
        ("assistant", "Pronto! Pedido criado: 2 Collant Manga Longa, total R$ 199,80."),
        ("user", "Obrigada!"),
    ]
    assert second.json()["reply"] == "De nada!"


def test_a_retried_message_id_is_answered_once(app, agent, fake_llm, collant):
    from orders.models import Order

    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "create_order", {"items": [{"product_id": collant.pk, "quantity": 1}]})]),
        completion("Pedido criado!"),
    ]
    payload = {"message": "Quero 1 collant", "thread_id": "t-1", "message_id": "m-1"}

    first = app.post(f"agents/{agent.pk}/chat", payload)
    retry = app.post(f"agents/{agent.pk}/chat", payload)

    assert first.json()["reply"] == retry.json()["reply"] == "Pedido criado!"
    assert retry.json()["run_id"] == first.json()["run_id"]
    assert len(fake_llm.requests) == 2 and Order.objects.count() == 1
    assert ConversationTurn.objects.count() == 1


def test_without_a_thread_id_a_new_thread_starts(app, agent, fake_llm):
    fake_llm.script = [completion("Olá!"), completion("Olá de novo!")]

    one = app.post(f"agents/{agent.pk}/chat", {"message": "oi"}).json()
    two = app.post(f"agents/{agent.pk}/chat", {"message": "oi"}).json()

    assert one["thread_id"] != two["thread_id"] and one["conversation_id"] != two["conversation_id"]


def test_the_stream_sends_progress_tool_calls_sources_answer_deltas_metadata_and_done(app, agent, fake_llm):
    from knowledge import services as knowledge

    policies = knowledge.create_collection("Políticas")
    knowledge.add_text_document(policies.pk, title="Política de trocas", ingest="sync",
                                text="Trocas de tamanho são grátis em até 30 dias após o recebimento.")
    fake_llm.script = [
        streamed(tool_calls=[tool_call("call_1", "search_knowledge", {"query": "prazo de troca"})]),
        streamed(["Você pode trocar ", "em até 30 dias", "."]),
    ]

    # Like a browser, which always accepts gzip: the stream must still arrive event by event.
    response = app.post(f"agents/{agent.pk}/chat/stream", {"message": "Qual o prazo de troca?", "thread_id": "s-1"},
                        HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    assert not response.has_header("Content-Encoding")  # never held in a compressor until the end
    events = _events(response)
    kinds = [kind for kind, _ in events]
    assert kinds == ["progress", "progress", "tool_call", "source", "progress", "answer", "answer", "answer",
                     "metadata", "done"]
    assert events[2][1] == {"name": "search_knowledge", "arguments": '{"query": "prazo de troca"}', "ok": True}
    assert events[3][1] == {"source": "Política de trocas"}
    assert "".join(data["delta"] for kind, data in events if kind == "answer") == "Você pode trocar em até 30 dias."
    metadata = events[-2][1]
    assert (metadata["thread_id"], metadata["handoff"], metadata["sources"]) == ("s-1", False, ["Política de trocas"])
    assert events[-1] == ("done", {"reply": "Você pode trocar em até 30 dias."})
    conversation = Conversation.objects.get(pk=metadata["conversation_id"])
    assert conversation.messages.filter(direction=Direction.OUT).get().text == "Você pode trocar em até 30 dias."
    assert TokenUsage.objects.filter(run_id=metadata["run_id"]).count() == 2


def test_a_handoff_in_the_chat_hands_the_conversation_to_the_team(app, agent, fake_llm):
    fake_llm.script = [
        completion("Vou chamar a gerente.", [tool_call("c1", "handoff", {"reason": "quer falar com a gerente"})]),
    ]

    first = app.post(f"agents/{agent.pk}/chat", {"message": "Quero falar com a gerente", "thread_id": "h-1"}).json()
    later = app.post(f"agents/{agent.pk}/chat", {"message": "Alô?", "thread_id": "h-1"}).json()

    assert (first["handoff"], first["conversation_status"], first["handoff_reason"]) == (
        True, "human", "quer falar com a gerente",
    )
    # While a person has it, the agent stays silent; the message is kept for the team.
    assert first["reply"] == "Vou chamar a gerente."
    assert (later["reply"], later["handoff"]) == (None, True)
    assert len(fake_llm.requests) == 1
    conversation = Conversation.objects.get(pk=first["conversation_id"])
    assert conversation.status == ConversationStatus.HUMAN
    assert conversation.messages.filter(direction=Direction.IN).count() == 2


def test_chat_replies_are_rated_through_the_api(app, agent, fake_llm):
    fake_llm.script = [completion("Olá!")]
    body = app.post(f"agents/{agent.pk}/chat", {"message": "oi"}).json()

    rated = app.post(f"agents/runs/{body['run_id']}/rating", {"rating": "good", "comment": "simpática"})

    assert rated.status_code == 200
    assert ReplyRating.objects.get().comment == "simpática"


def test_chat_input_errors_are_clear(app, agent, client, store, other_store):
    empty = app.post(f"agents/{agent.pk}/chat", {"message": ""})
    bad_thread = app.post(f"agents/{agent.pk}/chat", {"message": "oi", "thread_id": "has spaces"})
    missing = app.post("agents/999999/chat", {"message": "oi"})
    theirs = api_as(client, "store-b", ["app"]).post(f"agents/{agent.pk}/chat", {"message": "oi"})
    reader = api_as(client, "store-a", ["read"]).post(f"agents/{agent.pk}/chat", {"message": "oi"})
    stream_missing = app.post("agents/999999/chat/stream", {"message": "oi"})

    assert empty.status_code == 400 and "message" in error(empty)["fields"]
    assert bad_thread.status_code == 400 and "thread_id" in error(bad_thread)["fields"]
    assert missing.status_code == 404 and error(missing)["code"] == "agent_not_found"
    assert theirs.status_code == 404
    assert reader.status_code == 403
    assert stream_missing.status_code == 404


def test_a_thread_answers_one_message_at_a_time(app, agent, fake_llm):
    from channels.models import Channel

    channel = Channel.objects.create(kind=ChannelKind.API, name="API")
    conversation = Conversation.objects.create(channel=channel, contact_id="busy-1")
    message = conversation.messages.create(channel=channel, direction=Direction.IN, text="primeira", status="received")
    ConversationTurn.objects.create(conversation=conversation, turn_key=f"{conversation.pk}:{message.pk}",
                                    first_message_id=message.pk, last_message_id=message.pk, status="running")

    response = app.post(f"agents/{agent.pk}/chat", {"message": "segunda", "thread_id": "busy-1"})

    assert response.status_code == 409 and error(response)["code"] == "turn_busy"
    assert fake_llm.requests == []
