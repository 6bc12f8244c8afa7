"""Any OpenAI-compatible chat-completions endpoint through the ``openai`` client.

OpenAI, DeepSeek, vLLM, llama.cpp's server, Ollama's ``/v1`` and the OpenAI-compatible
endpoints of Anthropic, Google and Mistral: only the base URL, key and model differ.
"""

from __future__ import annotations

import json
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
        from openai import OpenAI

        self.model = model
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        # Retries are ours (same policy and logs for every provider), not the client's.
        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)

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

    def chat(self, request: ChatRequest) -> ChatResponse:
        import openai

        kwargs: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": [to_wire(m) for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.tools:
            kwargs["tools"] = list(request.tools)
        try:
            completion = with_retries(
                lambda: self._client.chat.completions.create(**kwargs),
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
