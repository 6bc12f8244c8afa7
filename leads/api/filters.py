from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from leads.models import EventKind, Lead, LeadEvent, Stage


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    tag = django_filters.CharFilter(method="filter_tag", help_text="Leads with this tag.")
    q = django_filters.CharFilter(method="filter_text", help_text="Part of the name, phone or e-mail.")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__icontains=value) | Q(email__icontains=value)
        )


class LeadEventFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=EventKind.choices)

    class Meta:
        model = LeadEvent
        fields: list[str] = []
