"""The contract between channels and the agent: a turn in, a reply (and side effects) out.

``channels`` builds a ``TurnRequest`` from a conversation and calls
``agents.services.run_turn(request)``; the agent never imports ``channels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal


@dataclass(frozen=True)
class ConversationMessage:
    role: Literal["customer", "agent", "staff"]
    text: str
    at: datetime | None = None


@dataclass(frozen=True)
class TurnRequest:
    conversation_id: int
    channel: str  # e.g. "whatsapp", "chatwoot", "api"
    messages: tuple[ConversationMessage, ...]  # oldest first; the burst to answer is at the end
    lead_id: int | None = None
    agent_id: int | None = None  # None: the store's default active agent
    # Stable id of the burst being answered; tools derive idempotency keys from it so a
    # retried turn never creates a second order.
    turn_key: str = ""
    # Answer with the offline responder only (no generative model): the store is past its
    # monthly token budget.
    offline_only: bool = False


@dataclass(frozen=True)
class SideEffect:
    kind: str  # "order_created", "lead_updated", "handoff", ...
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnResult:
    reply: str | None  # None when the agent stays silent (e.g. after a handoff)
    handoff: bool = False
    handoff_reason: str = ""
    side_effects: tuple[SideEffect, ...] = ()
    agent_id: int | None = None
    provider: str = ""
    model: str = ""
    # Where the answer comes from: knowledge passages ("Title > Heading") and web URLs.
    sources: tuple[str, ...] = ()
    run_id: int | None = None  # the AgentRun with the turn's steps (rate it by this id)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
