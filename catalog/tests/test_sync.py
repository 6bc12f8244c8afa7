from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from agents import vault
from catalog import sync
from catalog.errors import SyncRejected, SyncSourceUnavailable
from catalog.importing import import_products
from catalog.models import CatalogConnection, Product
from catalog.tests.fake_platforms import WOO_EXPORT, FakeTiendanube, FakeWooCommerce, tiendanube_product


@pytest.fixture
def woo():
    fake = FakeWooCommerce()
    yield fake
    fake.close()


@pytest.fixture
def woo_connection(store, woo):
    vault.set_credential("other", "woo:consumer_key", "ck_test")
    vault.set_credential("other", "woo:consumer_secret", "cs_test")
    return CatalogConnection.objects.create(
        name="Loja WooCommerce", platform="woocommerce", base_url=woo.url, credential_name="woo"
    )


POINTE = tiendanube_product(
    501,
    {"pt": "Sapatilha de ponta Capezio", "es": "Zapatillas de punta Capezio"},
    [
        {"sku": "TN-PONTA-35", "price": "389.90", "promotional_price": "349.90", "stock": 2,
         "values": [{"pt": "35", "es": "35"}]},
        {"sku": "TN-PONTA-36", "price": "389.90", "promotional_price": "349.90", "stock": 0,
         "values": [{"pt": "36", "es": "36"}], "image_id": 9002},
    ],
    description={"pt": "<p>Sapatilha profissional em cetim.</p>", "es": "<p>Zapatilla profesional.</p>"},
    attributes=[{"pt": "Tamanho", "es": "Talle"}],
    categories=[{"id": 7, "name": {"pt": "Sapatilhas", "es": "Zapatillas"}, "parent": None}],
    images=[{"id": 9001, "src": "https://cdn.example.com/ponta.jpg", "position": 1},
            {"id": 9002, "src": "https://cdn.example.com/ponta-36.jpg", "position": 2}],
    tags="ballet,ponta",
)
COLLANT = tiendanube_product(
    502, {"pt": "Collant regata"}, [{"sku": "TN-COLLANT", "price": "119.00", "stock": 7}]
)
MEIA = tiendanube_product(
    503, {"pt": "Meia-calça"},
    [{"sku": "TN-MEIA", "price": "39.90", "stock": None, "stock_management": False}],
)
RASCUNHO = tiendanube_product(
    504, {"pt": "Saia rascunho"}, [{"sku": "TN-SAIA", "price": "80.00", "stock": 1}], published=False
)
SEM_SKU = tiendanube_product(505, {"pt": "Sem código"}, [{"sku": None, "price": "10.00", "stock": 1}])


@pytest.fixture
def tiendanube():
    fake = FakeTiendanube(products=[POINTE, COLLANT, MEIA, RASCUNHO, SEM_SKU])
    yield fake
    fake.close()


@pytest.fixture
def tn_connection(store, tiendanube):
    vault.set_credential("other", "nuvem:access_token", "tn-token")
    return CatalogConnection.objects.create(
        name="Nuvemshop", platform="tiendanube", base_url=f"{tiendanube.url}/v1", store_id="123456",
        credential_name="nuvem", user_agent="Atendo (dev@atendo.local)",
    )


def _catalog():
    return {
        p.sku: (p.price, p.stock_quantity, p.track_stock, p.is_active, p.parent.sku if p.parent else None)
        for p in Product.objects.select_related("parent")
    }


