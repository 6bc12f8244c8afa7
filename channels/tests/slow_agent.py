"""A slow stand-in for the agent, for the test that kills a worker in the middle of a turn."""

from __future__ import annotations

import time

from agents.turns import TurnRequest, TurnResult

SECONDS = 4.0


def run_turn(request: TurnRequest) -> TurnResult:
    time.sleep(SECONDS)
    return TurnResult(reply=f"Resposta para: {request.messages[-1].text}", provider="slow-test-agent")


BRIEF_SECONDS = 0.1


def run_brief_turn(request: TurnRequest) -> TurnResult:
    """An agent that thinks a tenth of a second (the fairness test's stand-in for an LLM)."""
    time.sleep(BRIEF_SECONDS)
    return TurnResult(reply=f"Resposta para: {request.messages[-1].text}", provider="brief-test-agent")
