from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from catalog.errors import ImportFileInvalid
from catalog.importing import RowError, import_products, parse_price
from catalog.models import Category, Product
from catalog.tests.factories import product
from conftest import shared_fixture

WOO_EXPORT = shared_fixture("catalog", "woocommerce_sample_products.csv")


def test_woocommerce_export_imports_completely(store):
    report = import_products(WOO_EXPORT.read_bytes())

    assert (report.format, report.created, report.updated, report.errors) == ("woocommerce", 25, 0, ())
    assert Product.objects.count() == 25
    assert Product.objects.filter(parent__isnull=False).count() == 7
    assert sorted(Product.objects.get(sku="woo-hoodie").variants.values_list("sku", flat=True)) == [
        "woo-hoodie-blue", "woo-hoodie-blue-logo", "woo-hoodie-green", "woo-hoodie-red",
    ]
    assert sorted(Category.objects.values_list("name", flat=True)) == [
        "Accessories", "Clothing", "Decor", "Hoodies", "Music", "Tshirts",
    ]


def test_woocommerce_prices_sales_attributes_and_images_are_mapped(store):
    import_products(WOO_EXPORT.read_bytes())

    beanie = Product.objects.get(sku="woo-beanie")
    assert (beanie.price, beanie.compare_at_price) == (Decimal("18.00"), Decimal("20.00"))
    assert beanie.category.name == "Accessories" and beanie.category.parent.name == "Clothing"
    assert beanie.attributes == {"color": "Red"}
    assert beanie.image_urls == [
        "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/beanie-2.jpg"
    ]

    red_hoodie = Product.objects.get(sku="woo-hoodie-red")
    assert red_hoodie.parent.sku == "woo-hoodie"
    assert red_hoodie.attributes == {"color": "Red", "logo": "No"}
    assert red_hoodie.category.name == "Hoodies"  # inherited from its parent
    assert Product.objects.get(sku="woo-hoodie").attributes == {
        "color": ["Blue", "Green", "Red"], "logo": ["Yes", "No"],
    }


def test_variable_and_grouped_products_show_their_cheapest_option(store):
    import_products(WOO_EXPORT.read_bytes())
    assert Product.objects.get(sku="woo-vneck-tee").price == Decimal("15.00")
    assert Product.objects.get(sku="woo-hoodie").price == Decimal("42.00")
    assert Product.objects.get(sku="logo-collection").price == Decimal("18.00")


def test_woocommerce_products_without_counted_stock_stay_available(store):
    import_products(WOO_EXPORT.read_bytes())
    tee = Product.objects.get(sku="woo-tshirt")
    assert (tee.track_stock, tee.in_stock) == (False, True)


def test_reimport_updates_by_sku_never_duplicates(store):
    import_products(WOO_EXPORT.read_bytes())
    Product.objects.filter(sku="woo-belt").update(price=Decimal("1.00"), name="Old belt")

    report = import_products(WOO_EXPORT.read_bytes())

    assert (report.created, report.updated, report.errors) == (0, 25, ())
    assert Product.objects.count() == 25
    assert Category.objects.count() == 6
    belt = Product.objects.get(sku="woo-belt")
    assert (belt.name, belt.price) == ("Belt", Decimal("55.00"))


GENERIC = """sku,name,description,price,stock,category,parent_sku,attribute:tamanho
SP-CLASS,Sapatilha de Ponta Clássica,Box firme,"289,90",,Ballet > Sapatilhas,,
SP-CLASS-36,Sapatilha de Ponta Clássica 36,,"289,90",4,,SP-CLASS,36
,Sem SKU,,10.00,1,,,
COL-01,Collant Alça Fina,,R$ 1.299,,,,
MEIA-40,Meia-calça Fio 40,,abc,3,,,
COL-02,Collant Manga Longa,,-5,3,,,
TIARA,Tiara,,"19,9",2,Acessórios,,
VAR-X,Variante órfã,,10,1,,NO-PARENT,
"""


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imports(store):
    report = import_products(GENERIC.encode(), format="generic")

    assert report.errors == (
        RowError(4, "sku", "The SKU is missing."),
        RowError(5, "price", "'R$ 1.299' is not a price with at most 2 decimals."),
        RowError(6, "price", "'abc' is not a price."),
        RowError(7, "price", "A price cannot be negative (-5)."),
        RowError(9, "parent", "No product with SKU 'NO-PARENT' to be this variant's parent."),
    )
    assert (report.created, report.updated) == (3, 0)
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["SP-CLASS", "SP-CLASS-36", "TIARA"]
    shoe_36 = Product.objects.get(sku="SP-CLASS-36")
    assert (shoe_36.parent.sku, shoe_36.price, shoe_36.stock_quantity) == ("SP-CLASS", Decimal("289.90"), 4)
    assert shoe_36.attributes == {"tamanho": "36"}
    assert shoe_36.category.name == "Sapatilhas"
    assert Product.objects.get(sku="TIARA").price == Decimal("19.90")


def test_line_numbers_count_multiline_descriptions(store):
    csv_text = 'sku,name,description,price\nA-1,Um,"linha 1\nlinha 2\nlinha 3",10\nB-2,Dois,,x\n'
    report = import_products(csv_text.encode())
    assert report.errors == (RowError(5, "price", "'x' is not a price."),)
    assert Product.objects.get(sku="A-1").description == "linha 1\nlinha 2\nlinha 3"


