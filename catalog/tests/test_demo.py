from catalog import demo
from catalog.models import Category, Product, Synonym
from catalog.selectors import get_store_profile


def test_demo_catalog_is_idempotent_and_keeps_the_stores_stock(store):
    demo.populate()
    counts = (Product.objects.count(), Category.objects.count(), Synonym.objects.count())
    Product.objects.filter(sku="SP-CLASS-36").update(stock_quantity=1)

    demo.populate()

    assert (Product.objects.count(), Category.objects.count(), Synonym.objects.count()) == counts
    assert counts == (25, 5, 13)
    assert Product.objects.get(sku="SP-CLASS-36").stock_quantity == 1
    assert get_store_profile().company_name == "Bailarina Dancewear"
    # Real files on two products, indexed with the product, once however often it runs.
    from catalog.files import product_files
    from catalog.models import CatalogConnection, ProductFile
    from knowledge.search import search

    assert ProductFile.objects.count() == 2
    [manual] = product_files(Product.objects.get(sku="SP-CLASS").pk)
    assert manual.status == "ready"
    hits = search("sapatilha de ponta pe de 23 cm qual tamanho", metadata={"product_sku": "SP-CLASS"})
    assert hits and hits[0].document_id == manual.document_id
    # The sync connection is shown, disabled (no real shop to pull from offline).
    assert CatalogConnection.objects.get().is_enabled is False
