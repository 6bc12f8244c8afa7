"""The orders API's shapes: orders with items and history, creation, transitions."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from orders.models import Order, OrderItem, OrderTransition
from orders.payments import GATEWAYS


class OrderItemSerializer(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["id", "product", "sku", "name", "quantity", "unit_price", "line_total"]


class OrderTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderTransition
        fields = ["from_status", "to_status", "by", "note", "at"]


class OrderSerializer(serializers.ModelSerializer):
    lead_id = serializers.IntegerField(read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    allowed_transitions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "number", "lead_id", "channel", "status", "allowed_transitions", "currency",
            "subtotal", "shipping_total", "total", "shipping_address", "notes",
            "payment_gateway", "payment_reference", "payment_url", "paid_at", "gateway_refund",
            "gateway_refund_reference", "carrier",
            "tracking_code", "shipped_at", "created_at", "updated_at", "items",
        ]


class OrderDetailSerializer(OrderSerializer):
    history = OrderTransitionSerializer(source="transitions", many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "history"]


class NewOrderItemSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class NewOrderSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField()
    items = NewOrderItemSerializer(many=True, allow_empty=False)
    channel = serializers.CharField(max_length=40, required=False, allow_blank=True)
    shipping_address = serializers.DictField(required=False)
    shipping_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, default=Decimal(0)
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    idempotency_key = serializers.CharField(
        max_length=200, required=False, allow_blank=True,
        help_text="Or the Idempotency-Key header: a retry with the same key gets the same order.",
    )


class StartPaymentSerializer(serializers.Serializer):
    gateway = serializers.ChoiceField(choices=sorted(GATEWAYS), default="manual")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ShipSerializer(serializers.Serializer):
    tracking_code = serializers.CharField(max_length=100)
    carrier = serializers.CharField(max_length=100)


