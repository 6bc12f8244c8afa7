"""The tools an agent may call: JSON-schema arguments, validated before anything runs.

Every tool calls another app's services (never its models' ``save``). A tool's failure is
an answer to the model (``ToolOutcome.ok`` false, with a message it can act on), never an
exception to the customer. Tools run in the current store's schema and reach nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator

from agents.models import Agent
from agents.turns import SideEffect, TurnRequest
from catalog.errors import CatalogError
from knowledge.errors import KnowledgeError
from leads.errors import LeadError
from orders.errors import OrderError

logger = logging.getLogger(__name__)

# What a failing service may raise; anything else is a bug and propagates.
DOMAIN_ERRORS = (CatalogError, OrderError, LeadError, KnowledgeError)


@dataclass
class ToolContext:
    """What a tool may know about the turn it runs in, and what it leaves behind."""

    agent: Agent
    request: TurnRequest
    lead_id: int | None
    dry_run: bool = False
    side_effects: list[SideEffect] = field(default_factory=list)
    handoff_reason: str = ""
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    result: dict[str, Any]

    def as_message(self) -> str:
        return json.dumps(self.result, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolContext, dict[str, Any], str], dict[str, Any]]
    writes: bool = False  # simulated in a dry run

    @property
    def spec(self) -> dict[str, Any]:
        """The tool in the chat-completions wire format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ToolFailed(Exception):
    """Raised by a tool body for a problem the model should read and fix."""


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- catalog ----------------------------------------------------------------------------


