"""Real local HTTP servers speaking the embedding providers' wire formats, for tests."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@functools.lru_cache(maxsize=4096)
def _word_vector(word: str, dimensions: int) -> tuple[float, ...]:
    rng = random.Random(hashlib.sha256(word.encode()).digest())
    return tuple(rng.gauss(0.0, 1.0) for _ in range(dimensions))


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector of the text's words (a bag of random word vectors), so
    texts sharing words are near each other, like a real embedder's."""
    words = re.findall(r"\w+", text.lower()) or [text]
    raw = [0.0] * dimensions
    for word in words:
        for i, x in enumerate(_word_vector(word, dimensions)):
            raw[i] += x
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


@dataclass
class FakeEmbeddingServer:
    """Answers OpenAI ``POST /v1/embeddings`` and Ollama ``POST /api/embed``.

    ``failures`` is a list of HTTP statuses answered (in order) before succeeding;
    ``requests`` records every request as (path, json body, headers).
    """

    dimensions: int = 384
    failures: list[int] = field(default_factory=list)
    retry_after: str | None = None
    requests: list[tuple[str, dict, dict]] = field(default_factory=list)

    def __post_init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                owner.requests.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
                if owner.failures:
                    status = owner.failures.pop(0)
                    payload = json.dumps({"error": {"message": f"fake {status}", "type": "x"}}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if owner.retry_after is not None:
                        self.send_header("Retry-After", owner.retry_after)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                vectors = [fake_vector(t, owner.dimensions) for t in texts]
                if self.path.endswith("/embeddings"):
                    payload = {
                        "object": "list",
                        "model": body["model"],
                        "data": [
                            {"object": "embedding", "index": i, "embedding": v}
                            for i, v in enumerate(vectors)
                        ],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    }
                elif self.path == "/api/embed":
                    payload = {"model": body["model"], "embeddings": vectors}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Clients keep connections alive; don't wait for them on close.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
