"""The store console's catalog pages (store admin only, never the platform admin)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import demo
from catalog.models import Product, StoreProfile
from conftest import OWNER_PASSWORD, STORE_A
from tenants.admin import platform_admin_site

HOST = "store-a.localhost"


@pytest.fixture
def console(client, store):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302
    return client


def test_product_list_searches_and_filters(console):
    demo.populate()
    page = console.get("/admin/catalog/product/?q=meia-cal", HTTP_HOST=HOST)
    assert page.status_code == 200
    assert b"MEIA-PE" in page.content and b"SP-CLASS" not in page.content
    out = console.get("/admin/catalog/product/?stock=out&kind=variants", HTTP_HOST=HOST)
    assert b"SP-CLASS-37" in out.content and b"SP-CLASS-36" not in out.content


def test_product_page_shows_variants_inline(console):
    demo.populate()
    shoe = Product.objects.get(sku="SP-CLASS")
    page = console.get(f"/admin/catalog/product/{shoe.pk}/change/", HTTP_HOST=HOST)
    assert page.status_code == 200
    assert b"SP-CLASS-38" in page.content


def test_csv_upload_imports_and_lists_bad_rows(console):
    upload = SimpleUploadedFile(
        "produtos.csv", b"sku,name,price,stock\nCOL-9,Collant,79.90,3\nBAD-9,Ruim,??,1\n", "text/csv"
    )
    page = console.post(
        "/admin/catalog/product/import/", {"file": upload, "format": "auto"}, HTTP_HOST=HOST
    )
    assert page.status_code == 200
    assert page.context["report"].created == 1
    assert b"1 created, 0 updated, 1 row(s) with errors." in page.content
    assert b"<td>3</td><td>price</td>" in page.content
    assert Product.objects.get(sku="COL-9").stock_quantity == 3


def test_import_page_needs_a_login(client, store):
    page = client.get("/admin/catalog/product/import/", HTTP_HOST=HOST)
    assert page.status_code == 302 and "/admin/login/" in page["Location"]


def test_store_profile_list_opens_the_one_profile(console):
    page = console.get("/admin/catalog/storeprofile/", HTTP_HOST=HOST)
    assert page.status_code == 302
    assert page["Location"] == "/admin/catalog/storeprofile/1/change/"
    assert console.get(page["Location"], HTTP_HOST=HOST).status_code == 200
    assert StoreProfile.objects.count() == 1


def test_synonyms_and_categories_pages_load(console):
    demo.populate()
    assert b"zapatillas" in console.get("/admin/catalog/synonym/", HTTP_HOST=HOST).content
    assert console.get("/admin/catalog/category/", HTTP_HOST=HOST).status_code == 200


def test_catalog_is_not_on_the_platform_admin():
    registered = {model._meta.app_label for model in platform_admin_site._registry}
    assert "catalog" not in registered


def test_staff_adds_a_synonym_with_comma_separated_equivalents(console):
    from catalog.models import Synonym

    response = console.post(
        "/admin/catalog/synonym/add/", {"term": "Mallas  ", "equivalents": "collant,body"}, HTTP_HOST=HOST
    )
    assert response.status_code == 302
    assert Synonym.objects.get(term="mallas").equivalents == ["collant", "body"]


def test_a_connection_added_in_the_console_keeps_its_keys_in_the_vault(
    console, django_capture_on_commit_callbacks
):
    from agents import vault
    from catalog.models import CatalogConnection

    response = console.post(
        "/admin/catalog/catalogconnection/add/",
        {
            "name": "Minha loja Woo", "platform": "woocommerce", "base_url": "https://loja.example.com",
            "store_id": "", "credential_name": "woo", "user_agent": "", "is_enabled": "on",
            "sync_every_minutes": "60", "consumer_key": "ck_live_123456", "consumer_secret": "cs_live_abcdef",
            "access_token": "",
        },
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302, response.content
    connection = CatalogConnection.objects.get(name="Minha loja Woo")
    assert vault.get_credential("other", "woo:consumer_key") == "ck_live_123456"
    assert vault.get_credential("other", "woo:consumer_secret") == "cs_live_abcdef"
    page = console.get(f"/admin/catalog/catalogconnection/{connection.pk}/change/", HTTP_HOST=HOST)
    assert b"cs_live_abcdef" not in page.content

    with django_capture_on_commit_callbacks() as queued:
        response = console.post(
            "/admin/catalog/catalogconnection/",
            {"action": "sync_now", "_selected_action": [connection.pk]},
            HTTP_HOST=HOST,
        )
    assert response.status_code == 302
    assert len(queued) == 1  # the sync task, enqueued after commit


def test_a_file_attached_in_the_console_is_indexed_with_its_product(console):
    from catalog.models import ProductFile
    from catalog.tests.factories import product
    from knowledge.models import Document

    shoe = product("PONTA", "Sapatilha de ponta", "300.00", 3)
    chart = SimpleUploadedFile("tabela.md", b"# Tabela\n\nPe de 23 cm: tamanho 36.\n", "text/markdown")
    response = console.post(
        "/admin/catalog/productfile/add/",
        {"product": shoe.pk, "title": "Tabela de medidas", "file": chart},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302, response.content
    attached = ProductFile.objects.get(product=shoe)
    assert Document.objects.get(pk=attached.document_id).metadata["product_sku"] == "PONTA"
    refused = console.post(
        "/admin/catalog/productfile/add/",
        {"product": shoe.pk, "title": "x", "file": SimpleUploadedFile("x.exe", b"MZ\x90\x00bin")},
        HTTP_HOST=HOST,
    )
    assert refused.status_code == 200 and b"errorlist" in refused.content
    page = console.get(f"/admin/catalog/product/{shoe.pk}/change/", HTTP_HOST=HOST)
    assert b"Tabela de medidas" in page.content
