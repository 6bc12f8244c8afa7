import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.errors import ProductNotFound
from catalog.files import COLLECTION, attach_product_file, detach_product_file, product_files
from catalog.models import ProductFile
from catalog.tests.factories import product
from knowledge.errors import UnsupportedFileType
from knowledge.models import Chunk, Document
from knowledge.search import search

SIZE_CHART = (
    "# Tabela de medidas — sapatilha de ponta\n\n"
    "Meça o pé em pé, do calcanhar ao dedão. Pé de 22,5 cm: tamanho 35. "
    "Pé de 23 cm: tamanho 36. Pé de 23,5 cm: tamanho 37. "
    "Entre dois tamanhos, escolha o maior.\n"
).encode()
MANUAL = (
    "# Cuidados com o collant\n\nLavar à mão em água fria. Não usar alvejante. Secar à sombra.\n"
).encode()


@pytest.fixture
def pointe(store):
    return product("PONTA", "Sapatilha de ponta Capezio", "389.90", 5)


@pytest.fixture
def leotard(store):
    return product("COLLANT", "Collant regata", "119.00", 5)


def test_a_size_chart_is_indexed_with_the_product_as_metadata(pointe, leotard):
    attached = attach_product_file(
        pointe.pk, filename="tabela.md", data=SIZE_CHART, title="Tabela de medidas", ingest="sync"
    )
    attach_product_file(leotard.pk, filename="cuidados.md", data=MANUAL, ingest="sync")

    assert attached.status == "ready"
    document = Document.objects.get(pk=attached.document_id)
    assert document.collection.name == COLLECTION
    assert document.title == "Tabela de medidas — Sapatilha de ponta Capezio"
    chunks = Chunk.objects.filter(document=document)
    assert chunks.exists()
    for chunk in chunks:
        assert chunk.metadata["product_sku"] == "PONTA"
        assert chunk.metadata["product_id"] == pointe.pk
        assert chunk.metadata["product_name"] == "Sapatilha de ponta Capezio"

    # A customer's question finds it, and can be narrowed to the product.
    hits = search("que tamanho de sapatilha para pé de 23 cm?", top_k=3)
    assert hits[0].document_id == attached.document_id
    assert hits[0].metadata["product_sku"] == "PONTA"
    only_leotard = search("tamanho do pé", metadata={"product_sku": "COLLANT"})
    assert {h.metadata["product_sku"] for h in only_leotard} == {"COLLANT"}


def test_attaching_the_same_file_again_keeps_one_attachment(pointe):
    first = attach_product_file(pointe.pk, filename="tabela.md", data=SIZE_CHART, ingest="none")
    again = attach_product_file(pointe.pk, filename="tabela.md", data=SIZE_CHART, ingest="none")

    assert again.id == first.id
    assert ProductFile.objects.count() == 1
    assert Document.objects.count() == 1


def test_detaching_a_file_removes_it_from_the_knowledge_base(pointe):
    attached = attach_product_file(pointe.pk, filename="tabela.md", data=SIZE_CHART, ingest="sync")

    detach_product_file(attached.id)

    assert product_files(pointe.pk) == []
    assert not Document.objects.filter(pk=attached.document_id).exists()
    assert not Chunk.objects.filter(document_id=attached.document_id).exists()


def test_a_file_of_an_unsupported_type_is_refused_naming_the_field(pointe):
    with pytest.raises(UnsupportedFileType) as refused:
        attach_product_file(pointe.pk, filename="foto.exe", data=b"MZ\x90\x00\x03binary", ingest="none")
    assert refused.value.field == "file"
    assert ProductFile.objects.count() == 0


def test_a_file_for_an_unknown_product_is_refused(store):
    with pytest.raises(ProductNotFound):
        attach_product_file(999999, filename="tabela.md", data=SIZE_CHART)


def test_files_over_the_api(pointe, client, other_store):
    from catalog.models import CatalogConnection
    from tenants.tests.api_helpers import api_as, error

    app = api_as(client, "store-a", ["app"])
    upload = SimpleUploadedFile("tabela.md", SIZE_CHART, "text/markdown")

    created = app._call(
        "post", f"products/{pointe.pk}/files", {"file": upload, "title": "Tabela"}, multipart=True
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["product_id"], body["status"]) == ("Tabela", pointe.pk, "pending")
    assert app.get(f"products/{pointe.pk}/files").json()[0]["document_id"] == body["document_id"]

    refused = app._call(
        "post", f"products/{pointe.pk}/files",
        {"file": SimpleUploadedFile("x.exe", b"MZ\x90\x00binary", "application/octet-stream")},
        multipart=True,
    )
    assert refused.status_code == 400 and "file" in error(refused)["fields"]
    assert app.get("products/999999/files").status_code == 404

    assert app.delete(f"products/{pointe.pk}/files/{body['id']}").status_code == 204
    assert app.get(f"products/{pointe.pk}/files").json() == []

    # Connections: listed without secrets, a sync is queued (202); another store's is a 404.
    connection = CatalogConnection.objects.create(
        name="Woo", platform="woocommerce", base_url="https://shop.example.com", credential_name="woo"
    )
    listed = app.get("catalog/connections").json()
    assert [c["name"] for c in listed] == ["Woo"] and "credential_name" not in listed[0]
    queued = app.post(f"catalog/connections/{connection.pk}/sync")
    assert queued.status_code == 202
    assert app.post("catalog/connections/999999/sync").status_code == 404
    store_b = api_as(client, "store-b", ["app"])
    assert store_b.post(f"catalog/connections/{connection.pk}/sync").status_code == 404
