import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from catalog.errors import StoreRequired
from catalog.models import StoreProfile
from catalog.selectors import get_store_profile


def test_store_profile_starts_with_the_store_name_and_stays_one_row(store):
    profile = get_store_profile()
    assert profile.company_name == "Store A"
    assert (profile.language, profile.currency) == ("pt", "BRL")

    profile.shipping_policy = "Frete grátis acima de R$ 299."
    profile.save()
    assert get_store_profile().shipping_policy == "Frete grátis acima de R$ 299."
    assert StoreProfile.objects.count() == 1


def test_a_second_store_profile_row_is_refused(store):
    get_store_profile()
    with pytest.raises(IntegrityError), transaction.atomic():
        StoreProfile.objects.create(pk=2, company_name="Another")


def test_each_store_has_its_own_profile(store, other_store):
    profile = get_store_profile()
    profile.language = "es"
    profile.save()
    with tenant_context(other_store):
        assert get_store_profile().company_name == "Store B"
        assert get_store_profile().language == "pt"


def test_store_profile_outside_a_store_fails_clearly(public_schema):
    with pytest.raises(StoreRequired):
        get_store_profile()
