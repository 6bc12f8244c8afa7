"""Real customer queries against the demo dance-wear catalog (Portuguese store) and a
Spanish store's catalog: which product must come first."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from catalog import demo
from catalog.errors import InvalidSearch
from catalog.models import Product
from catalog.search import plan_query, search_products
from catalog.selectors import get_store_profile
from catalog.tests.factories import product
from catalog.tests.search_suite import PORTUGUESE_QUERIES, SPANISH_QUERIES, build_spanish_store


@pytest.fixture
def dancewear(store):
    demo.populate()
    return store


def skus(hits):
    return [h.sku for h in hits]


@pytest.mark.parametrize(("query", "first"), PORTUGUESE_QUERIES)
def test_portuguese_queries_find_the_right_product_first(dancewear, query, first):
    hits = search_products(query)
    assert hits, f"nothing found for {query!r}"
    assert hits[0].sku == first, f"{query!r}: {skus(hits)}"


@pytest.mark.parametrize("query", ["collant", "mallas", "leotardos", "body"])
def test_leotard_words_find_the_two_collants_first(dancewear, query):
    assert set(skus(search_products(query))[:2]) == {"COL-ALCA", "COL-ML"}


def test_pointe_shoes_never_lose_to_demi_pointe_for_pointe_queries(dancewear):
    hits = skus(search_products("sapatilha de ponta"))
    assert hits.index("SP-CLASS") < hits.index("SMP-COURO")
    assert hits.index("SP-PRO") < hits.index("SMP-COURO")


def test_each_product_family_appears_once(dancewear):
    hits = search_products("sapatilha de ponta", limit=20)
    families = [h.parent_id or h.product_id for h in hits]
    assert len(families) == len(set(families))


def test_without_collapsing_every_size_is_a_hit(dancewear):
    hits = skus(search_products("sapatilha de ponta classica", collapse_variants=False, limit=20))
    assert {"SP-CLASS-34", "SP-CLASS-35", "SP-CLASS-36", "SP-CLASS-37", "SP-CLASS-38"} <= set(hits)


def test_hit_carries_price_currency_and_stock(dancewear):
    hit = search_products("sapatilha de ponta 36")[0]
    assert (hit.name, hit.price, hit.currency, hit.stock, hit.in_stock) == (
        "Sapatilha de Ponta Clássica 36", Decimal("289.90"), "BRL", 4, True,
    )
    assert hit.parent_id == Product.objects.get(sku="SP-CLASS").pk
    assert hit.score > 0
    parent = search_products("sapatilha de ponta clássica")[0]
    assert (parent.sku, parent.stock) == ("SP-CLASS", 14)  # the sizes' stock together


def test_price_range_filters_the_results(dancewear):
    cheap = skus(search_products("sapatilha de ponta", price_max=Decimal("300")))
    assert "SP-PRO" not in cheap and cheap[0] == "SP-CLASS"
    dear = skus(search_products("sapatilha", price_min=Decimal("300")))
    assert dear == ["SP-PRO"]
    assert skus(search_products("meia", price_min=Decimal("40"), price_max=Decimal("50"))) == ["MEIA-CONV"]


def test_in_stock_only_leaves_out_sold_out_products_and_sizes(dancewear):
    assert "MEIA-CONV" in skus(search_products("meia-calça", limit=20))
    assert "MEIA-CONV" not in skus(search_products("meia-calça", in_stock_only=True, limit=20))
    size_37 = search_products("sapatilha de ponta clássica 37", in_stock_only=True)
    assert size_37[0].sku == "SP-CLASS"  # size 37 is sold out; the model is still for sale


def test_category_filter_includes_subcategories(dancewear):
    ballet = skus(search_products("", category="ballet", limit=50))
    assert "COL-ML" in ballet and "POL-LA" not in ballet
    assert set(skus(search_products("rosa", category="meias"))) == {"MEIA-CONV", "MEIA-PE"}


def test_attribute_filter_picks_the_size(dancewear):
    hits = search_products("sapatilha de ponta", attributes={"tamanho": "37"})
    assert skus(hits) == ["SP-CLASS-37", "SP-PRO-37"]
    assert skus(search_products("", attributes={"Tamanho": "30"})) == ["SMP-COURO-30"]


def test_inactive_products_and_their_variants_are_not_found(dancewear):
    Product.objects.filter(sku="SP-CLASS").update(is_active=False)
    hits = skus(search_products("sapatilha de ponta clássica 36", collapse_variants=False, limit=50))
    assert not any(sku.startswith("SP-CLASS") for sku in hits)


def test_empty_query_lists_filtered_products_by_name(dancewear):
    hits = search_products("", category="meias")
    assert skus(hits) == ["MEIA-PE", "MEIA-CONV"]


def test_unknown_category_or_upside_down_price_range_is_refused(dancewear):
    with pytest.raises(InvalidSearch):
        search_products("x", category="nope")
    with pytest.raises(InvalidSearch):
        search_products("x", price_min=Decimal("10"), price_max=Decimal("5"))


def test_synonyms_are_the_stores_own(dancewear, other_store):
    with tenant_context(other_store):
        product("B-COL", "Collant Infantil", price="59.90")
        assert search_products("malha") == []
        assert skus(search_products("collant")) == ["B-COL"]


def test_store_b_never_sees_store_a_products(dancewear, other_store):
    with tenant_context(other_store):
        assert search_products("sapatilha de ponta") == []
        assert search_products("SP-CLASS") == []


def test_the_query_plan_shows_synonyms_and_typo_fixes(dancewear):
    plan = plan_query("Zapatillas de PUNTA can can colant")
    assert plan.groups == (
        ("zapatillas", "sapatilha"), ("de",), ("punta", "ponta"), ("can can", "meia-calça"),
        ("colant", "collant", "collants"),
    )


# --- a Spanish store ---


@pytest.fixture
def tienda(store):
    build_spanish_store()
    return store


@pytest.mark.parametrize(("query", "first"), SPANISH_QUERIES)
def test_spanish_queries_find_the_right_product_first(tienda, query, first):
    hits = search_products(query)
    assert hits and hits[0].sku == first, f"{query!r}: {skus(hits)}"


def test_spanish_price_filter_and_stock(tienda):
    hits = search_products("zapatillas", price_max=Decimal("50000"))
    assert skus(hits) == ["ZMP-CU"]
    assert hits[0].currency == "ARS"
    assert "MED-BA" in skus(search_products("can can"))
    assert "MED-BA" not in skus(search_products("can can", in_stock_only=True))


# --- the stored search index follows the catalog ---


def test_renaming_a_category_is_searchable_at_once(dancewear):
    from catalog.models import Category

    acessorios = Category.objects.get(slug="acessorios")
    acessorios.name = "Aquecimento"
    acessorios.save()
    assert skus(search_products("aquecimento"))[:2] in (["POL-LA", "PONT-SIL"], ["PONT-SIL", "POL-LA"])


def test_renaming_a_parent_renames_what_its_variants_answer_to(dancewear):
    shoe = Product.objects.get(sku="SMP-COURO")
    shoe.name = "Sapatilha Baby Class"
    shoe.save()
    hits = search_products("baby class 32", collapse_variants=False)
    assert hits[0].sku == "SMP-COURO-32"


def test_products_written_in_bulk_are_indexed_before_the_search(dancewear):
    Product.objects.bulk_create([Product(sku="BULK-1", name="Bolsa Porta Sapatilha", price=Decimal("49.90"))])
    assert skus(search_products("bolsa"))[0] == "BULK-1"


def test_changing_the_store_language_restems_the_catalog(store):
    product("ES-1", "Zapatillas Clásicas", price="10")

    def lexemes():
        return Product.objects.values_list("search_vector", flat=True).get(sku="ES-1")

    portuguese = lexemes()
    profile = get_store_profile()
    profile.language = "es"
    profile.save()
    assert lexemes() != portuguese
    assert "'zapatill':1A" in lexemes()
