"""The catalog API: products (list, search, CRUD), categories, synonyms, the store
profile, CSV import and the ERP's stock sync, with their auth, scope and tenant rules."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from rest_framework.pagination import CursorPagination

from catalog.models import Category, Product, StoreProfile, Synonym
from catalog.signals import stock_changed
from catalog.tests.factories import category, product
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


@pytest.fixture
def reader(client, store):
    return api_as(client, "store-a", ["read"])


@pytest.fixture
def erp(client, store):
    return api_as(client, "store-a", ["webhook"])


@pytest.fixture
def store_b(client, store, other_store):
    return api_as(client, "store-b", ["app"])


ENDPOINTS = [
    ("get", "products"),
    ("post", "products"),
    ("get", "products/1"),
    ("patch", "products/1"),
    ("delete", "products/1"),
    ("post", "products/import"),
    ("get", "categories"),
    ("post", "categories"),
    ("get", "categories/1"),
    ("get", "synonyms"),
    ("post", "synonyms"),
    ("delete", "synonyms/1"),
    ("get", "store/profile"),
    ("put", "store/profile"),
    ("post", "stock/sync"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_catalog_endpoint_needs_a_key(client, store, method, path):
    response = getattr(api_as(client, "store-a", None), method)(path)
    assert response.status_code == 401
    assert error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "method, path",
    [("post", "products"), ("patch", "products/1"), ("delete", "products/1"),
     ("post", "products/import"), ("post", "categories"), ("post", "synonyms"),
     ("put", "store/profile"), ("post", "stock/sync")],
)
def test_a_read_key_cannot_change_the_catalog(reader, method, path):
    response = getattr(reader, method)(path)
    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["products", "categories", "synonyms", "store/profile"])
def test_a_read_key_can_list(reader, path):
    assert reader.get(path).status_code == 200


def test_a_read_key_can_open_a_product(reader):
    sapatilha = product("SAP-1", "Sapatilha de Ponta")
    assert reader.get(f"products/{sapatilha.pk}").json()["sku"] == "SAP-1"


def test_stock_sync_needs_the_webhook_scope(app):
    product("SAP-1", "Sapatilha")
    response = app.post("stock/sync", {"levels": {"SAP-1": 3}})
    assert response.status_code == 403
    assert Product.objects.get(sku="SAP-1").stock_quantity == 10


# --- tenant rules ---


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_store_b_gets_404_for_store_a_product(store_b, method):
    sapatilha = product("SAP-1", "Sapatilha")
    response = getattr(store_b, method)(f"products/{sapatilha.pk}")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    assert Product.objects.filter(pk=sapatilha.pk, name="Sapatilha").exists()


def test_store_b_gets_404_for_store_a_category_and_synonym(store_b):
    ballet = category("Ballet")
    synonym = Synonym.objects.create(term="mallas", equivalents=["leotardos"])
    assert store_b.get(f"categories/{ballet.pk}").status_code == 404
    assert store_b.delete(f"synonyms/{synonym.pk}").status_code == 404
    assert Synonym.objects.filter(pk=synonym.pk).exists()


def test_store_b_lists_never_show_store_a_rows(store_b, other_store):
    product("SAP-A", "Sapatilha da loja A")
    category("Ballet A", slug="ballet-a")
    Synonym.objects.create(term="mallas", equivalents=["leotardos"])
    with tenant_context(other_store):
        product("SAP-B", "Sapatilha da loja B")
    assert [p["sku"] for p in store_b.get("products").json()["results"]] == ["SAP-B"]
    assert [p["sku"] for p in store_b.get("products", {"q": "sapatilha"}).json()["results"]] == ["SAP-B"]
    assert store_b.get("categories").json()["results"] == []
    assert store_b.get("synonyms").json()["results"] == []


def test_stock_sync_of_store_b_never_touches_store_a(client, store, other_store):
    product("SHARED", "Sapatilha", stock=2)
    with tenant_context(other_store):
        product("SHARED", "Sapatilha B", stock=9)
    erp_b = api_as(client, "store-b", ["webhook"])
    assert erp_b.post("stock/sync", {"levels": {"SHARED": 0}}).json()["updated"] == ["SHARED"]
    assert Product.objects.get(sku="SHARED").stock_quantity == 2


def test_each_store_has_its_own_profile_through_the_api(app, store_b):
    assert app.put("store/profile", {"shipping_policy": "Frete grátis"}).status_code == 200
    assert store_b.get("store/profile").json()["shipping_policy"] == ""


# --- products ---


def test_create_read_update_and_delete_a_product(app, django_capture_on_commit_callbacks):
    ballet = category("Ballet")
    created = app.post("products", {
        "sku": "SAP-36", "name": "Sapatilha de Ponta 36", "price": "189.90", "stock_quantity": 4,
        "category": ballet.pk, "attributes": {"tamanho": "36"},
        "image_urls": ["https://cdn.example.com/sap.jpg"],
    })
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["price"], body["currency"], body["in_stock"], body["category"]) == ("189.90", "BRL", True, ballet.pk)

    fetched = app.get(f"products/{body['id']}").json()
    assert fetched["attributes"] == {"tamanho": "36"}

    events = []

    def listen(sender, **kwargs):
        events.append((kwargs["sku"], kwargs["before"], kwargs["after"]))

    stock_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            patched = app.patch(f"products/{body['id']}", {"stock_quantity": 0, "price": "199.00"})
    finally:
        stock_changed.disconnect(listen)
    assert patched.status_code == 200
    assert (patched.json()["stock_quantity"], patched.json()["in_stock"]) == (0, False)
    assert events == [("SAP-36", 4, 0)]

    assert app.delete(f"products/{body['id']}").status_code == 204
    assert not Product.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sku": "X-1", "name": "X", "price": "-1"}, "price"),
        ({"sku": "X-1", "name": "X"}, "price"),
        ({"sku": "X-1", "name": "X", "price": "1", "stock_quantity": -2}, "stock_quantity"),
        ({"sku": "X-1", "name": "X", "price": "1", "currency": "reais"}, "currency"),
        ({"sku": "X-1", "name": "X", "price": "1", "category": 999999}, "category"),
        ({"sku": "X-1", "name": "X", "price": "1", "image_urls": ["not a url"]}, "image_urls"),
        ({"sku": "X-1", "name": "X", "price": "1", "attributes": ["size"]}, "attributes"),
    ],
)
def test_bad_product_input_names_the_field(app, payload, field):
    response = app.post("products", payload)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid" and field in error(response)["fields"]


def test_a_taken_sku_is_refused(app):
    product("SAP-1", "Sapatilha")
    response = app.post("products", {"sku": "SAP-1", "name": "Outra", "price": "10"})
    assert response.status_code == 400
    assert "sku" in error(response)["fields"]


def test_a_variant_cannot_have_variants(app):
    parent = product("SAP", "Sapatilha")
    variant = product("SAP-36", "Sapatilha 36", parent=parent)
    response = app.post("products", {"sku": "SAP-36-X", "name": "X", "price": "1", "parent": variant.pk})
    assert response.status_code == 400
    assert "parent" in error(response)["fields"]


def test_a_product_on_an_order_cannot_be_deleted(app):
    from leads.models import Lead
    from orders.services import create_order

    sapatilha = product("SAP-1", "Sapatilha", stock=3)
    lead = Lead.objects.create(name="Ana")
    create_order(lead.pk, [(sapatilha.pk, 1)])
    response = app.delete(f"products/{sapatilha.pk}")
    assert response.status_code == 409
    assert error(response)["code"] == "product_in_use"
    assert Product.objects.filter(pk=sapatilha.pk).exists()


def test_the_list_filters_by_category_with_subcategories_stock_price_and_activity(app):
    ballet = category("Ballet")
    sapatilhas = category("Sapatilhas", parent=ballet)
    product("SAP-1", "Sapatilha", price="150", stock=0, category=sapatilhas)
    product("COL-1", "Collant", price="80", stock=5, category=ballet)
    product("MEIA-1", "Meia", price="30", stock=5)
    product("OLD-1", "Antigo", price="30", stock=5, is_active=False)

    def skus(**params):
        response = app.get("products", params)
        assert response.status_code == 200, response.content
        return sorted(p["sku"] for p in response.json()["results"])

    assert skus(category="ballet") == ["COL-1", "SAP-1"]
    assert skus(category=str(sapatilhas.pk)) == ["SAP-1"]
    assert skus(in_stock="true") == ["COL-1", "MEIA-1", "OLD-1"]
    assert skus(in_stock="false") == ["SAP-1"]
    assert skus(price_min="50", price_max="100") == ["COL-1"]
    assert skus(active="false") == ["OLD-1"]


def test_the_list_lists_a_product_variants(app):
    parent = product("SAP", "Sapatilha")
    product("SAP-36", "Sapatilha 36", parent=parent)
    product("SAP-37", "Sapatilha 37", parent=parent)
    product("MEIA", "Meia")
    results = app.get("products", {"parent": parent.pk}).json()["results"]
    assert [p["sku"] for p in results] == ["SAP-36", "SAP-37"]


def test_the_list_orders_and_pages_with_a_cursor(app, monkeypatch):
    monkeypatch.setattr(CursorPagination, "page_size", 2)
    for n, price in enumerate(["30", "10", "20"]):
        product(f"P-{n}", f"Produto {n}", price=price)
    first = app.get("products", {"ordering": "-price"}).json()
    assert [p["price"] for p in first["results"]] == ["30.00", "20.00"]
    second = app.get(first["next"]).json()
    assert [p["price"] for p in second["results"]] == ["10.00"]
    assert second["next"] is None


def test_q_searches_with_typos_and_synonyms_best_first(app):
    product("SAP-1", "Sapatilha de Ponta Clássica", price="189.90")
    product("COL-1", "Collant Alça Fina", price="89.90")
    product("MEIA-1", "Meia-calça Fio 40", price="29.90")
    Synonym.objects.create(term="maiô", equivalents=["collant"])

    def found(**params):
        response = app.get("products", params)
        assert response.status_code == 200, response.content
        return [p["sku"] for p in response.json()["results"]]

    assert found(q="sapatilha classica") == ["SAP-1"]
    assert found(q="sapatila") == ["SAP-1"]
    assert found(q="maio") == ["COL-1"]
    assert found(q="sapatilha", price_max="100") == []
    assert app.get("products", {"q": "collant"}).json()["next"] is None


@pytest.mark.parametrize(
    "params, field",
    [
        ({"q": "sapatilha", "limit": "0"}, "limit"),
        ({"q": "sapatilha", "active": "false"}, "active"),
        ({"q": "sapatilha", "price_min": "50", "price_max": "10"}, "price_min"),
        ({"category": "no-such-category"}, "category"),
        ({"q": "sapatilha", "category": "no-such-category"}, "category"),
        ({"price_min": "cheap"}, "price_min"),
        ({"parent": "999999"}, "parent"),
    ],
)
def test_bad_list_parameters_name_the_field(app, params, field):
    response = app.get("products", params)
    assert response.status_code == 400, response.content
    assert field in error(response)["fields"]


# --- import ---


def test_import_a_csv_reports_created_updated_and_row_errors(app):
    csv = (
        b"sku,name,price,stock,category\n"
        b"SAP-1,Sapatilha de Ponta,\"189,90\",4,Ballet > Sapatilhas\n"
        b"COL-1,Collant,abc,2,Ballet\n"
    )
    response = app._call("post", "products/import",
                         {"file": SimpleUploadedFile("catalog.csv", csv, "text/csv")}, multipart=True)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "format": "generic", "created": 1, "updated": 0, "imported": 1,
        "errors": [{"line": 3, "field": "price", "message": response.json()["errors"][0]["message"]}],
    }
    assert Product.objects.get(sku="SAP-1").category.name == "Sapatilhas"

    again = app._call("post", "products/import",
                      {"file": SimpleUploadedFile("catalog.csv", csv, "text/csv")}, multipart=True)
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)


@pytest.mark.parametrize(
    "data, code, field",
    [
        ({}, "invalid", "file"),
        ({"file": SimpleUploadedFile("x.csv", b"", "text/csv")}, "invalid", "file"),
        ({"file": SimpleUploadedFile("x.csv", b"foo,bar\n1,2\n", "text/csv")}, "import_file_invalid", "file"),
        ({"file": SimpleUploadedFile("x.csv", b"sku,name,price\n", "text/csv"), "format": "xml"}, "invalid", "format"),
    ],
)
def test_a_bad_import_names_the_field(app, data, code, field):
    response = app._call("post", "products/import", data, multipart=True)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == code and field in error(response)["fields"]


# --- stock sync ---


def test_the_erp_syncs_stock_levels(erp):
    product("MAL-P", "Collant P", stock=3)
    product("MAL-M", "Collant M", stock=5)
    response = erp.post("stock/sync", {"levels": {"MAL-P": 7, "MAL-M": "5", "NOPE": 1, "MAL-G": -1}})
    assert response.status_code == 200
    assert response.json() == {
        "updated": ["MAL-P"], "unchanged": ["MAL-M"], "unknown_skus": ["NOPE"],
        "invalid": [{"sku": "MAL-G", "message": "Stock cannot be negative."}],
    }
    assert Product.objects.get(sku="MAL-P").stock_quantity == 7


@pytest.mark.parametrize("payload", [{}, {"levels": {}}, {"levels": ["MAL-P", 3]}])
def test_a_bad_stock_sync_names_levels(erp, payload):
    response = erp.post("stock/sync", payload)
    assert response.status_code == 400
    assert "levels" in error(response)["fields"]


# --- categories, synonyms, profile ---


def test_categories_crud_and_no_cycles(app):
    ballet = app.post("categories", {"name": "Ballet", "slug": "ballet"}).json()
    child = app.post("categories", {"name": "Sapatilhas", "slug": "sapatilhas", "parent": ballet["id"]})
    assert child.status_code == 201
    assert [c["slug"] for c in app.get("categories").json()["results"]] == ["ballet", "sapatilhas"]

    cycle = app.patch(f"categories/{ballet['id']}", {"parent": child.json()["id"]})
    assert cycle.status_code == 400 and "parent" in error(cycle)["fields"]
    taken = app.post("categories", {"name": "Outro", "slug": "ballet"})
    assert taken.status_code == 400 and "slug" in error(taken)["fields"]

    assert app.delete(f"categories/{child.json()['id']}").status_code == 204
    assert list(Category.objects.values_list("slug", flat=True)) == ["ballet"]


def test_synonyms_are_stored_folded_and_unique(app):
    created = app.post("synonyms", {"term": "Maiô", "equivalents": ["collant", " body "]})
    assert created.status_code == 201
    assert created.json()["term"] == "maio"
    assert created.json()["equivalents"] == ["collant", "body"]
    again = app.post("synonyms", {"term": "MAIO", "equivalents": ["x"]})
    assert again.status_code == 400 and "term" in error(again)["fields"]
    empty = app.post("synonyms", {"term": "tutu", "equivalents": []})
    assert empty.status_code == 400 and "equivalents" in error(empty)["fields"]
    changed = app.patch(f"synonyms/{created.json()['id']}", {"equivalents": ["leotardo"]})
    assert changed.json()["equivalents"] == ["leotardo"]


def test_store_profile_get_and_put(app):
    profile = app.get("store/profile").json()
    assert (profile["company_name"], profile["language"], profile["currency"]) == ("Store A", "pt", "BRL")
    updated = app.put("store/profile", {"company_name": "Ballet Shop", "language": "es", "currency": "ars",
                                        "returns_policy": "30 días"})
    assert updated.status_code == 200
    assert (updated.json()["language"], updated.json()["currency"]) == ("es", "ARS")
    assert StoreProfile.objects.get().returns_policy == "30 días"


@pytest.mark.parametrize(
    "payload, field",
    [({"language": "xx"}, "language"), ({"contact_email": "nope"}, "contact_email"),
     ({"website": "not a url"}, "website"), ({"currency": "R$"}, "currency")],
)
def test_bad_store_profile_input_names_the_field(app, payload, field):
    response = app.put("store/profile", payload)
    assert response.status_code == 400
    assert field in error(response)["fields"]


@pytest.mark.parametrize("attributes", [
    {"cor": "preto\u0000"},          # PostgreSQL cannot store a NUL character
    {"\udae0tamanho": "36"},         # nor an unpaired surrogate (here in a key)
])
def test_text_the_database_cannot_store_is_a_400_naming_the_field_and_changes_nothing(app, store, attributes):
    item = product(sku="NUL-1", name="Collant", attributes={"cor": "rosa"})

    response = app.patch(f"products/{item.pk}", {"attributes": attributes, "price": "10.00"})

    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["attributes"]
    item.refresh_from_db()
    assert (item.attributes, str(item.price)) == ({"cor": "rosa"}, "100.00")
