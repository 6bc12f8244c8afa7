"""Ollama's own ``/api/chat`` through the ``ollama`` client (tool calling included)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

from agents.errors import ProviderRejected, ProviderUnavailable
from agents.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ToolCall,
    with_retries,
)


def _to_ollama(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "content": message.content or "", "tool_name": message.name}
    wire: dict[str, Any] = {"role": message.role, "content": message.content or ""}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"function": {"name": c.name, "arguments": _as_dict(c.arguments)}} for c in message.tool_calls
        ]
    return wire


def _as_dict(arguments: str) -> dict:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_clients: dict[tuple[str, float], Any] = {}
_clients_lock = threading.Lock()


def _client(host: str, timeout: float):
    """One client per host and timeout in the process (connections stay alive)."""
    client = _clients.get((host, timeout))
    if client is None:
        import ollama

        with _clients_lock:
            client = _clients.setdefault((host, timeout), ollama.Client(host=host, timeout=timeout))
    return client


class OllamaProvider:
    name = "ollama"

    def __init__(self, *, host: str, model: str, timeout: float = 60.0, max_retries: int = 2, backoff: float = 0.5):
        self.model = model
        self.host = host
        self.max_retries = max_retries
        self.backoff = backoff
        self._client = _client(host, timeout)

    @staticmethod
    def _retryable(exc: Exception) -> float | None:
        import httpx
        import ollama

        if isinstance(exc, ollama.ResponseError):
            return 0.0 if exc.status_code == 429 or exc.status_code >= 500 else None
        if isinstance(exc, (httpx.TransportError, ConnectionError)):
            return 0.0
        return None

    def _call(self, request: ChatRequest, *, stream: bool):
        """The client's answer (an iterator when streaming, already opened: its first chunk
        is read inside the retries, so a 429/5xx before any text is retried)."""
        import ollama

        model = request.model or self.model

        def call():
            answer = self._client.chat(
                model=model,
                messages=[_to_ollama(m) for m in request.messages],
                tools=list(request.tools) or None,
                options={"temperature": request.temperature, "num_predict": request.max_tokens},
                stream=stream,
            )
            if not stream:
                return answer
            first = next(answer, None)
            return itertools.chain([first] if first is not None else [], answer)

        try:
            return with_retries(
                call, retryable=self._retryable, max_retries=self.max_retries, backoff=self.backoff,
                provider=f"ollama:{model}",
            )
        except ollama.ResponseError as exc:
            raise ProviderRejected(
                f"ollama:{model} at {self.host} refused the request (HTTP {exc.status_code}): {exc.error}"
            ) from exc

    def stream(self, request: ChatRequest) -> Iterator[str | ChatResponse]:
        """The reply's text deltas from Ollama's NDJSON stream as they arrive, then the
        assembled ``ChatResponse`` (tool calls, token counts of the final chunk). A stream
        cut midway raises ``ProviderUnavailable``."""
        import httpx
        import ollama

        model = request.model or self.model
        chunks = self._call(request, stream=True)
        text: list[str] = []
        calls: list[ToolCall] = []
        last = None
        try:
            for chunk in chunks:
                last = chunk
                message = chunk.message
                if message.content:
                    text.append(message.content)
                    yield message.content
                for call in message.tool_calls or []:
                    calls.append(ToolCall(
                        id=f"ollama-{len(calls)}", name=call.function.name,
                        arguments=json.dumps(dict(call.function.arguments or {}), ensure_ascii=False),
                    ))
        except (ollama.ResponseError, httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"ollama:{model} at {self.host}: the stream broke: {exc}") from exc
        if last is None or not last.done:
            raise ProviderUnavailable(f"ollama:{model} at {self.host} ended its stream before it was done.")
        yield ChatResponse(
            content="".join(text) or None,
            tool_calls=tuple(calls),
            prompt_tokens=last.prompt_eval_count or 0,
            completion_tokens=last.eval_count or 0,
            model=last.model or model,
            finish_reason=last.done_reason or "",
        )

    def chat(self, request: ChatRequest) -> ChatResponse:
        model = request.model or self.model
        response = self._call(request, stream=False)
        message = response.message
        # Ollama gives tool calls no ids; number them so results can be matched.
        calls = tuple(
            ToolCall(
                id=f"ollama-{i}",
                name=c.function.name,
                arguments=json.dumps(dict(c.function.arguments or {}), ensure_ascii=False),
            )
            for i, c in enumerate(message.tool_calls or [])
        )
        return ChatResponse(
            content=message.content or None,
            tool_calls=calls,
            prompt_tokens=response.prompt_eval_count or 0,
            completion_tokens=response.eval_count or 0,
            model=response.model or model,
            finish_reason=response.done_reason or "",
        )