def test_woocommerce_sync_pulls_every_page_and_matches_the_csv_import(woo_connection, woo, store):
    result = sync.sync_catalog(woo_connection.pk)

    assert (result.fetched, result.report.created, result.report.updated) == (25, 25, 0)
    assert result.report.errors == ()
    pages = [r["query"]["page"] for r in woo.requests if r["path"] == "/wp-json/wc/v3/products"]
    assert pages == ["1", "2"]  # 18 products, 10 a page: X-WP-TotalPages said 2
    assert all(r["query"]["per_page"] == "100" for r in woo.requests)
    synced = _catalog()
    hoodie = Product.objects.get(sku="woo-hoodie")
    assert sorted(hoodie.variants.values_list("sku", flat=True)) == [
        "woo-hoodie-blue", "woo-hoodie-blue-logo", "woo-hoodie-green", "woo-hoodie-red",
    ]
    assert Product.objects.get(sku="woo-hoodie-blue-logo").attributes == {"color": "Blue", "logo": "Yes"}
    beanie = Product.objects.get(sku="woo-beanie")
    assert (beanie.price, beanie.compare_at_price) == (Decimal("18.00"), Decimal("20.00"))
    assert beanie.description.startswith("Pellentesque")  # the HTML is stripped

    # The CSV export of the same shop gives the same SKUs, prices, stock and variants.
    Product.objects.all().delete()
    import_products(WOO_EXPORT.read_bytes())
    assert _catalog() == synced


def test_woocommerce_sync_twice_updates_and_never_duplicates(woo_connection, woo):
    sync.sync_catalog(woo_connection.pk)
    woo.products[0]["regular_price"] = "25.00"
    woo.products[0]["price"] = "25.00"
    sku = woo.products[0]["sku"] or f"WC-{woo.products[0]['id']}"

    again = sync.sync_catalog(woo_connection.pk)

    assert (again.report.created, again.report.updated) == (0, 25)
    assert Product.objects.count() == 25
    woo_connection.refresh_from_db()
    assert woo_connection.last_status == "ok" and woo_connection.last_synced_at is not None
    assert woo_connection.last_report["updated"] == 25
    assert Product.objects.get(sku=sku).name == woo.products[0]["name"]


def test_woocommerce_sync_sends_the_vaults_consumer_key_and_secret(woo_connection, woo):
    vault.set_credential("other", "woo:consumer_secret", "cs_wrong")

    with pytest.raises(SyncRejected, match="401"):
        sync.sync_catalog(woo_connection.pk)

    assert Product.objects.count() == 0
    woo_connection.refresh_from_db()
    assert woo_connection.last_status == "failed"
    assert "401" in woo_connection.last_error


def test_a_connection_without_its_secrets_names_the_missing_credential(store, woo):
    connection = CatalogConnection.objects.create(
        name="Sem chave", platform="woocommerce", base_url=woo.url, credential_name="nokeys"
    )
    with pytest.raises(SyncRejected, match="other/nokeys:consumer_key"):
        sync.sync_catalog(connection.pk)
    assert woo.requests == []


def test_a_platform_that_is_down_is_retryable_and_changes_nothing(woo_connection, woo):
    woo.fail_with = 503
    with pytest.raises(SyncSourceUnavailable):
        sync.sync_catalog(woo_connection.pk)
    assert Product.objects.count() == 0
    woo_connection.refresh_from_db()
    assert woo_connection.last_status == "failed"


def test_tiendanube_sync_maps_variants_promotions_languages_and_pages(tn_connection, tiendanube):
    result = sync.sync_catalog(tn_connection.pk)

    assert [r["query"]["page"] for r in tiendanube.requests] == ["1", "2", "3"]
    headers = tiendanube.requests[0]["headers"]
    assert headers["Authentication"] == "bearer tn-token"
    assert headers["User-Agent"] == "Atendo (dev@atendo.local)"
    assert (result.report.created, result.report.updated) == (6, 0)
    [error] = result.report.errors
    assert (error.field, error.message) == ("sku", "product id 505: The SKU is missing.")

    pointe = Product.objects.get(sku="TN-501")
    assert pointe.name == "Sapatilha de ponta Capezio"  # the store's language (pt)
    assert pointe.description == "Sapatilha profissional em cetim."
    assert pointe.category.name == "Sapatilhas"
    assert pointe.attributes == {"tags": ["ballet", "ponta"]}
    assert pointe.price == Decimal("349.90")  # the cheapest variant
    size_36 = Product.objects.get(sku="TN-PONTA-36")
    assert (size_36.parent, size_36.attributes) == (pointe, {"tamanho": "36"})
    assert (size_36.price, size_36.compare_at_price) == (Decimal("349.90"), Decimal("389.90"))
    assert (size_36.stock_quantity, size_36.in_stock) == (0, False)
    assert size_36.image_urls == ["https://cdn.example.com/ponta-36.jpg"]
    assert _catalog()["TN-COLLANT"] == (Decimal("119.00"), 7, True, True, None)
    assert Product.objects.get(sku="TN-MEIA").track_stock is False  # infinite stock
    assert Product.objects.get(sku="TN-SAIA").is_active is False  # unpublished
    tn_connection.refresh_from_db()
    assert tn_connection.last_status == "errors"


