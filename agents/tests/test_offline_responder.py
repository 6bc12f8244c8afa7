from __future__ import annotations

from agents import services
from agents.models import AgentRun, AgentStep, TokenUsage
from agents.tests.conftest import turn


def test_offline_responder_quotes_the_policy_passage(store, policies):
    result = services.run_turn(turn("Oi! Qual é a política de trocas de vocês?"))

    assert 'Encontrei isto em "Política de trocas"' in result.reply
    assert "trocar o tamanho grátis em até 30 dias" in result.reply
    assert "assistente automático" in result.reply  # it says what it is
    assert result.handoff is False
    assert result.provider == "offline"
    run = AgentRun.objects.get()
    assert [(s.kind, s.name) for s in run.steps.all()] == [
        ("llm", "offline"), ("tool", "search_knowledge"), ("tool", "search_products"), ("llm", "offline"),
    ]
    assert TokenUsage.objects.filter(run=run, provider="offline", prompt_tokens=0).count() == 2


def test_offline_responder_finds_products_with_price_and_stock(store, products):
    result = services.run_turn(turn("Quanto custa o collant manga longa?"))

    assert "Encontrei estes produtos no catálogo:" in result.reply
    assert "• Collant Manga Longa — R$ 99,90 — em estoque (7 un.)" in result.reply
    assert "Meia-calça" not in result.reply


def test_offline_responder_answers_from_the_store_profile(store):
    from catalog.selectors import get_store_profile

    profile = get_store_profile()
    profile.shipping_policy = "Enviamos pelos Correios em até 2 dias úteis."
    profile.save()

    result = services.run_turn(turn("Como funciona o frete?"))

    assert "Segundo as informações da loja — envio: Enviamos pelos Correios em até 2 dias úteis." in result.reply


def test_offline_responder_hands_off_when_it_knows_nothing(store, policies, products, lead):
    result = services.run_turn(turn("Meu cachorro comeu a encomenda, e agora?", lead=lead))

    assert result.handoff is True
    assert result.reply.startswith("Sou o assistente automático da loja e não encontrei uma resposta segura")
    assert [e.kind for e in result.side_effects] == ["handoff"]
    assert lead.events.filter(kind="handoff").count() == 1
    assert AgentRun.objects.get().status == "handoff"


def test_a_store_without_agents_gets_a_default_sales_agent(store, products):
    result = services.run_turn(turn("Vocês têm meia-calça?"))

    agent = services.agent_for_turn(None)
    assert (agent.name, agent.is_default, agent.provider) == ("Sales", True, "offline")
    assert result.agent_id == agent.pk
    assert "Meia-calça Ballet com Pé — R$ 39,90" in result.reply


def test_handoff_keyword_goes_to_a_person_without_searching(store, lead):
    result = services.run_turn(turn("quero falar com um atendente, por favor", lead=lead))

    assert result.handoff is True
    assert result.reply.startswith("Claro! Vou passar a conversa para uma pessoa da equipe")
    assert "atendente" in result.handoff_reason
    assert list(AgentStep.objects.values_list("kind", flat=True)) == ["rule"]
    assert TokenUsage.objects.count() == 0


def test_the_offline_responder_speaks_the_store_language(store, products):
    from catalog.selectors import get_store_profile

    profile = get_store_profile()
    profile.language = "es"
    profile.save()

    result = services.run_turn(turn("¿Cuánto cuesta el collant manga longa?"))

    assert result.reply.startswith("Encontré estos productos en el catálogo:")
    assert "Soy el asistente automático de la tienda" in result.reply
