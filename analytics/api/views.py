"""The store's dashboard over a range of days."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.serializers import DashboardQuerySerializer, DashboardSerializer
from tenants.api.permissions import HasScope, StoreOnly

DEFAULT_DAYS = 30


class DashboardView(APIView):
    """Conversations, messages, first response, handoffs, leads, orders, revenue,
    conversion, outcomes, tokens and cost, and one row per day, from ``start`` to ``end``
    (both included, at most 366 days)."""

    # Dashboards hold `read` keys; the frontend's `app` keys and staff sessions read it too.
    required_scope = "app"
    read_scope_can_list = True
    permission_classes = (IsAuthenticated, StoreOnly, HasScope)

    @extend_schema(
        parameters=[DashboardQuerySerializer],
        responses=DashboardSerializer,
    )
    def get(self, request):
        query = DashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("end") or timezone.localdate()
        start = query.validated_data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        dashboard = selectors.store_dashboard(start, end)
        return Response(DashboardSerializer(dashboard).data)
