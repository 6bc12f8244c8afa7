"""Anthropic, Google (Gemini) and Mistral models through their OpenAI-compatible endpoints:
configured like any other base URL, each with its own key from the store's vault and its
own prices. The local server stands in for each vendor at the path its endpoint lives on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents import services, vault
from agents.models import AgentStep, TokenUsage
from agents.tests.conftest import turn
from agents.tests.fake_llm import completion

# (vendor, the path of its OpenAI-compatible endpoint, a model it serves)
VENDORS = [
    ("anthropic", "/v1", "claude-sonnet-4-5"),  # https://api.anthropic.com/v1/
    ("google", "/v1beta/openai", "gemini-2.5-flash"),  # https://generativelanguage.googleapis.com/v1beta/openai/
    ("mistral", "/v1", "mistral-small-latest"),  # https://api.mistral.ai/v1
]


@pytest.mark.parametrize(("vendor", "path", "model"), VENDORS)
def test_a_vendors_openai_compatible_endpoint_answers_the_turn_with_its_own_key_and_prices(
    store, fake_llm, vendor, path, model
):
    agent = services.create_agent_from_template("support", name=f"Suporte {vendor}", provider="openai",
                                                model=model, make_default=True)
    services.update_agent(agent.pk, base_url=fake_llm.url + path, credential_name=vendor)
    vault.set_credential("llm", vendor, f"{vendor}-key-1234567890")
    services.add_model("openai", model, context_window=200_000, prompt_price_per_million=Decimal("3"),
                       completion_price_per_million=Decimal("15"))
    fake_llm.script = [completion("Trocas em até 30 dias.", prompt_tokens=1000, completion_tokens=100, model=model)]

    result = services.run_turn(turn("posso trocar?"))

    assert result.reply == "Trocas em até 30 dias." and result.provider == "openai"
    assert fake_llm.paths == [f"{path}/chat/completions"]
    assert fake_llm.headers[0]["authorization"] == f"Bearer {vendor}-key-1234567890"
    assert fake_llm.requests[0]["model"] == model
    usage = TokenUsage.objects.get(run_id=result.run_id)
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == (model, 1000, 100)
    assert usage.cost == Decimal("0.004500")  # 1000 x $3/M + 100 x $15/M


def test_a_vendor_without_its_key_in_the_vault_falls_back_and_says_which_key_is_missing(store, fake_llm):
    agent = services.create_agent_from_template("support", name="Suporte Claude", provider="openai",
                                                model="claude-sonnet-4-5", make_default=True)
    services.update_agent(agent.pk, base_url=fake_llm.url + "/v1", credential_name="anthropic")

    result = services.run_turn(turn("posso trocar?"))

    assert result.provider == "offline" and not fake_llm.requests
    error = AgentStep.objects.get(run_id=result.run_id, kind="fallback").error
    assert error.startswith("credential_missing:") and "anthropic" in error
