"""Agent templates staff start from: a role, a prompt, a temperature and a set of tools."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AgentTemplate:
    key: str
    name: str
    role: str
    temperature: Decimal
    tools: tuple[str, ...]
    system_prompt: str


_COMMON = (
    "Answer in the customer's language, briefly, as a person would on WhatsApp. Use only facts "
    "from the store information below and from your tools; never invent prices, stock, policies "
    "or deadlines. When you cannot help, or the customer asks for a person, call human_handoff."
)

TEMPLATES: dict[str, AgentTemplate] = {
    t.key: t
    for t in (
        AgentTemplate(
            key="sales",
            name="Sales",
            role="sales",
            temperature=Decimal("0.70"),
            tools=(
                "search_products", "filter_products_by_price", "get_product_details", "check_stock",
                "search_knowledge", "capture_lead", "collect_form", "confirm_shipping", "create_order",
                "get_order_status", "human_handoff", "report_outcome", "calculator",
            ),
            system_prompt=(
                "You are the store's sales assistant. Help the customer find the right product: "
                "search the catalog, give name, price and whether it is in stock, ask for the size "
                "or colour when the product has variants. When the customer decides, confirm the "
                "items and quantities, confirm the delivery address, then create the order and send "
                "its number and payment link. When the conversation's purpose is settled, report "
                "its outcome. "
                + _COMMON
            ),
        ),
        AgentTemplate(
            key="support",
            name="Support",
            role="support",
            temperature=Decimal("0.50"),
            tools=("search_knowledge", "get_order_status", "human_handoff", "report_outcome"),
            system_prompt=(
                "You are the store's support assistant. Answer questions about orders, shipping, "
                "returns and products from the knowledge base: search it, quote what applies and "
                "say where it comes from. " + _COMMON
            ),
        ),
        AgentTemplate(
            key="leads",
            name="Leads",
            role="leads",
            temperature=Decimal("0.60"),
            tools=("capture_lead", "update_lead", "collect_form", "search_knowledge", "human_handoff", "report_outcome"),
            system_prompt=(
                "You are the store's first contact. Greet the customer, learn what they need and "
                "ask, naturally and one at a time, for their name and e-mail; save them with "
                "capture_lead and mark the lead qualified when they show a real interest. " + _COMMON
            ),
        ),
    )
}
