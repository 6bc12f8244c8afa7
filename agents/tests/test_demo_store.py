"""The offline responder on the demo store's real catalog and knowledge base."""

from __future__ import annotations

import pytest

from agents import demo, services
from agents.tests.conftest import turn

FOOTER = "(Sou o assistente automático da loja: respondo com as informações cadastradas, sem inteligência artificial generativa."


@pytest.fixture
def demo_store(store):
    from catalog import demo as catalog_demo
    from catalog.embeddings import embed_products
    from knowledge import demo as knowledge_demo

    catalog_demo.populate()
    embed_products()  # as the worker does after the demo loads: search has its semantic leg
    knowledge_demo.populate()
    return demo.populate()


def test_the_demo_agent_answers_from_knowledge_and_catalog_and_hands_off_the_rest(demo_store):
    """One test: loading the demo's knowledge base (embedding every chunk) is the slow part."""
    cases = {
        "Qual é o prazo para trocar de tamanho?": (
            'Encontrei isto em "Trocas e devoluções > Troca de tamanho":',
            "A primeira troca de tamanho é grátis em até 30 dias após o recebimento.",
        ),
        "Vocês parcelam no cartão?": (
            'Encontrei isto em "Formas de pagamento > Cartão de crédito":',
            "Parcelamos em até 6x sem juros",
        ),
        "Quanto tempo demora a entrega pelo PAC?": (
            'Encontrei isto em "Frete e entregas > Prazos":',
            "pelo PAC, em 4 a 9 dias úteis",
        ),
        "Vocês aceitam PIX?": ('Encontrei isto em "Formas de pagamento > PIX":', "5% de desconto"),
    }
    for question, (cited, quoted) in cases.items():
        result = services.run_turn(turn(question))
        assert result.reply.startswith(cited), question
        assert quoted in result.reply, question
        assert FOOTER in result.reply
        assert (result.handoff, result.agent_id) == (False, demo_store.pk)

    pointe = services.run_turn(turn("Quanto custa a sapatilha de ponta?")).reply
    polaina = services.run_turn(turn("Tem polaina?")).reply

    assert pointe.startswith("Encontrei estes produtos no catálogo:\n• Sapatilha de Ponta Clássica — R$ 289,90 — em estoque")
    assert "• Sapatilha de Ponta Profissional Grishko — R$ 459,90" in pointe
    assert polaina.startswith("Encontrei estes produtos no catálogo:\n• Polaina de Lã — R$ 59,90 — em estoque (9 un.)")

    result = services.run_turn(turn("Meu gato fugiu, o que eu faço?"))

    assert result.handoff is True
    assert result.reply.startswith("Sou o assistente automático da loja e não encontrei uma resposta segura")
