from decimal import Decimal

import pytest

from catalog import demo
from catalog.errors import ProductNotFound
from catalog.models import Product
from catalog.selectors import get_product_detail


def test_product_detail_lists_active_sizes_with_their_stock(store):
    demo.populate()
    Product.objects.filter(sku="SP-CLASS-38").update(is_active=False)
    detail = get_product_detail(Product.objects.get(sku="SP-CLASS").pk)

    assert (detail.name, detail.price, detail.currency, detail.category) == (
        "Sapatilha de Ponta Clássica", Decimal("289.90"), "BRL", "Sapatilhas",
    )
    assert [(v.sku, v.attributes["tamanho"], v.stock, v.in_stock) for v in detail.variants] == [
        ("SP-CLASS-34", "34", 3, True),
        ("SP-CLASS-35", "35", 5, True),
        ("SP-CLASS-36", "36", 4, True),
        ("SP-CLASS-37", "37", 0, False),
    ]
    assert (detail.stock, detail.in_stock) == (12, True)


def test_product_detail_of_an_untracked_product_has_no_stock_number(store):
    gift = Product.objects.create(sku="GIFT", name="Vale-presente", price=Decimal("50"), track_stock=False)
    detail = get_product_detail(gift.pk)
    assert (detail.stock, detail.in_stock, detail.variants) == (None, True, ())


def test_unknown_product_is_a_clear_error(store):
    with pytest.raises(ProductNotFound):
        get_product_detail(999_999)
