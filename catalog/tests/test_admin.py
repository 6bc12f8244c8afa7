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
