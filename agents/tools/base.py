"""What every tool is made of: its context, its outcome, its wire spec."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agents.models import Agent
from agents.turns import SideEffect, TurnRequest


@dataclass
class ToolContext:
    """What a tool may know about the turn it runs in, and what it leaves behind."""

    agent: Agent
    request: TurnRequest
    lead_id: int | None
    dry_run: bool = False
    side_effects: list[SideEffect] = field(default_factory=list)
    handoff_reason: str = ""
    sources: list[str] = field(default_factory=list)
    # The store's own HTTP/webhook tools, loaded once per turn (by name).
    store_tools: dict[str, Tool] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    result: dict[str, Any]

    def as_message(self) -> str:
        return json.dumps(self.result, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolContext, dict[str, Any], str], dict[str, Any]]
    writes: bool = False  # simulated in a dry run

    @property
    def spec(self) -> dict[str, Any]:
        """The tool in the chat-completions wire format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ToolFailed(Exception):
    """Raised by a tool body for a problem the model should read and fix."""


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def actor(ctx: ToolContext) -> str:
    return f"agent:{ctx.agent.pk}"
