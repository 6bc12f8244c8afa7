from __future__ import annotations

import json

from agents import services
from agents.models import TokenUsage
from agents.tests.conftest import turn


def ollama_reply(content: str = "", tool_calls: list[dict] | None = None) -> tuple[int, dict]:
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return 200, {
        "model": "llama3.1", "created_at": "2026-11-25T12:00:00Z", "message": message,
        "done": True, "done_reason": "stop", "prompt_eval_count": 80, "eval_count": 12,
    }


def test_an_ollama_agent_calls_tools_through_ollamas_own_api(store, fake_llm, products):
    agent = services.create_agent_from_template("sales", provider="ollama", model="llama3.1", make_default=True)
    agent.base_url = fake_llm.url
    agent.save()
    fake_llm.script = [
        ollama_reply(tool_calls=[{"function": {"name": "search_products", "arguments": {"query": "meia-calça"}}}]),
        ollama_reply("A Meia-calça Ballet com Pé custa R$ 39,90."),
    ]

    result = services.run_turn(turn("Tem meia-calça?"))

    assert (result.reply, result.provider, result.model) == ("A Meia-calça Ballet com Pé custa R$ 39,90.", "ollama", "llama3.1")
    assert fake_llm.paths == ["/api/chat", "/api/chat"]
    first, second = fake_llm.requests
    assert first["model"] == "llama3.1" and first["stream"] is False
    assert first["options"]["temperature"] == 0.7
    assert "search_products" in [t["function"]["name"] for t in first["tools"]]
    tool_message = second["messages"][-1]
    assert (tool_message["role"], tool_message["tool_name"]) == ("tool", "search_products")
    assert json.loads(tool_message["content"])["products"][0]["name"] == "Meia-calça Ballet com Pé"
    assert list(TokenUsage.objects.values_list("provider", "prompt_tokens", "completion_tokens")) == [("ollama", 80, 12)] * 2


def test_ollama_down_falls_back_to_offline(store, fake_llm, products):
    agent = services.create_agent_from_template("sales", provider="ollama", model="llama3.1", make_default=True)
    agent.base_url = fake_llm.url
    agent.save()
    fake_llm.script = [(503, {"error": "loading model"})] * 3

    result = services.run_turn(turn("Quanto custa a meia-calça ballet?"))

    assert result.provider == "offline"
    assert "Meia-calça Ballet com Pé — R$ 39,90" in result.reply


def test_an_ollama_agent_streams_through_ollamas_ndjson_api(store, fake_llm, products):
    from agents.tests.fake_llm import error, ollama_streamed

    agent = services.create_agent_from_template("sales", provider="ollama", model="llama3.1", make_default=True)
    agent.base_url = fake_llm.url
    agent.save()
    fake_llm.script = [
        error(503),
        ollama_streamed(tool_calls=[{"function": {"name": "search_products", "arguments": {"query": "meia-calça"}}}]),
        ollama_streamed(["A Meia-calça ", "Ballet com Pé ", "custa R$ 39,90."]),
    ]

    events = list(services.stream_turn(turn("Tem meia-calça?")))

    kinds = [e.kind for e in events]
    assert kinds == ["progress", "tool_call", "progress", "answer", "answer", "answer", "done"]
    assert [e.data["delta"] for e in events if e.kind == "answer"] == ["A Meia-calça ", "Ballet com Pé ", "custa R$ 39,90."]
    assert events[-1].result.reply == "A Meia-calça Ballet com Pé custa R$ 39,90."
    assert events[-1].result.provider == "ollama"
    assert fake_llm.paths == ["/api/chat"] * 3  # the 503 was retried before the stream opened
    assert all(body["stream"] is True for body in fake_llm.requests)
    tool_message = fake_llm.requests[2]["messages"][-1]
    assert json.loads(tool_message["content"])["products"][0]["name"] == "Meia-calça Ballet com Pé"
    assert list(TokenUsage.objects.values_list("provider", "prompt_tokens", "completion_tokens")) == [("ollama", 80, 12)] * 2


def test_an_ollama_stream_cut_before_done_falls_back_to_offline(store, fake_llm, products):
    agent = services.create_agent_from_template("sales", provider="ollama", model="llama3.1", make_default=True)
    agent.base_url = fake_llm.url
    agent.save()
    cut = (200, {"__ndjson__": [{"model": "llama3.1", "created_at": "2026-11-25T12:00:00Z",
                                  "message": {"role": "assistant", "content": "A meia"}, "done": False}]})
    fake_llm.script = [cut]

    events = list(services.stream_turn(turn("Quanto custa a meia-calça ballet?")))

    assert events[-1].result.provider == "offline"
    assert "Meia-calça Ballet com Pé — R$ 39,90" in events[-1].result.reply
