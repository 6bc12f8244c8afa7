from __future__ import annotations

import django_filters

from knowledge.models import Document


class DocumentFilter(django_filters.FilterSet):
    collection = django_filters.NumberFilter(field_name="collection_id")
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)

    class Meta:
        model = Document
        fields: list[str] = []
