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
