"""The audit log over HTTP (read only)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics
from rest_framework.filters import OrderingFilter

from audit import selectors
from audit.api.filters import AuditEntryFilter
from audit.api.serializers import AuditEntrySerializer


class AuditLogView(generics.ListAPIView):
    """The store's audit log, newest first: who (staff user, API key, agent), when, what
    object, which action, and the fields before and after. Cursor-paginated."""

    # Dashboards hold `read` keys; the frontend's `app` keys and staff sessions read it too.
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = AuditEntrySerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = AuditEntryFilter
    ordering_fields = ["id"]
    ordering = ["-id"]

    def get_queryset(self):
        return selectors.audit_entries()
