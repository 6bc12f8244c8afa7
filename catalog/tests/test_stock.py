from django_tenants.utils import tenant_context

from catalog import services
from catalog.models import Product
from catalog.signals import stock_changed
from catalog.tests.factories import product


def test_erp_sync_sets_quantities_and_reports_unknown_skus(store, django_capture_on_commit_callbacks):
    product("MAL-P", "Collant Alça Fina P", stock=3)
    product("MAL-M", "Collant Alça Fina M", stock=5)
    events = []

    def listen(sender, **kwargs):
        events.append((kwargs["sku"], kwargs["before"], kwargs["after"]))

    stock_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = services.sync_stock_levels({"MAL-P": 7, "MAL-M": "5", "NOPE-1": 2, "MAL-G": -1})
    finally:
        stock_changed.disconnect(listen)

    assert report.updated == ("MAL-P",)
    assert report.unchanged == ("MAL-M",)
    assert report.unknown_skus == ("NOPE-1",)
    assert report.invalid == (("MAL-G", "Stock cannot be negative."),)
    assert Product.objects.get(sku="MAL-P").stock_quantity == 7
    assert events == [("MAL-P", 3, 7)]


def test_erp_sync_twice_changes_nothing_the_second_time(store):
    product("MEIA-1", "Meia-calça Fio 40", stock=1)
    assert services.sync_stock_levels({"MEIA-1": 12}).updated == ("MEIA-1",)
    again = services.sync_stock_levels({"MEIA-1": 12})
    assert (again.updated, again.unchanged) == ((), ("MEIA-1",))


def test_erp_sync_reports_a_quantity_that_is_not_a_number(store):
    product("MEIA-2", "Meia-calça Fio 80", stock=1)
    report = services.sync_stock_levels({"MEIA-2": "dez"})
    assert report.invalid == (("MEIA-2", "'dez' is not a whole number."),)
    assert Product.objects.get(sku="MEIA-2").stock_quantity == 1


def test_erp_sync_turns_on_stock_tracking(store):
    product("TIARA-1", "Tiara de strass", stock=0, track_stock=False)
    services.sync_stock_levels({"TIARA-1": 4})
    tiara = Product.objects.get(sku="TIARA-1")
    assert (tiara.track_stock, tiara.stock_quantity) == (True, 4)


def test_erp_sync_never_touches_another_store(store, other_store):
    product("SHARED-SKU", "Sapatilha", stock=2)
    with tenant_context(other_store):
        product("SHARED-SKU", "Sapatilha B", stock=9)
    services.sync_stock_levels({"SHARED-SKU": 0})
    with tenant_context(other_store):
        assert Product.objects.get(sku="SHARED-SKU").stock_quantity == 9


def test_untracked_product_is_always_in_stock_and_a_sale_takes_nothing(store):
    item = product("GIFT-1", "Vale-presente", stock=0, track_stock=False)
    assert item.in_stock
    assert services.decrement_stock(item.pk, 3) == 0
    assert services.restore_stock(item.pk, 3) == 0
    assert Product.objects.get(pk=item.pk).stock_quantity == 0
