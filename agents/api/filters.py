from __future__ import annotations

import django_filters

from agents.models import Agent, ProviderKind, Role, TokenUsage
from leads.api.filters import UtcDateTimeFilter


class AgentFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    provider = django_filters.ChoiceFilter(choices=ProviderKind.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Agent
        fields: list[str] = []


class TokenUsageFilter(django_filters.FilterSet):
    agent = django_filters.NumberFilter(field_name="agent_id")
    provider = django_filters.CharFilter()
    model = django_filters.CharFilter()
    start = UtcDateTimeFilter(field_name="at", lookup_expr="gte", help_text="Inclusive (ISO 8601).")
    end = UtcDateTimeFilter(field_name="at", lookup_expr="lt", help_text="Exclusive (ISO 8601).")

    class Meta:
        model = TokenUsage
        fields: list[str] = []
