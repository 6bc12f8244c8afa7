from __future__ import annotations

import django_filters

from audit.models import Action, ActorKind, AuditEntry
from leads.api.filters import UtcDateTimeFilter


class AuditEntryFilter(django_filters.FilterSet):
    action = django_filters.MultipleChoiceFilter(choices=Action.choices, help_text="Repeat for several.")
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    actor_id = django_filters.CharFilter(help_text="A staff user's id, an API key's prefix, an agent's id.")
    object_type = django_filters.CharFilter(help_text="app.Model, e.g. orders.Order.")
    object_id = django_filters.CharFilter()
    source = django_filters.CharFilter(help_text="admin, api, agent, task, webhook.")
    at_after = UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    at_before = UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields: list[str] = []
