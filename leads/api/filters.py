from __future__ import annotations

from datetime import UTC

import django_filters
from django.db.models import Q, QuerySet

from leads.models import EventKind, Lead, LeadEvent, Stage


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC: Python accepts offsets up to ±24h, PostgreSQL
    only up to ±15:59, so "2026-01-01T00:00+20:00" is converted rather than refused."""

    def filter(self, qs: QuerySet, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    tag = django_filters.CharFilter(method="filter_tag", help_text="Leads with this tag.")
    q = django_filters.CharFilter(method="filter_text", help_text="Part of the name, phone or e-mail.")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
