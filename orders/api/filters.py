from __future__ import annotations

import django_filters

from leads.api.filters import UtcDateTimeFilter
from orders.models import Order, Status


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, help_text="Repeat for several.")
    lead = django_filters.NumberFilter(field_name="lead_id")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields: list[str] = []