def test_tiendanube_sync_in_a_spanish_store_takes_the_spanish_names(tn_connection):
    from catalog.selectors import get_store_profile

    profile = get_store_profile()
    profile.language = "es"
    profile.save()

    sync.sync_catalog(tn_connection.pk)

    pointe = Product.objects.get(sku="TN-501")
    assert (pointe.name, pointe.category.name) == ("Zapatillas de punta Capezio", "Zapatillas")
    assert Product.objects.get(sku="TN-PONTA-35").attributes == {"talle": "35"}


def test_synced_products_are_found_by_search(tn_connection):
    from catalog.search import search_products

    sync.sync_catalog(tn_connection.pk)

    hits = search_products("sapatilha de ponta 35")
    assert hits and Product.objects.get(pk=hits[0].product_id).sku.startswith("TN-")


def test_only_enabled_connections_whose_interval_passed_are_due(store, woo):
    now = timezone.now()
    fresh = CatalogConnection.objects.create(
        name="a", platform="woocommerce", base_url=woo.url, credential_name="a",
        sync_every_minutes=60, last_sync_started_at=now - timedelta(minutes=10),
    )
    stale = CatalogConnection.objects.create(
        name="b", platform="woocommerce", base_url=woo.url, credential_name="b",
        sync_every_minutes=60, last_sync_started_at=now - timedelta(minutes=61),
    )
    never = CatalogConnection.objects.create(
        name="c", platform="woocommerce", base_url=woo.url, credential_name="c"
    )
    CatalogConnection.objects.create(
        name="d", platform="woocommerce", base_url=woo.url, credential_name="d", is_enabled=False
    )
    CatalogConnection.objects.create(
        name="e", platform="woocommerce", base_url=woo.url, credential_name="e", sync_every_minutes=0
    )
    assert sorted(sync.due_connections(now)) == sorted([stale.pk, never.pk])
    assert fresh.pk not in sync.due_connections(now)


def test_sync_command_pulls_a_stores_connection(woo_connection, store, capsys):
    call_command("sync_catalog", "--store", store.slug, "--connection", "Loja WooCommerce")

    assert "25 created, 0 updated, 0 error(s)" in capsys.readouterr().out
    assert Product.objects.count() == 25


def test_sync_command_names_an_unknown_connection(store, other_store):
    with pytest.raises(CommandError, match="No catalog connection 'Nope'"):
        call_command("sync_catalog", "--store", store.slug, "--connection", "Nope")


def test_a_connection_of_one_store_is_invisible_to_another(woo_connection, other_store):
    with tenant_context(other_store):
        assert not CatalogConnection.objects.filter(pk=woo_connection.pk, name="Loja WooCommerce").exists()


def test_beat_syncs_each_stores_due_connections_in_that_store(woo_connection, woo, other_store):
    from catalog.tasks import sync_due_catalogs_in_all_stores
    from config.celery import app

    with tenant_context(other_store):
        CatalogConnection.objects.create(
            name="B off", platform="woocommerce", base_url=woo.url, credential_name="b", is_enabled=False
        )
    app.conf.task_always_eager = True  # each enqueued sync runs here, in its store's schema
    try:
        enqueued = sync_due_catalogs_in_all_stores()
    finally:
        app.conf.task_always_eager = False

    assert enqueued == {"store-a": 1}
    assert Product.objects.count() == 25
    with tenant_context(other_store):
        assert Product.objects.count() == 0
    woo_connection.refresh_from_db()
    assert woo_connection.last_status == "ok"
    # Just synced: not due again until its interval has passed.
    assert sync.due_connections() == []
