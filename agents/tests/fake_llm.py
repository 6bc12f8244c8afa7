"""A real local HTTP server speaking the chat-completions wire format (and Ollama's
``/api/chat``), scripted per test; it records every request it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, Any]]


def tool_call(call_id: str, name: str, arguments: dict | str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)},
    }


def completion(content: str | None = None, tool_calls: list[dict] | None = None, *, prompt_tokens: int = 120,
               completion_tokens: int = 30, model: str = "gpt-4o-mini") -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return 200, {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def streamed(text_parts: list[str] = (), tool_calls: list[dict] | None = None, *, model: str = "gpt-4o-mini",
             prompt_tokens: int = 90, completion_tokens: int = 12) -> Reply:
    """A chat-completions stream: text deltas, tool calls cut into fragments, a usage chunk."""
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": part}) for part in text_parts]
    for index, call in enumerate(tool_calls or []):
        arguments = call["function"]["arguments"]
        chunks.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                             "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, "tool_calls" if tool_calls else "stop"))
    chunks.append({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
                   "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}})
    return 200, {"__sse__": chunks}


def ollama_streamed(text_parts: list[str] = (), tool_calls: list[dict] | None = None, *, model: str = "llama3.1",
                    prompt_eval_count: int = 80, eval_count: int = 12) -> Reply:
    """Ollama's /api/chat stream: one JSON object per line, the last one ``done`` with counts."""
    def chunk(message: dict, done: bool = False) -> dict:
        return {"model": model, "created_at": "2026-11-25T12:00:00Z", "message": {"role": "assistant", **message},
                "done": done}

    lines = [chunk({"content": part}) for part in text_parts]
    if tool_calls:
        lines.append(chunk({"content": "", "tool_calls": tool_calls}))
    final = chunk({"content": ""}, done=True) | {"done_reason": "stop", "prompt_eval_count": prompt_eval_count,
                                                   "eval_count": eval_count}
    return 200, {"__ndjson__": [*lines, final]}


def error(status: int) -> Reply:
    return status, {"error": {"message": f"fake {status}", "type": "server_error", "code": None}}


@dataclass
class FakeLLMServer:
    """Answers each POST with the next scripted reply (a 500 once the script runs out)."""

    script: list[Reply | Callable[[dict], Reply]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def start(self) -> FakeLLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                owner.requests.append(body)
                owner.paths.append(self.path)
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                step = owner.script.pop(0) if owner.script else error(500)
                status, payload = step(body) if callable(step) else step
                if "__ndjson__" in payload:
                    data = "".join(json.dumps(c) + "\n" for c in payload["__ndjson__"]).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if "__sse__" in payload:
                    events = "".join(f"data: {json.dumps(c)}\n\n" for c in payload["__sse__"])
                    data = (events + "data: [DONE]\n\n").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def tool_messages(self, index: int) -> list[dict[str, Any]]:
        return [m for m in self.requests[index]["messages"] if m["role"] == "tool"]
