"""What a model call costs: the store's models catalog first, then a built-in table."""

from __future__ import annotations

from decimal import Decimal

from agents.models import ModelPrice

MILLION = Decimal(1_000_000)

# USD per million tokens (prompt, completion), list prices; a store's ModelPrice row wins.
DEFAULT_PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "openai:gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "openai:gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "openai:gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "openai:gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "openai:deepseek-chat": (Decimal("0.27"), Decimal("1.10")),
}


def prices_for(provider: str, model: str) -> tuple[Decimal, Decimal]:
    """(prompt, completion) price per million tokens; zero for unknown and local models."""
    row = (
        ModelPrice.objects.filter(provider=provider, model=model)
        .values_list("prompt_price_per_million", "completion_price_per_million")
        .first()
    )
    if row is not None:
        return row
    return DEFAULT_PRICES.get(f"{provider}:{model}", (Decimal(0), Decimal(0)))


def cost_of(provider: str, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prompt_price, completion_price = prices_for(provider, model)
    cost = (prompt_price * prompt_tokens + completion_price * completion_tokens) / MILLION
    return cost.quantize(Decimal("0.000001"))
