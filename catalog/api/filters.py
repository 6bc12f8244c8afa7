"""Query parameters of the product list."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from catalog.models import Category, Product
from catalog.selectors import category_ids_with_descendants


def find_category(ref: str) -> Category:
    """A category by id or slug; a 400 naming ``category`` when the store has none."""
    ref = ref.strip()
    found = (
        Category.objects.filter(pk=int(ref)).first() if ref.isdigit()
        else Category.objects.filter(slug=ref).first()
    )
    if found is None:
        raise ValidationError({"category": [f"No category {ref!r}."]})
    return found


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_nothing",
        help_text="Search words (typos, synonyms, meaning): results come best first, variants "
        "collapsed into their family, active products only, at most `limit` of them.",
    )
    category = django_filters.CharFilter(
        method="filter_category", help_text="A category id or slug; includes its subcategories."
    )
    active = django_filters.BooleanFilter(field_name="is_active")
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock", help_text="Stock not counted, or counted and above zero."
    )
    price_min = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    parent = django_filters.ModelChoiceFilter(
        queryset=Product.objects.filter(parent=None), help_text="A product's id: its variants."
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_nothing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # the view runs the search itself

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = category_ids_with_descendants(find_category(value).pk)
        return queryset.filter(Q(category_id__in=ids) | Q(parent__category_id__in=ids))

    def filter_in_stock(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        available = Q(track_stock=False) | Q(stock_quantity__gt=0)
        return queryset.filter(available) if value else queryset.exclude(available)
