"""What a turn reads with its agent in one statement is never stale: staff's edits (a new
API key, the agent's prompt and collections, prices, store facts, the lead's profile) apply
to the very next turn, in the store that made them and no other."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from agents import services, vault
from agents.models import AgentRun, AgentStep, TokenUsage
from agents.tests.conftest import turn
from agents.tests.fake_llm import completion, tool_call


def test_a_replaced_or_deleted_api_key_applies_to_the_next_turn(llm_agent, fake_llm):
    fake_llm.script = [completion("Olá!"), completion("Olá de novo!")]
    services.run_turn(turn("oi", turn_key="t1"))
    vault.set_credential("llm", "openai", "sk-rotated-0987654321")
    services.run_turn(turn("oi", turn_key="t2"))
    vault.delete_credential("llm", "openai")
    third = services.run_turn(turn("oi", turn_key="t3"))

    assert [h["authorization"] for h in fake_llm.headers] == [
        "Bearer sk-test-1234567890", "Bearer sk-rotated-0987654321",
    ]
    assert third.provider == "offline"
    assert AgentStep.objects.get(run_id=third.run_id, kind="fallback").error.startswith("credential_missing:")


def test_an_agent_with_its_own_credential_name_uses_that_key(llm_agent, fake_llm):
    vault.set_credential("llm", "deepseek-key", "sk-deepseek-5555555555")
    services.update_agent(llm_agent.pk, credential_name="deepseek-key")
    fake_llm.script = [completion("Olá!")]

    services.run_turn(turn("oi"))

    assert fake_llm.headers[0]["authorization"] == "Bearer sk-deepseek-5555555555"


def test_the_prompt_prices_and_facts_follow_staff_edits_at_once(llm_agent, fake_llm, lead):
    from catalog.selectors import get_store_profile
    from leads.models import Lead

    fake_llm.script = [completion("1", prompt_tokens=1_000_000, completion_tokens=0)] * 2
    services.run_turn(turn("oi", lead=lead, turn_key="t1"))
    services.update_agent(llm_agent.pk, system_prompt="Você é a Bia, da loja.")
    services.add_model("openai", "gpt-4o-mini", prompt_price_per_million=Decimal("2.00"))
    profile = get_store_profile()
    profile.opening_hours = "Seg a sex, 9h às 18h"
    profile.save()
    Lead.objects.filter(pk=lead.pk).update(profile_summary="Cliente fiel, prefere PIX.")
    services.run_turn(turn("oi", lead=lead, turn_key="t2"))

    first, second = fake_llm.requests
    assert not first["messages"][0]["content"].startswith("Você é a Bia")
    assert "Seg a sex, 9h às 18h" not in first["messages"][0]["content"]
    assert first["messages"][1]["content"].startswith("What we know about this customer: Name: Ana Souza.")
    assert second["messages"][0]["content"].startswith("Você é a Bia, da loja.")
    assert "- Opening hours: Seg a sex, 9h às 18h" in second["messages"][0]["content"]
    assert second["messages"][1]["content"] == "What we know about this customer: Cliente fiel, prefere PIX."
    # gpt-4o-mini costs $0.15 per million prompt tokens by default, $2.00 once the store says so.
    assert list(TokenUsage.objects.order_by("pk").values_list("cost", flat=True)) == [
        Decimal("0.150000"), Decimal("2.000000"),
    ]


def test_each_store_answers_with_its_own_agent_and_key(llm_agent, fake_llm, other_store):
    with tenant_context(other_store):
        other = services.create_agent_from_template("sales", name="Outra", provider="openai", model="gpt-4o-mini",
                                                    make_default=True)
        other.base_url = fake_llm.url + "/v1"
        other.save()
        vault.set_credential("llm", "openai", "sk-other-store-111111")
    fake_llm.script = [completion("A"), completion("B"), completion("C")]

    services.run_turn(turn("oi", turn_key="a1"))
    with tenant_context(other_store):
        services.run_turn(turn("oi", turn_key="b1"))
    services.run_turn(turn("oi", turn_key="a2"))

    assert [h["authorization"] for h in fake_llm.headers] == [
        "Bearer sk-test-1234567890", "Bearer sk-other-store-111111", "Bearer sk-test-1234567890",
    ]


def test_a_turn_with_a_knowledge_search_takes_three_statements(llm_agent, fake_llm, policies, lead):
    """The agent with what its turn reads (the store's search settings and the lead's profile,
    built from its timeline as none is stored yet, included), the search, and the run with
    its steps and usage."""
    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "search_knowledge", {"query": "trocar o tamanho"})]),
        completion("Você pode trocar em até 30 dias."),
    ]
    services.run_turn(turn("oi", lead=lead, turn_key="warm"))  # the embedder loads, nothing else
    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "search_knowledge", {"query": "trocar o tamanho"})]),
        completion("Você pode trocar em até 30 dias."),
    ]
    with CaptureQueriesContext(connection) as queries:
        result = services.run_turn(turn("Posso trocar o tamanho?", lead=lead, turn_key="t1"))

    assert result.sources[0] == "Política de trocas"
    run = AgentRun.objects.get(pk=result.run_id)
    assert (run.status, run.reply, run.prompt_tokens) == ("answered", "Você pode trocar em até 30 dias.", 240)
    assert list(run.steps.values_list("position", "kind", "name")) == [
        (1, "llm", "openai:gpt-4o-mini"), (2, "tool", "search_knowledge"), (3, "llm", "openai:gpt-4o-mini"),
    ]
    assert run.usage.count() == 2
    assert len(queries.captured_queries) == 3, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_a_lead_never_profiled_is_described_from_its_timeline_as_a_refresh_would(llm_agent, fake_llm):
    from leads import services as leads
    from leads.models import Lead

    lead = leads.ensure_lead("whatsapp", "5511988887777", name="Ana")
    leads.add_identity(lead.pk, "email", "ana@example.com")
    leads.set_tags(lead.pk, ["ballet", "vip"])
    leads.record_event(lead.pk, "message", {"direction": "in", "text": "Tem sapatilha de ponta 36?"})
    leads.record_event(lead.pk, "order_created", {"number": "1001", "products": ["1× Sapatilha de ponta 36"],
                                                 "total": "199.90", "currency": "BRL"})
    leads.record_event(lead.pk, "order_paid", {"number": "1001"})
    leads.record_event(lead.pk, "note", {"text": "Prefers deliveries after 18h"})
    fake_llm.script = [completion("Olá, Ana!")]

    services.run_turn(turn("oi", lead=lead))

    described = fake_llm.requests[0]["messages"][1]["content"]
    assert Lead.objects.get(pk=lead.pk).profile_summary == ""
    refreshed = leads.refresh_profile(lead.pk).profile_summary
    assert described == f"What we know about this customer: {refreshed}"
    assert "Orders: 1 created, 1 paid. Last order #1001 on " in refreshed
    assert leads.current_profile_summary(lead.pk) == refreshed
    assert leads.current_profile_summary(10**9) == ""
