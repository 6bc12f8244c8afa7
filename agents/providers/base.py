"""The one interface every LLM provider implements, in our own words (frozen dataclasses)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from agents.errors import ProviderUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the JSON text the model wrote; validated by the tools registry


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""  # role "tool": the call this answers
    name: str = ""  # role "tool": the tool's name


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[dict[str, Any], ...] = ()  # OpenAI "function" tool specs
    temperature: float = 0.7
    max_tokens: int = 600


@dataclass(frozen=True)
class ChatResponse:
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    finish_reason: str = ""
    # The offline responder asks for a person this way when it may not call a tool.
    handoff_reason: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)


class Provider(Protocol):
    name: str  # "openai", "ollama", "offline"
    model: str

    def chat(self, request: ChatRequest) -> ChatResponse:
        """One completion. Raises ``ProviderUnavailable`` (after its retries) or
        ``ProviderRejected``."""
        ...


def with_retries(
    call: Callable[[], T],
    *,
    retryable: Callable[[Exception], float | None],
    max_retries: int,
    backoff: float,
    provider: str,
) -> T:
    """Run ``call``; on a retryable failure (``retryable`` returns the seconds the server
    asked to wait, None for "do not retry") sleep with exponential backoff and jitter, at
    most ``max_retries`` more times, then raise ``ProviderUnavailable``."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # filtered right below: only retryable failures are kept
            retry_after = retryable(exc)
            if retry_after is None:
                raise
            if attempt >= max_retries:
                raise ProviderUnavailable(f"{provider} failed {attempt + 1} time(s): {exc}") from exc
            delay = max(retry_after, backoff * (2**attempt) * (1 + random.random() / 2))
            logger.warning(
                "agents.provider.retry",
                extra={"provider": provider, "attempt": attempt + 1, "delay": delay, "error": str(exc)},
            )
            time.sleep(min(delay, 30.0))
            attempt += 1


def retry_after_seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0
