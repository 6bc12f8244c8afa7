"""The knowledge API: collections, documents (upload, URL, pasted text; list, detail,
delete, re-index) and search; with auth, scope and tenant rules."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from knowledge import services
from knowledge.models import Collection, Document
from knowledge.tests.files import RETURNS_MD, SHIPPING_HTML
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


@pytest.fixture
def reader(client, store):
    return api_as(client, "store-a", ["read"])


@pytest.fixture
def store_b(client, store, other_store):
    return api_as(client, "store-b", ["app"])


@pytest.fixture
def policies(store):
    collection = services.create_collection("Policies", chunk_tokens=96, chunk_overlap=16)
    services.upload_document(collection.pk, filename="returns.md", data=RETURNS_MD, ingest="sync")
    services.upload_document(collection.pk, filename="shipping.html", data=SHIPPING_HTML, ingest="sync")
    return collection


def _upload(api, collection_id, name="returns.md", data=RETURNS_MD, **fields):
    files = {"collection": collection_id, "file": SimpleUploadedFile(name, data), **fields}
    return api._call("post", "knowledge/documents", files, multipart=True)


ENDPOINTS = [
    ("get", "knowledge/collections"), ("post", "knowledge/collections"),
    ("get", "knowledge/collections/1"), ("patch", "knowledge/collections/1"),
    ("get", "knowledge/documents"), ("post", "knowledge/documents"),
    ("get", "knowledge/documents/1"), ("delete", "knowledge/documents/1"),
    ("post", "knowledge/documents/1/reindex"), ("get", "knowledge/search"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_knowledge_endpoint_needs_a_key(client, store, method, path):
    response = getattr(api_as(client, "store-a", None), method)(path)
    assert response.status_code == 401


@pytest.mark.parametrize("method, path", [e for e in ENDPOINTS if e[0] != "get"])
def test_a_read_key_cannot_change_the_knowledge_base(reader, method, path):
    assert getattr(reader, method)(path).status_code == 403


def test_a_read_key_reads_and_searches(reader, policies):
    document = Document.objects.filter(collection=policies).first()
    assert reader.get("knowledge/collections").status_code == 200
    assert reader.get(f"knowledge/collections/{policies.pk}").json()["document_count"] == 2
    assert reader.get("knowledge/documents").status_code == 200
    assert reader.get(f"knowledge/documents/{document.pk}").json()["status"] == "ready"
    assert reader.get("knowledge/search", {"q": "Correios", "mode": "fulltext"}).status_code == 200


def test_a_webhook_key_cannot_search(client, store):
    assert api_as(client, "store-a", ["webhook"]).get("knowledge/search", {"q": "x"}).status_code == 403


@pytest.mark.parametrize(
    "method, path",
    [("get", "knowledge/collections/{c}"), ("patch", "knowledge/collections/{c}"),
     ("get", "knowledge/documents/{d}"), ("delete", "knowledge/documents/{d}"),
     ("post", "knowledge/documents/{d}/reindex")],
)
def test_store_b_gets_404_for_store_a_knowledge(store_b, policies, method, path):
    document = Document.objects.filter(collection=policies).first()
    response = getattr(store_b, method)(path.format(c=policies.pk, d=document.pk))
    assert response.status_code == 404
    assert Document.objects.filter(pk=document.pk, status="ready").exists()


def test_store_b_cannot_upload_into_store_a_collection(store_b, policies):
    response = _upload(store_b, policies.pk, name="other.md", data=b"# Other\n\nSome text here.")
    assert response.status_code == 404
    assert error(response)["code"] == "collection_not_found"
    assert policies.documents.count() == 2


def test_store_b_sees_and_finds_nothing_of_store_a(store_b, policies):
    assert store_b.get("knowledge/collections").json()["results"] == []
    assert store_b.get("knowledge/documents").json()["results"] == []
    found = store_b.get("knowledge/search", {"q": "Correios", "mode": "fulltext"}).json()["results"]
    assert found == []


def test_collections_are_created_once_by_name_and_edited(app):
    created = app.post("knowledge/collections", {"name": "FAQ", "description": "Questions"})
    assert created.status_code == 201
    again = app.post("knowledge/collections", {"name": "FAQ"})
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    edited = app.patch(f"knowledge/collections/{created.json()['id']}", {"chunk_tokens": 200, "chunk_overlap": 20})
    assert (edited.json()["chunk_tokens"], edited.json()["chunk_overlap"]) == (200, 20)
    services.create_collection("Guides")
    taken = app.patch(f"knowledge/collections/{created.json()['id']}", {"name": "Guides"})
    assert taken.status_code == 400 and "name" in error(taken)["fields"]
    assert Collection.objects.count() == 2


@pytest.mark.parametrize(
    "payload, field",
    [({}, "name"), ({"name": "X", "chunk_tokens": 50, "chunk_overlap": 50}, "chunk_overlap"),
     ({"name": "X", "chunk_tokens": 4}, "chunk_tokens"),
     # found by the contract test: an overlap above the default size was a 500
     ({"name": "X", "chunk_overlap": 5000}, "chunk_overlap")],
)
def test_bad_collection_input_names_the_field(app, payload, field):
    response = app.post("knowledge/collections", payload)
    assert response.status_code == 400
    assert field in error(response)["fields"]


def test_an_upload_is_queued_for_ingestion_once(app, django_capture_on_commit_callbacks):
    collection = services.create_collection("Policies")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _upload(app, collection.pk, title="Returns")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["title"], body["format"], body["status"], body["created"]) == ("Returns", "md", "pending", True)
    assert len(queued) == 1  # the ingestion task, enqueued once the upload commits
    again = _upload(app, collection.pk)
    assert (again.status_code, again.json()["id"], again.json()["created"]) == (200, body["id"], False)


def test_pasted_text_becomes_a_document(app):
    collection = services.create_collection("Notes")
    response = app.post("knowledge/documents", {"collection": collection.pk, "title": "Hours",
                                                "text": "# Hours\n\nOpen 9 to 18.", "text_format": "md"})
    assert response.status_code == 202, response.content
    assert (response.json()["source_kind"], response.json()["format"]) == ("text", "md")


@pytest.mark.parametrize(
    "fields, name, data, code, field",
    [
        ({}, "photo.png", b"\x89PNG\r\n\x1a\n....", "unsupported_file_type", "file"),
        ({}, "empty.txt", b"   ", "empty_document", "file"),
        ({"url": "https://example.com/x"}, "a.md", b"# A\n\ntext", "invalid", "url"),
    ],
)
def test_a_bad_upload_names_the_field(app, fields, name, data, code, field):
    collection = services.create_collection("Policies")
    response = _upload(app, collection.pk, name=name, data=data, **fields)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == code and field in error(response)["fields"]


@pytest.mark.parametrize(
    "payload, field",
    [({"title": "x"}, "collection"), ({"collection": 1}, "file"),
     ({"collection": 1, "text": "hello"}, "title"), ({"collection": 1, "url": "nope"}, "url")],
)
def test_a_document_needs_one_valid_source(app, payload, field):
    response = app.post("knowledge/documents", payload)
    assert response.status_code == 400
    assert field in error(response)["fields"]


def test_an_unknown_collection_is_404(app):
    response = app.post("knowledge/documents", {"collection": 999999, "title": "t", "text": "hello"})
    assert response.status_code == 404
    assert "collection" in error(response)["fields"]


def test_documents_list_filter_delete_and_reindex(app, policies, django_capture_on_commit_callbacks):
    other = services.create_collection("Other")
    services.add_text_document(other.pk, title="Note", text="Just a note.", ingest="none")
    listed = app.get("knowledge/documents", {"collection": policies.pk}).json()["results"]
    assert sorted(d["title"] for d in listed) == ["returns.md", "shipping.html"]
    pending = app.get("knowledge/documents", {"status": "pending"}).json()["results"]
    assert [d["title"] for d in pending] == ["Note"]
    assert "status" in error(app.get("knowledge/documents", {"status": "lost"}))["fields"]

    returns = Document.objects.get(title="returns.md")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        reindex = app.post(f"knowledge/documents/{returns.pk}/reindex")
    assert (reindex.status_code, reindex.json(), len(queued)) == (202, {"queued": 1}, 1)

    assert app.delete(f"knowledge/documents/{returns.pk}").status_code == 204
    assert not Document.objects.filter(pk=returns.pk).exists()
    assert app.delete(f"knowledge/documents/{returns.pk}").status_code == 404


def test_search_finds_and_cites_the_answer(app, policies):
    response = app.get("knowledge/search", {"q": "how many days do I have to return pointe shoes?", "top_k": 2})
    assert response.status_code == 200, response.content
    hits = response.json()["results"]
    assert len(hits) == 2
    assert hits[0]["source"] == "returns.md, Returns policy > How to return"
    assert hits[0]["collection_name"] == "Policies"
    fulltext = app.get("knowledge/search", {"q": "Correios", "mode": "fulltext"}).json()["results"]
    assert [h["heading"] for h in fulltext] == ["Shipping > Costs"]


def test_search_within_collections(app, policies):
    other = services.create_collection("Other")
    found = app.get("knowledge/search", {"q": "Correios", "mode": "fulltext", "collection": [other.pk]})
    assert found.json()["results"] == []


@pytest.mark.parametrize(
    "params, field",
    [({}, "q"), ({"q": "x", "top_k": 0}, "top_k"), ({"q": "x", "mode": "magic"}, "mode"),
     ({"q": "x", "collection": "abc"}, "collection"), ({"q": "x", "min_score": 2}, "min_score")],
)
def test_bad_search_parameters_name_the_field(app, params, field):
    response = app.get("knowledge/search", params)
    assert response.status_code == 400
    assert field in error(response)["fields"]


def test_each_store_searches_only_its_own_documents(app, policies, other_store):
    with tenant_context(other_store):
        collection = services.create_collection("B")
        services.add_text_document(collection.pk, title="B shipping", text="We ship with Jadlog only.", ingest="sync")
    found = app.get("knowledge/search", {"q": "Jadlog", "mode": "fulltext"}).json()["results"]
    assert found == []
