"""The console's playground streams the turn (Server-Sent Events from an admin view with
the staff session): model calls, tool calls, sources, the answer in pieces, then the run.
The agent speaks to a local fake OpenAI-compatible server through the real client."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from agents import services
from agents.models import Agent, AgentRun
from agents.tests.fake_llm import streamed, tool_call
from conftest import OWNER_PASSWORD, STORE_A

HOST = "store-a.localhost"
THREAD = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def staff(client, store):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302
    return client


def _stream(client, agent_id: int, message: str, *, history: list | None = None, dry_run: bool = True,
            host: str = HOST, **fields: str):
    data = {"message": message, "history": json.dumps(history or []), "thread": THREAD, **fields}
    if dry_run:
        data["dry_run"] = "on"
    return client.post(f"/admin/agents/agent/{agent_id}/playground/stream/", data, HTTP_HOST=host,
                       HTTP_ACCEPT_ENCODING="gzip, deflate")


def _events(response) -> list[tuple[str, dict]]:
    raw = b"".join(response.streaming_content).decode()
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_the_playground_streams_the_turn_as_it_happens(staff, llm_agent, fake_llm):
    from knowledge import services as knowledge

    policies = knowledge.create_collection("Políticas")
    knowledge.add_text_document(policies.pk, title="Política de trocas", ingest="sync",
                                text="Trocas de tamanho são grátis em até 30 dias após o recebimento.")
    fake_llm.script = [
        streamed(tool_calls=[tool_call("call_1", "search_knowledge", {"query": "prazo de troca"})]),
        streamed(["Você pode trocar ", "em até 30 dias", "."]),
    ]

    response = _stream(staff, llm_agent.pk, "Qual o prazo de troca?")

    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    # Streamed as written, never held back by the gzip middleware until the turn ends.
    assert not response.has_header("Content-Encoding")
    events = _events(response)
    assert [kind for kind, _ in events] == [
        "progress", "tool_call", "source", "progress", "answer", "answer", "answer", "metadata", "done",
    ]
    assert events[0][1] == {"round": 1, "provider": "openai"}
    assert events[1][1] == {"name": "search_knowledge", "arguments": '{"query": "prazo de troca"}', "ok": True}
    assert events[2][1] == {"source": "Política de trocas"}
    assert [data["delta"] for kind, data in events if kind == "answer"] == ["Você pode trocar ", "em até 30 dias", "."]
    assert events[-1] == ("done", {"reply": "Você pode trocar em até 30 dias."})
    run = AgentRun.objects.get()
    metadata = events[-2][1]
    assert metadata == {
        "run_id": run.pk,
        "run_url": f"/admin/agents/agentrun/{run.pk}/change/",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt_tokens": 180,
        "completion_tokens": 24,
        "cost": str(run.cost),
        "dry_run": True,
        "sources": ["Política de trocas"],
        "side_effects": [],
        "handoff": False,
        "handoff_reason": "",
        "fallbacks": [],
        "lead_id": None,
    }
    assert (run.channel, run.dry_run, run.turn_key) == ("playground", True, f"playground:{THREAD}:1")
    assert staff.get(metadata["run_url"], HTTP_HOST=HOST).status_code == 200


def test_the_playground_remembers_the_thread(staff, llm_agent, fake_llm):
    fake_llm.script = [streamed(["Temos sim!"])]
    history = [{"role": "customer", "text": "Vocês têm collant?"}, {"role": "agent", "text": "Temos, de vários tamanhos."}]

    events = _events(_stream(staff, llm_agent.pk, "E no tamanho P?", history=history))

    assert events[-1] == ("done", {"reply": "Temos sim!"})
    said = [(m["role"], m["content"]) for m in fake_llm.requests[0]["messages"] if m["role"] != "system"]
    assert said == [("user", "Vocês têm collant?"), ("assistant", "Temos, de vários tamanhos."), ("user", "E no tamanho P?")]
    assert AgentRun.objects.get().turn_key == f"playground:{THREAD}:2"


def _sale_script(collant_id: int) -> list:
    return [
        streamed(tool_calls=[tool_call("call_1", "capture_lead", {"name": "Ana", "email": "ana@example.com"})]),
        streamed(tool_calls=[tool_call("call_2", "create_order", {"items": [{"product_id": collant_id, "quantity": 1}]})]),
        streamed(["Pedido feito!"]),
    ]


def test_the_dry_run_default_writes_no_order_and_no_lead(staff, llm_agent, fake_llm, products, lead):
    from leads.models import Lead
    from orders.models import Order

    page = staff.get(f"/admin/agents/agent/{llm_agent.pk}/playground/", HTTP_HOST=HOST).content.decode()
    fake_llm.script = _sale_script(products["collant"].pk)

    # The thread already knows the customer (a real run found her), so create_order runs.
    events = _events(_stream(staff, llm_agent.pk, "Quero um collant; sou Ana, ana@example.com",
                             lead_id=str(lead.pk)))

    assert 'name="dry_run" class="' in page and "checked" in page.split('name="dry_run"')[1].split(">")[0]
    assert [(data["name"], data["ok"]) for kind, data in events if kind == "tool_call"] == [
        ("capture_lead", True), ("create_order", True),
    ]
    assert events[-1] == ("done", {"reply": "Pedido feito!"})
    assert Order.objects.count() == 0
    assert list(Lead.objects.values_list("name", "email")) == [("Ana Souza", lead.email)]
    products["collant"].refresh_from_db()
    assert products["collant"].stock_quantity == 7
    metadata = dict(events)["metadata"]
    assert (metadata["dry_run"], metadata["side_effects"], metadata["lead_id"]) == (True, [], lead.pk)


def test_a_real_run_writes_the_order_and_the_thread_keeps_the_lead(staff, llm_agent, fake_llm, products):
    from orders.models import Order

    fake_llm.script = _sale_script(products["collant"].pk)

    events = _events(_stream(staff, llm_agent.pk, "Quero um collant; sou Ana, ana@example.com", dry_run=False))

    order = Order.objects.get()
    metadata = dict(events)["metadata"]
    assert metadata["dry_run"] is False
    assert [e["kind"] for e in metadata["side_effects"]] == ["lead_updated", "order_created"]
    assert metadata["lead_id"] == order.lead_id is not None
    assert AgentRun.objects.get().dry_run is False
    # The next message of the thread answers for the same customer.
    fake_llm.script = [streamed(["Seu pedido está aguardando o pagamento."])]
    _events(_stream(staff, llm_agent.pk, "E o meu pedido?", dry_run=False, lead_id=str(metadata["lead_id"])))
    assert AgentRun.objects.order_by("-pk").first().lead_id == order.lead_id


def test_staff_of_one_store_cannot_stream_another_stores_agent(staff, other_store, fake_llm):
    from django_tenants.utils import tenant_context

    with tenant_context(other_store):
        theirs = services.create_agent_from_template("sales", name="Ventas")
    assert not Agent.objects.filter(pk=theirs.pk).exists()

    on_our_console = _stream(staff, theirs.pk, "Hola")
    their_page = staff.get(f"/admin/agents/agent/{theirs.pk}/playground/", HTTP_HOST=HOST)
    on_their_console = _stream(staff, theirs.pk, "Hola", host="store-b.localhost")

    assert on_our_console.status_code == 404 and their_page.status_code == 404
    # Our session means nothing on the other store's console: its login page, no stream.
    assert on_their_console.status_code == 302 and "/admin/login/" in on_their_console["Location"]
    assert fake_llm.requests == []


def test_the_stream_needs_a_staff_session_a_csrf_token_and_a_post(store, llm_agent, fake_llm):
    from django.conf import settings

    anonymous = _stream(Client(), llm_agent.pk, "oi")
    checked = Client(enforce_csrf_checks=True)
    checked.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert checked.login(username=STORE_A["owner_email"], password=OWNER_PASSWORD)
    without_token = _stream(checked, llm_agent.pk, "oi")
    fetched = checked.get(f"/admin/agents/agent/{llm_agent.pk}/playground/stream/", HTTP_HOST=HOST)

    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert without_token.status_code == 403
    assert fetched.status_code == 405
    assert fake_llm.requests == []


def test_a_disabled_agent_gives_a_clear_error(staff, llm_agent, fake_llm):
    Agent.objects.filter(pk=llm_agent.pk).update(is_active=False)

    response = _stream(staff, llm_agent.pk, "oi")
    page = staff.get(f"/admin/agents/agent/{llm_agent.pk}/playground/", HTTP_HOST=HOST)

    assert response.status_code == 400
    assert _events(response) == [("error", {
        "code": "no_active_agent", "message": "The agent Vendas is disabled: activate it to try it here.",
    })]
    assert "The agent Vendas is disabled" in page.content.decode()
    assert fake_llm.requests == [] and not AgentRun.objects.exists()


def test_an_empty_message_is_refused(staff, llm_agent, fake_llm):
    response = _stream(staff, llm_agent.pk, "   ")

    assert response.status_code == 400
    assert _events(response) == [("error", {"code": "message_required", "message": "Write the customer's message first."})]


def test_a_stream_chunk_the_client_cannot_read_falls_back_to_the_next_provider(staff, llm_agent, fake_llm):
    # A chunk without its delta: the provider failed mid-answer; the turn goes on with the
    # next provider of the chain (here the offline responder) and the page says so.
    status, broken = streamed(["Olá"])
    broken["__sse__"][1]["choices"][0]["delta"] = None
    fake_llm.script = [(status, broken)]

    events = _events(_stream(staff, llm_agent.pk, "oi"))

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "progress" and kinds[-2:] == ["metadata", "done"] and "error" not in kinds
    metadata = dict(events)["metadata"]
    assert metadata["provider"] == "offline"
    (failed,) = metadata["fallbacks"]
    assert failed["provider"].startswith("openai") and "could not read" in failed["error"]
    assert AgentRun.objects.get().status != "failed"  # answered by the offline responder


def test_a_turn_that_fails_ends_the_stream_with_an_error_and_its_run(staff, llm_agent, fake_llm, monkeypatch):
    from agents import services

    def broken_prompt(*args, **kwargs):
        raise RuntimeError("the prompt could not be built")

    monkeypatch.setattr(services, "_prompt", broken_prompt)  # a bug inside the turn itself

    events = _events(_stream(staff, llm_agent.pk, "oi"))

    assert [kind for kind, _ in events] == ["error"]
    assert events[0][1]["code"] == "internal_error"
    assert events[0][1]["message"] == "The agent failed to answer: RuntimeError: the prompt could not be built"
    run = AgentRun.objects.get()
    assert run.status == "failed"
    assert (events[0][1]["run_id"], events[0][1]["run_url"]) == (run.pk, f"/admin/agents/agentrun/{run.pk}/change/")


def test_the_page_in_portuguese_carries_the_scripts_words(staff, llm_agent):
    from django.conf import settings

    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    page = staff.get(f"/admin/agents/agent/{llm_agent.pk}/playground/", HTTP_HOST=HOST).content.decode()

    words = json.loads(page.split('id="playground-words">')[1].split("</script>")[0])
    assert words["calling"] == "Chamando o modelo (rodada {round}, {provider})…"
    assert words["tool_call"] == "Chamada de ferramenta"
    assert f'data-stream-url="/admin/agents/agent/{llm_agent.pk}/playground/stream/"' in page


def test_a_provider_failure_before_the_answer_is_shown_as_a_fallback(staff, llm_agent, fake_llm, products):
    from agents.tests.fake_llm import error

    fake_llm.script = [error(500)] * 3

    events = _events(_stream(staff, llm_agent.pk, "Quanto custa o collant manga longa?"))

    metadata = dict(events)["metadata"]
    assert metadata["provider"] == "offline"
    assert [f["provider"] for f in metadata["fallbacks"]] == ["openai:gpt-4o-mini"]
    assert "500" in metadata["fallbacks"][0]["error"]
    assert "Collant Manga Longa — R$ 99,90" in dict(events)["done"]["reply"]
    assert Decimal(metadata["cost"]) == Decimal(0)
