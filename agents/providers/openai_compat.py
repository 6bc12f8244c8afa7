"""Any OpenAI-compatible chat-completions endpoint through the ``openai`` client.

OpenAI, DeepSeek, vLLM, llama.cpp's server, Ollama's ``/v1`` and the OpenAI-compatible
endpoints of Anthropic, Google and Mistral: only the base URL, key and model differ.
"""

from __future__ import annotations

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
    retry_after_seconds,
    with_retries,
)


def to_wire(message: ChatMessage) -> dict[str, Any]:
    """A message in the chat-completions wire format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content or ""}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    return wire


_clients: dict[tuple[str, str, float], Any] = {}
_clients_lock = threading.Lock()


def _client(base_url: str, api_key: str, timeout: float):
    """One client per endpoint, key and timeout in the process: building one loads TLS
    certificates (~100 ms) and sharing it keeps connections alive between turns."""
    key = (base_url, api_key, timeout)
    client = _clients.get(key)
    if client is None:
        from openai import OpenAI

        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                # Retries are ours (same policy and logs for every provider), not the client's.
                client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
                _clients[key] = client
    return client


class OpenAICompatibleProvider:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout: float = 60.0,
        max_retries: int = 2,
        backoff: float = 0.5,
    ):
        self.model = model
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        self._client = _client(base_url, api_key, timeout)

    @staticmethod
    def _retryable(exc: Exception) -> float | None:
        import openai

        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 429 or exc.status_code >= 500:
                return retry_after_seconds(exc.response.headers.get("retry-after"))
            return None
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return 0.0
        return None

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": [to_wire(m) for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.tools:
            kwargs["tools"] = list(request.tools)
        return kwargs

    def _create(self, kwargs: dict[str, Any], *, stream: bool = False):
        """POST /chat/completions with our own JSON body. The client's ``create`` walks every
        message and tool schema to transform it (tens of ms per call for an agent with a
        dozen tools); our wire format is already the API's, so it is sent as it is."""
        from openai import Stream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        body = json.dumps(kwargs, ensure_ascii=False).encode()
        options: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
        if stream:
            return self._client.post("/chat/completions", cast_to=ChatCompletion, content=body, options=options,
                                     stream=True, stream_cls=Stream[ChatCompletionChunk])
        return self._client.post("/chat/completions", cast_to=ChatCompletion, content=body, options=options)

    def stream(self, request: ChatRequest) -> Iterator[str | ChatResponse]:
        """The reply's text deltas as they arrive, then the assembled ``ChatResponse``
        (tool calls rebuilt from their fragments, usage from the last chunk). Retries
        apply until the stream opens; a stream cut midway raises ``ProviderUnavailable``."""
        import httpx2  # the transport of this openai client
        import openai

        kwargs = self._kwargs(request)
        label = f"openai:{kwargs['model']}"
        try:
            chunks = with_retries(
                lambda: self._create(
                    {**kwargs, "stream": True, "stream_options": {"include_usage": True}}, stream=True
                ),
                retryable=self._retryable,
                max_retries=self.max_retries,
                backoff=self.backoff,
                provider=label,
            )
        except openai.APIStatusError as exc:
            raise ProviderRejected(
                f"{label} at {self.base_url} refused the request (HTTP {exc.status_code}): {exc.message}"
            ) from exc
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        prompt_tokens = completion_tokens = 0
        model = kwargs["model"]
        finish = ""
        try:
            for chunk in chunks:
                model = chunk.model or model
                if chunk.usage:
                    prompt_tokens = chunk.usage.prompt_tokens or 0
                    completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield delta.content
                    for fragment in delta.tool_calls or []:
                        slot = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = fragment.id or slot["id"]
                        if fragment.function is not None:
                            slot["name"] += fragment.function.name or ""
                            slot["arguments"] += fragment.function.arguments or ""
                    finish = choice.finish_reason or finish
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise ProviderUnavailable(f"{label} at {self.base_url}: the stream broke: {exc}") from exc
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # A chunk not shaped like chat-completions ("delta": null, a missing field):
            # the provider failed mid-answer, so the turn falls back like for a broken stream.
            raise ProviderUnavailable(
                f"{label} at {self.base_url}: the stream sent a chunk it could not read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        yield ChatResponse(
            content="".join(text) or None,
            tool_calls=tuple(
                ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
                for i, c in sorted(calls.items())
            ),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            model=model,
            finish_reason=finish,
        )

    def chat(self, request: ChatRequest) -> ChatResponse:
        import openai

        kwargs = self._kwargs(request)
        try:
            completion = with_retries(
                lambda: self._create(kwargs),
                retryable=self._retryable,
                max_retries=self.max_retries,
                backoff=self.backoff,
                provider=f"openai:{kwargs['model']}",
            )
        except openai.APIStatusError as exc:
            raise ProviderRejected(
                f"openai:{kwargs['model']} at {self.base_url} refused the request "
                f"(HTTP {exc.status_code}): {exc.message}"
            ) from exc
        except openai.OpenAIError as exc:  # a malformed answer, for instance
            raise ProviderUnavailable(f"openai:{kwargs['model']} at {self.base_url}: {exc}") from exc
        if not completion.choices:
            raise ProviderUnavailable(f"openai:{kwargs['model']} answered without a choice.")
        choice = completion.choices[0]
        calls = tuple(
            ToolCall(
                id=c.id,
                name=c.function.name,
                arguments=c.function.arguments
                if isinstance(c.function.arguments, str)
                else json.dumps(c.function.arguments),
            )
            for c in (choice.message.tool_calls or [])
            if getattr(c, "function", None) is not None
        )
        usage = completion.usage
        return ChatResponse(
            content=choice.message.content,
            tool_calls=calls,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=completion.model or kwargs["model"],
            finish_reason=choice.finish_reason or "",
        )
