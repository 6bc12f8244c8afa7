"""Order tools: confirm the delivery address, create the order (idempotent), its status."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.db import transaction

from agents.tools.base import Tool, ToolContext, ToolFailed, actor, money
from agents.turns import SideEffect, TurnRequest

SHIPPING_FORM = "shipping"
ADDRESS_FIELDS = ("recipient", "street", "number", "complement", "district", "city", "state", "postal_code")


def order_idempotency_key(request: TurnRequest, call_id: str, items: list[tuple[int, int]]) -> str:
    """The same burst asking for the same items is one order, however often it is retried.

    Keyed on the turn and the items rather than only the tool-call id: a real model
    gives its tool calls new random ids when the turn is retried.
    """
    if not request.turn_key:
        return f"agent:c{request.conversation_id}:call:{call_id}"[:200]
    digest = hashlib.sha256(json.dumps(sorted(items)).encode()).hexdigest()[:16]
    return f"agent:{request.turn_key}:{digest}"[:200]


def _confirmed_address(lead_id: int) -> dict[str, Any]:
    from agents.models import CollectedForm

    return (
        CollectedForm.objects.filter(lead_id=lead_id, form=SHIPPING_FORM, complete=True)
        .values_list("data", flat=True).first()
        or {}
    )


def confirm_shipping(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """Check the delivery address the customer gave and keep it for their next order
    (``create_order`` uses it when it names none); returns the store's shipping policy."""
    from agents.models import CollectedForm
    from catalog.selectors import get_store_profile

    digits = re.sub(r"\D", "", str(args["postal_code"]))
    if len(digits) != 8:
        raise ToolFailed("postal_code: a CEP has 8 digits; ask the customer again.")
    address = {k: " ".join(str(args[k]).split()) for k in ADDRESS_FIELDS if args.get(k)}
    address["postal_code"] = f"{digits[:5]}-{digits[5:]}"
    address["state"] = address["state"].upper()
    policy = get_store_profile().shipping_policy or ""
    if ctx.lead_id is None:
        raise ToolFailed("No customer is identified: call capture_lead with their e-mail or phone first.")
    if not ctx.dry_run:
        with transaction.atomic():
            CollectedForm.objects.update_or_create(
                lead_id=ctx.lead_id, form=SHIPPING_FORM, defaults={"data": address, "complete": True}
            )
        ctx.side_effects.append(SideEffect("shipping_confirmed", {"address": address}))
    one_line = ", ".join(
        part for part in (
            f"{address['street']}, {address['number']}", address.get("complement"), address.get("district"),
            f"{address['city']}/{address['state']}", address["postal_code"],
        ) if part
    )
    return {"confirmed": True, "address": address, "as_text": one_line, "shipping_policy": policy or None,
            **({"dry_run": True} if ctx.dry_run else {})}


def create_order(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from orders import services as orders
    from orders.errors import PaymentError

    if ctx.lead_id is None:
        raise ToolFailed("No customer is identified: call capture_lead with their e-mail or phone first.")
    items = sorted((int(i["product_id"]), int(i["quantity"])) for i in args["items"])
    if ctx.dry_run:
        return {"dry_run": True, "order_number": "(not created: dry run)", "items": items}
    shipping_address = args.get("shipping_address") or _confirmed_address(ctx.lead_id)
    order = orders.create_order(
        ctx.lead_id,
        items,
        ctx.request.channel,
        idempotency_key=order_idempotency_key(ctx.request, call_id, items),
        shipping_address=shipping_address,
        notes=args.get("notes", ""),
        by=actor(ctx),
    )
    gateway = settings.AGENTS_ORDER_PAYMENT_GATEWAY
    payment_note = ""
    if gateway and order.status == "draft":
        try:
            order = orders.start_payment(order.pk, gateway, by=actor(ctx))
        except PaymentError as exc:
            # The order and its stock stand; staff send the payment details.
            payment_note = f"Payment could not be started ({exc.code}); staff will send payment details."
    data = {
        "order_id": order.pk,
        "order_number": order.number,
        "status": order.status,
        "total": money(order.total),
        "currency": order.currency,
        "items": [
            {"name": i.name, "quantity": i.quantity, "unit_price": money(i.unit_price)} for i in order.items.all()
        ],
        "payment_url": order.payment_url or None,
        "shipping_address": order.shipping_address or None,
    }
    if payment_note:
        data["note"] = payment_note
    elif not order.payment_url:
        data["note"] = "No online payment link: tell the customer the store will send payment details."
    ctx.side_effects.append(SideEffect(
        "order_created", {k: data[k] for k in ("order_id", "order_number", "total", "currency", "payment_url")}
    ))
    return data


def get_order_status(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from orders.models import Order

    if ctx.lead_id is None:
        raise ToolFailed("No customer is identified in this conversation, so no order can be looked up.")
    # Only the customer's own orders: a number from another customer finds nothing.
    orders = Order.objects.filter(lead_id=ctx.lead_id).prefetch_related("items").order_by("-created_at", "-pk")
    if args.get("order_number"):
        orders = orders.filter(number=str(args["order_number"]).strip().lstrip("#"))
    found = list(orders[:3])
    if not found:
        raise ToolFailed("No order of this customer matches; ask for the order number.")
    return {
        "orders": [
            {
                "order_number": o.number,
                "status": o.status,
                "created_at": f"{o.created_at:%Y-%m-%d}",
                "total": money(o.total),
                "currency": o.currency,
                "items": [f"{i.quantity}× {i.name}" for i in o.items.all()],
                "payment_url": o.payment_url or None,
                "carrier": o.carrier or None,
                "tracking_code": o.tracking_code or None,
            }
            for o in found
        ]
    }


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


TOOLS = [
    Tool(
        "confirm_shipping",
        "Check and keep the customer's delivery address before the order (recipient, street, "
        "number, complement, district, city, state, postal_code/CEP). Returns the address as "
        "one line to read back to the customer and the store's shipping policy.",
        {
            "type": "object",
            "properties": {
                "recipient": _text(200),
                "street": _text(200),
                "number": _text(20),
                "complement": {"type": "string", "maxLength": 100},
                "district": {"type": "string", "maxLength": 100},
                "city": _text(100),
                "state": {"type": "string", "minLength": 2, "maxLength": 40},
                "postal_code": {"type": "string", "minLength": 8, "maxLength": 10},
            },
            "required": ["street", "number", "city", "state", "postal_code"],
            "additionalProperties": False,
        },
        confirm_shipping,
        writes=True,
    ),
    Tool(
        "create_order",
        "Create the customer's order (reserves stock) and return its number and payment link. "
        "Only after the customer confirmed products, sizes and quantities. Uses the address "
        "confirmed with confirm_shipping unless shipping_address is given.",
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "product_id": {"type": "integer", "minimum": 1},
                            "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        "required": ["product_id", "quantity"],
                        "additionalProperties": False,
                    },
                },
                "shipping_address": {"type": "object"},
                "notes": {"type": "string", "maxLength": 1000},
            },
            "required": ["items"],
            "additionalProperties": False,
        },
        create_order,
        writes=True,
    ),
    Tool(
        "get_order_status",
        "The customer's orders (latest first, or the one with this number): status, total, "
        "items, payment link, carrier and tracking code.",
        {
            "type": "object",
            "properties": {"order_number": {"type": "string", "maxLength": 20}},
            "additionalProperties": False,
        },
        get_order_status,
    ),
]
