from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import OWNER_PASSWORD, STORE_A
from knowledge import services
from knowledge.models import Chunk, Document
from knowledge.tests.files import SIZES_CSV

HOST = "store-a.localhost"


def _login(client):
    client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )


def test_staff_upload_a_document_and_see_its_status(client, store, django_capture_on_commit_callbacks):
    collection = services.create_collection("General")
    _login(client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/knowledge/document/add/",
            {"collection": collection.pk, "title": "Sizes",
             "upload": SimpleUploadedFile("sizes.csv", SIZES_CSV, content_type="text/csv")},
            HTTP_HOST=HOST,
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.get()
    assert (document.title, document.status, document.format) == ("Sizes", "pending", "csv")
    assert len(callbacks) == 1  # the ingestion task, enqueued on commit
    services.ingest_document(document.pk)
    page = client.get("/admin/knowledge/document/", HTTP_HOST=HOST).content.decode()
    assert "Sizes" in page and "Ready" in page and 'value="100"' in page


def test_an_upload_of_the_wrong_type_shows_the_error_on_the_field(client, store):
    collection = services.create_collection("General")
    _login(client)
    response = client.post(
        "/admin/knowledge/document/add/",
        {"collection": collection.pk, "upload": SimpleUploadedFile("x.pdf", b"not a pdf")},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 200
    assert "upload: x.pdf is named .pdf but its content is not a PDF." in response.content.decode()
    assert Document.objects.count() == 0


def test_try_a_search_page_shows_hits_with_scores(client, store):
    collection = services.create_collection("General")
    services.add_text_document(
        collection.pk, title="PIX", text="We accept PIX with 5% off.", ingest="sync"
    )
    _login(client)
    page = client.get(
        "/admin/knowledge/collection/search/", {"query": "PIX discount"}, HTTP_HOST=HOST
    ).content.decode()
    assert "1 hit" in page and "We accept PIX with 5% off." in page and "1.000" in page


def test_deleting_from_the_console_removes_the_chunks(client, store):
    collection = services.create_collection("General")
    document = services.add_text_document(
        collection.pk, title="PIX", text="We accept PIX.", ingest="sync"
    ).document
    _login(client)
    response = client.post(
        f"/admin/knowledge/document/{document.pk}/delete/", {"post": "yes"}, HTTP_HOST=HOST
    )
    assert response.status_code == 302
    assert Document.objects.count() == 0 and Chunk.objects.count() == 0
