from __future__ import annotations

import json

from agents import services
from agents.models import TokenUsage
from agents.tests.conftest import turn
from agents.tests.fake_llm import error, streamed, tool_call


def test_a_streamed_turn_sends_tool_calls_then_the_answer_in_pieces(llm_agent, fake_llm, products):
    fake_llm.script = [
        streamed(tool_calls=[
            tool_call("call_1", "search_products", {"query": "collant"}),
            tool_call("call_2", "search_products", {"query": "meia"}),
        ]),
        streamed(["O collant ", "custa R$ 99,90", "."]),
    ]

    events = list(services.stream_turn(turn("Collant e meia?")))

    kinds = [e.kind for e in events]
    assert kinds == ["progress", "tool_call", "tool_call", "progress", "answer", "answer", "answer", "done"]
    assert [e.data["delta"] for e in events if e.kind == "answer"] == ["O collant ", "custa R$ 99,90", "."]
    assert events[1].data == {"name": "search_products", "arguments": '{"query": "collant"}', "ok": True}
    assert events[-1].result.reply == "O collant custa R$ 99,90."
    assert fake_llm.requests[0]["stream"] is True
    assert fake_llm.requests[0]["stream_options"] == {"include_usage": True}
    assert [m["tool_call_id"] for m in fake_llm.tool_messages(1)] == ["call_1", "call_2"]
    assert json.loads(fake_llm.tool_messages(1)[1]["content"])["products"][0]["name"] == "Meia-calça Ballet com Pé"
    assert list(TokenUsage.objects.values_list("prompt_tokens", "completion_tokens")) == [(90, 12), (90, 12)]


def test_a_streamed_turn_falls_back_to_the_offline_responder(llm_agent, fake_llm, products):
    fake_llm.script = [error(500)] * 3

    events = list(services.stream_turn(turn("Quanto custa o collant manga longa?")))

    answer = "".join(e.data["delta"] for e in events if e.kind == "answer")
    assert answer == events[-1].result.reply
    assert "Collant Manga Longa — R$ 99,90" in answer
    assert events[-1].result.provider == "offline"