def test_generic_csv_with_semicolons_and_latin1_from_excel(store):
    content = "sku;name;price;stock\nMC-1;Meia-calça;39,90;12\n".encode("cp1252")
    report = import_products(content)
    assert (report.format, report.created, report.errors) == ("generic", 1, ())
    meia = Product.objects.get(sku="MC-1")
    assert (meia.name, meia.price, meia.stock_quantity) == ("Meia-calça", Decimal("39.90"), 12)


def test_reimport_without_a_stock_column_keeps_the_stock(store):
    product("KEEP-1", "Collant", price="50.00", stock=8)
    import_products(b"sku,name,price\nKEEP-1,Collant Renovado,59.90\n")
    kept = Product.objects.get(sku="KEEP-1")
    assert (kept.name, kept.price, kept.stock_quantity) == ("Collant Renovado", Decimal("59.90"), 8)


def test_a_sku_twice_in_one_file_is_reported(store):
    report = import_products(b"sku,name,price\nD-1,Um,10\nD-1,Dois,20\n")
    assert report.errors == (RowError(3, "sku", "SKU 'D-1' already appears on line 2."),)
    assert Product.objects.get(sku="D-1").name == "Um"


def test_an_unknown_file_is_refused_as_a_whole(store):
    with pytest.raises(ImportFileInvalid):
        import_products(b"foo,bar\n1,2\n")
    with pytest.raises(ImportFileInvalid):
        import_products(b"")


@pytest.mark.parametrize(
    ("raw", "value"),
    [("129.90", "129.90"), ("129,90", "129.90"), ("1.299,90", "1299.90"), ("1,299.90", "1299.90"),
     ("R$ 89,9", "89.90"), ("1,299", "1299.00"), ("45", "45.00")],
)
def test_prices_in_brazilian_and_english_notation(raw, value):
    assert parse_price(raw) == Decimal(value)


def test_import_lands_only_in_the_current_store(store, other_store):
    import_products(WOO_EXPORT.read_bytes())
    with tenant_context(other_store):
        assert Product.objects.count() == 0


def test_import_command_runs_in_the_named_store(store, other_store, capsys):
    call_command("import_products", str(WOO_EXPORT), "--store", "store-b", "--format", "woocommerce")
    out = capsys.readouterr().out
    assert "25 created, 0 updated, 0 error(s)" in out
    with tenant_context(other_store):
        assert Product.objects.count() == 25
    assert Product.objects.count() == 0  # store A untouched


def test_import_command_without_a_store_fails_clearly(public_schema):
    with pytest.raises(CommandError, match="--store"):
        call_command("import_products", str(WOO_EXPORT))


def test_import_command_reports_bad_rows(store, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name,price\nOK-1,Bom,10\nBAD-1,Ruim,dez\n", encoding="utf-8")
    call_command("import_products", str(bad), "--store", "store-a")
    out = capsys.readouterr().out
    assert "1 created, 0 updated, 1 error(s)" in out
    assert "line 3 (price): 'dez' is not a price." in out


WOO_SMALL = (
    "\ufeffID,Type,SKU,Name,Published,In stock?,Stock,Sale price,Regular price,"
    "Date sale price starts,Date sale price ends,Categories,Parent,Attribute 1 name,Attribute 1 value(s)\n"
    '10,variable,SP,"Sapatilha de Ponta",1,1,,,,,,"Ballet > Sapatilhas, Promo",,Tamanho,"35, 36"\n'
    "11,variation,SP-35,Sapatilha de Ponta - 35,1,1,4,,289.90,,,,id:10,Tamanho,35\n"
    "12,variation,SP-36,Sapatilha de Ponta - 36,1,0,,,289.90,,,,id:10,Tamanho,36\n"
    "13,simple,OLD-SALE,Tiara,1,1,3,10,20,2020-01-01,2020-02-01,,,,\n"
    "14,simple,DRAFT,Rascunho,0,1,-2,,15,,,,,,\n"
)


def test_woocommerce_id_parents_counted_stock_ended_sales_and_drafts(store):
    report = import_products(WOO_SMALL.encode())
    assert (report.created, report.errors) == (5, ())
    size_35, size_36 = Product.objects.get(sku="SP-35"), Product.objects.get(sku="SP-36")
    assert size_35.parent.sku == size_36.parent.sku == "SP"
    assert (size_35.track_stock, size_35.stock_quantity, size_35.in_stock) == (True, 4, True)
    assert (size_36.track_stock, size_36.stock_quantity, size_36.in_stock) == (True, 0, False)
    assert Product.objects.get(sku="SP").category.name == "Sapatilhas"  # the first category
    tiara = Product.objects.get(sku="OLD-SALE")
    assert (tiara.price, tiara.compare_at_price) == (Decimal("20.00"), None)  # the sale ended
    draft = Product.objects.get(sku="DRAFT")
    assert (draft.is_active, draft.stock_quantity) == (False, 0)


def test_reindex_command_needs_a_store_and_reindexes_it(store, capsys):
    with pytest.raises(CommandError, match="--store"):
        call_command("catalog_reindex")
    product("RX-1", "Collant", price="10")
    call_command("catalog_reindex", "--store", "store-a", "--no-embeddings")
    assert "store-a: 1 product(s) indexed for search." in capsys.readouterr().out
