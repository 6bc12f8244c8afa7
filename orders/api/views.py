"""Orders over HTTP: views validate input and call ``orders.services``; an illegal
transition is a 409 naming the allowed ones."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.views import actor
from orders import services
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    NewOrderSerializer,
    NoteSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    ShipSerializer,
    StartPaymentSerializer,
)
from orders.models import Order, OrderItem

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _order(order_id: int) -> Order:
    return get_object_or_404(
        Order.objects.prefetch_related(Prefetch("items", OrderItem.objects.order_by("pk")),
                                       "transitions"),
        pk=order_id,
    )


class OrderListView(generics.ListAPIView):
    """The store's orders, newest first."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = OrderSerializer
    queryset = Order.objects.prefetch_related("items")
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "total", "number"]
    ordering = ["-created_at"]

    @extend_schema(
        request=NewOrderSerializer,
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="A retry with the same key returns the same order (200).")],
        responses={201: OrderDetailSerializer, 200: OrderDetailSerializer},
    )
    def post(self, request):
        """A draft order with its stock reserved; never oversells (409 ``out_of_stock``)."""
        payload = NewOrderSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        key = (request.headers.get(IDEMPOTENCY_HEADER) or data.get("idempotency_key") or "").strip()
        replay = bool(key) and Order.objects.filter(idempotency_key=key).exists()
        order = services.create_order(
            data["lead_id"],
            [(item["product_id"], item["quantity"]) for item in data["items"]],
            data.get("channel", "") or "api",
            idempotency_key=key or None,
            shipping_address=data.get("shipping_address"),
            shipping_total=data["shipping_total"],
            notes=data.get("notes", ""),
            by=actor(request),
        )
        return Response(OrderDetailSerializer(_order(order.pk)).data,
                        status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=OrderDetailSerializer)
    def get(self, request, order_id: int):
        """The order with its items and its status history."""
        return Response(OrderDetailSerializer(_order(order_id)).data)


class _TransitionView(APIView):
    required_scope = "app"
    serializer = NoteSerializer

    def transition(self, request, order_id: int, data: dict) -> Order:
        raise NotImplementedError

    def post(self, request, order_id: int):
        order = _order(order_id)  # 404 for another store's id before anything else
        payload = self.serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        self.transition(request, order.pk, payload.validated_data)
        return Response(OrderDetailSerializer(_order(order.pk)).data)


def _transition_schema(request, summary: str):
    return extend_schema(request=request, responses=OrderDetailSerializer, description=summary)


class StartPaymentView(_TransitionView):
    serializer = StartPaymentSerializer

    @_transition_schema(StartPaymentSerializer, "draft → pending_payment with the gateway's charge "
                        "(idempotent for the same gateway).")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.start_payment(order_id, data["gateway"], by=actor(request))


class MarkPaidView(_TransitionView):
    @_transition_schema(NoteSerializer, "pending_payment → paid: staff confirm a manual payment "
                        "(PIX, cash...). The lead becomes a customer.")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.mark_paid(order_id, by=actor(request), note=data.get("note", ""))


class ShipView(_TransitionView):
    serializer = ShipSerializer

    @_transition_schema(ShipSerializer, "paid → shipped with the carrier and tracking code.")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.ship_order(order_id, tracking_code=data["tracking_code"],
                                   carrier=data["carrier"], by=actor(request))


class DeliverView(_TransitionView):
    @_transition_schema(NoteSerializer, "shipped → delivered.")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.mark_delivered(order_id, by=actor(request), note=data.get("note", ""))


class CancelView(_TransitionView):
    @_transition_schema(NoteSerializer, "draft|pending_payment → cancelled; the stock comes back.")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.cancel_order(order_id, by=actor(request), reason=data.get("note", ""))


class RefundView(_TransitionView):
    @_transition_schema(NoteSerializer, "paid|shipped → refunded; the stock comes back.")
    def post(self, request, order_id: int):
        return super().post(request, order_id)

    def transition(self, request, order_id, data):
        return services.refund_order(order_id, by=actor(request), reason=data.get("note", ""))