def _search_products(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from catalog.search import search_products

    hits = search_products(
        args.get("query", ""),
        price_min=Decimal(str(args["min_price"])) if "min_price" in args else None,
        price_max=Decimal(str(args["max_price"])) if "max_price" in args else None,
        in_stock_only=bool(args.get("in_stock_only", False)),
        limit=int(args.get("limit", 5)),
    )
    return {
        "products": [
            {
                "product_id": h.product_id,
                "sku": h.sku,
                "name": h.name,
                "price": _money(h.price),
                "currency": h.currency,
                "stock": h.stock,
                "in_stock": h.in_stock,
                "score": h.score,
            }
            for h in hits
        ]
    }


def _get_product(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from catalog.selectors import get_product_detail

    p = get_product_detail(int(args["product_id"]))
    if not p.is_active:
        raise ToolFailed(f"Product {p.product_id} is not for sale.")
    return {
        "product_id": p.product_id,
        "sku": p.sku,
        "name": p.name,
        "description": p.description,
        "price": _money(p.price),
        "compare_at_price": _money(p.compare_at_price),
        "currency": p.currency,
        "stock": p.stock,
        "in_stock": p.in_stock,
        "category": p.category,
        "attributes": p.attributes,
        "variants": [
            {
                "product_id": v.product_id,
                "sku": v.sku,
                "attributes": v.attributes,
                "price": _money(v.price),
                "stock": v.stock,
                "in_stock": v.in_stock,
            }
            for v in p.variants
        ],
    }


# --- knowledge --------------------------------------------------------------------------


def _search_knowledge(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from knowledge.search import search

    collections = list(ctx.agent.knowledge_collections.values_list("pk", flat=True)) if ctx.agent.pk else []
    top_k = int(args.get("top_k", 3))
    try:
        hits = search(args["query"], top_k=top_k, collection_ids=collections)
    except KnowledgeError as exc:
        # The embedder is down: words still find passages.
        logger.warning("agents.knowledge_search_fulltext_only", extra={"error": str(exc)})
        hits = search(args["query"], top_k=top_k, collection_ids=collections, mode="fulltext")
    return {
        "passages": [
            {
                "text": h.text,
                "source": h.source,
                "score": h.score,
                "similarity": None if h.similarity is None else round(h.similarity, 4),
                "shares_words": h.text_rank is not None,
            }
            for h in hits
        ]
    }


# --- leads ------------------------------------------------------------------------------


def _capture_lead(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from leads import services as leads
    from leads.models import IdentityKind, Lead

    name, email, phone, stage = (args.get(k) for k in ("name", "email", "phone", "stage"))
    if ctx.dry_run:
        return {"dry_run": True, "would_update": {k: v for k, v in args.items() if v}}
    lead_id = ctx.lead_id
    if lead_id is None:
        if email:
            lead = leads.ensure_lead(IdentityKind.EMAIL, email, name=name, phone=phone, source_channel=IdentityKind.API)
        elif phone:
            lead = leads.ensure_lead(IdentityKind.PHONE, phone, name=name, email=email, source_channel=IdentityKind.API)
        else:
            raise ToolFailed("No customer is known in this conversation yet: ask for an e-mail or phone number.")
        lead_id = ctx.lead_id = lead.pk
    else:
        if email:
            leads.add_identity(lead_id, IdentityKind.EMAIL, email)
        if phone:
            leads.add_identity(lead_id, IdentityKind.PHONE, phone)
        identity = Lead.objects.get(pk=lead_id).identities.order_by("pk").first()
        if identity is not None and (name or email or phone):
            # Fills the lead's blanks; what the customer told before is never overwritten.
            leads.ensure_lead(identity.kind, identity.value, name=name, email=email, phone=phone)
    if stage:
        leads.change_stage(lead_id, stage, by=f"agent:{ctx.agent.pk}", reason="captured in conversation")
    lead = Lead.objects.get(pk=lead_id)
    data = {"lead_id": lead.pk, "name": lead.name, "email": lead.email, "phone": lead.phone, "stage": lead.stage}
    ctx.side_effects.append(SideEffect("lead_updated", data))
    return data


# --- orders -----------------------------------------------------------------------------


def order_idempotency_key(request: TurnRequest, call_id: str, items: list[tuple[int, int]]) -> str:
    """The same burst asking for the same items is one order, however often it is retried.

    Keyed on the turn and the items rather than only the tool-call id: a real model
    gives its tool calls new random ids when the turn is retried.
    """
    if not request.turn_key:
        return f"agent:c{request.conversation_id}:call:{call_id}"[:200]
    digest = hashlib.sha256(json.dumps(sorted(items)).encode()).hexdigest()[:16]
    return f"agent:{request.turn_key}:{digest}"[:200]


def _create_order(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from orders import services as orders
    from orders.errors import PaymentError

    if ctx.lead_id is None:
        raise ToolFailed("No customer is identified: call capture_lead with their e-mail or phone first.")
    items = sorted((int(i["product_id"]), int(i["quantity"])) for i in args["items"])
    if ctx.dry_run:
        return {"dry_run": True, "order_number": "(not created: dry run)", "items": items}
    order = orders.create_order(
        ctx.lead_id,
        items,
        ctx.request.channel,
        idempotency_key=order_idempotency_key(ctx.request, call_id, items),
        shipping_address=args.get("shipping_address") or {},
        notes=args.get("notes", ""),
        by=f"agent:{ctx.agent.pk}",
    )
    gateway = settings.AGENTS_ORDER_PAYMENT_GATEWAY
    payment_note = ""
    if gateway and order.status == "draft":
        try:
            order = orders.start_payment(order.pk, gateway, by=f"agent:{ctx.agent.pk}")
        except PaymentError as exc:
            # The order and its stock stand; staff send the payment details.
            payment_note = f"Payment could not be started ({exc.code}); staff will send payment details."
    data = {
        "order_id": order.pk,
        "order_number": order.number,
        "status": order.status,
        "total": _money(order.total),
        "currency": order.currency,
        "items": [
            {"name": i.name, "quantity": i.quantity, "unit_price": _money(i.unit_price)} for i in order.items.all()
        ],
        "payment_url": order.payment_url or None,
    }
    if payment_note:
        data["note"] = payment_note
    elif not order.payment_url:
        data["note"] = "No online payment link: tell the customer the store will send payment details."
    ctx.side_effects.append(SideEffect("order_created", {k: data[k] for k in ("order_id", "order_number", "total", "currency", "payment_url")}))
    return data


def _get_order_status(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
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
                "total": _money(o.total),
                "currency": o.currency,
                "items": [f"{i.quantity}× {i.name}" for i in o.items.all()],
                "payment_url": o.payment_url or None,
                "carrier": o.carrier or None,
                "tracking_code": o.tracking_code or None,
            }
            for o in found
        ]
    }


# --- handoff ----------------------------------------------------------------------------


def _handoff(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return handoff(ctx, args["reason"], args.get("summary", ""))


def handoff(ctx: ToolContext, reason: str, summary: str = "") -> dict[str, Any]:
    """Ask for a person: marks the turn, records a ``handoff`` event on the lead's timeline
    (not in a dry run). Also used by the loop's handoff rules, whatever the enabled tools."""
    reason = reason.strip() or "handoff"
    ctx.handoff_reason = reason
    if ctx.lead_id is not None and not ctx.dry_run:
        from leads import services as leads
        from leads.models import EventKind

        leads.record_event(ctx.lead_id, EventKind.HANDOFF, {"reason": reason, "summary": summary, "by": f"agent:{ctx.agent.pk}"})
    ctx.side_effects.append(SideEffect("handoff", {"reason": reason, "summary": summary}))
    return {"handed_off": True, "reason": reason}


# --- the registry -----------------------------------------------------------------------

_TOOLS = [
    Tool(
        "search_products",
        "Search the store's catalog. Returns products with id, price, currency and stock.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What the customer is looking for."},
                "min_price": {"type": "number", "minimum": 0},
                "max_price": {"type": "number", "minimum": 0},
                "in_stock_only": {"type": "boolean"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        _search_products,
    ),
    Tool(
        "get_product",
        "Details of one product: description, variants (sizes, colours) with their stock.",
        {
            "type": "object",
            "properties": {"product_id": {"type": "integer", "minimum": 1}},
            "required": ["product_id"],
            "additionalProperties": False,
        },
        _get_product,
    ),
    Tool(
        "search_knowledge",
        "Search the store's knowledge base (policies, FAQ, manuals). Quote what you use and cite its source.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 2},
                "top_k": {"type": "integer", "minimum": 1, "maximum": 8},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        _search_knowledge,
    ),
    Tool(
        "capture_lead",
        "Save what the customer told about themselves (name, e-mail, phone) and their sales stage.",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
                "phone": {"type": "string", "minLength": 8, "maxLength": 25},
                "stage": {"type": "string", "enum": ["engaged", "qualified", "lost"]},
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
        _capture_lead,
        writes=True,
    ),
    Tool(
        "create_order",
        "Create the customer's order (reserves stock) and return its number and payment link. "
        "Only after the customer confirmed products, sizes and quantities.",
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
        _create_order,
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
        _get_order_status,
    ),
    Tool(
        "handoff",
        "Pass the conversation to a person of the store's team. Use when the customer asks for "
        "a person, or you cannot help.",
        {
            "type": "object",
            "properties": {
                "reason": {"type": "string", "minLength": 3, "maxLength": 500},
                "summary": {"type": "string", "maxLength": 2000},
            },
            "required": ["reason"],
            "additionalProperties": False,
        },
        _handoff,
    ),
]
TOOLS: dict[str, Tool] = {t.name: t for t in _TOOLS}
_VALIDATORS = {t.name: Draft202012Validator(t.parameters) for t in _TOOLS}


def specs(names: list[str]) -> tuple[dict[str, Any], ...]:
    """The wire specs of the enabled tools that exist, in registry order."""
    return tuple(t.spec for t in _TOOLS if t.name in names)


def execute(ctx: ToolContext, name: str, raw_arguments: str | dict, call_id: str) -> ToolOutcome:
    """Validate the model's arguments and run the tool.

    Unknown or disabled tool, unreadable JSON, arguments against the schema and domain
    errors of the services come back as ``ok=False`` with a message for the model.
    """
    tool = TOOLS.get(name)
    if tool is None or name not in (ctx.agent.enabled_tools or []):
        allowed = ", ".join(n for n in ctx.agent.enabled_tools or [] if n in TOOLS)
        return ToolOutcome(False, {"error": f"There is no tool {name!r}. Available: {allowed}."})
    if isinstance(raw_arguments, dict):
        args = raw_arguments
    else:
        try:
            args = json.loads(raw_arguments or "{}")
        except ValueError as exc:
            return ToolOutcome(False, {"error": f"The arguments are not valid JSON ({exc}). Send a JSON object."})
    if not isinstance(args, dict):
        return ToolOutcome(False, {"error": "The arguments must be a JSON object."})
    problems = sorted(_VALIDATORS[name].iter_errors(args), key=lambda e: list(e.absolute_path))
    if problems:
        details = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}" for e in problems[:5]
        )
        return ToolOutcome(False, {"error": f"Invalid arguments for {name}: {details}. Fix them and call again."})
    try:
        return ToolOutcome(True, tool.run(ctx, args, call_id))
    except ToolFailed as exc:
        return ToolOutcome(False, {"error": str(exc)})
    except DOMAIN_ERRORS as exc:
        return ToolOutcome(False, {"error": exc.message, "code": exc.code})
