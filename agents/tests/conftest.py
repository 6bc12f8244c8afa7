from __future__ import annotations

from decimal import Decimal

import pytest

from agents import services, vault
from agents.tests.fake_llm import FakeLLMServer
from agents.turns import ConversationMessage, TurnRequest


@pytest.fixture
def fake_llm():
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.AGENTS_LLM_BACKOFF = 0.01
    settings.AGENTS_LLM_MAX_RETRIES = 2
    settings.AGENTS_LLM_TIMEOUT = 5.0
    settings.AGENTS_ORDER_PAYMENT_GATEWAY = "manual"


@pytest.fixture
def products(store):
    from catalog.models import Product

    collant = Product.objects.create(
        sku="COL-ML", name="Collant Manga Longa", price=Decimal("99.90"), stock_quantity=7,
        description="Collant de manga longa em suplex, para aulas no inverno.",
    )
    meia = Product.objects.create(
        sku="MEIA-PE", name="Meia-calça Ballet com Pé", price=Decimal("39.90"), stock_quantity=30,
        description="Meia-calça fio 40 rosa ballet.",
    )
    return {"collant": collant, "meia": meia}


@pytest.fixture
def lead(store):
    from leads import services as leads

    return leads.ensure_lead("whatsapp", "5511988887777", name="Ana Souza")


@pytest.fixture
def policies(store):
    from knowledge import services as knowledge

    collection = knowledge.create_collection("Políticas")
    knowledge.add_text_document(
        collection.pk,
        title="Política de trocas",
        text=(
            "Trocas e devoluções: você pode trocar o tamanho grátis em até 30 dias após o recebimento, "
            "com o produto sem uso e na embalagem original. Sapatilhas de ponta costuradas não podem "
            "ser trocadas."
        ),
        ingest="sync",
    )
    knowledge.add_text_document(
        collection.pk,
        title="Cuidados com o collant",
        text="Lave o collant à mão com água fria e sabão neutro; não use secadora.",
        ingest="sync",
    )
    return collection


@pytest.fixture
def llm_agent(store, fake_llm):
    """A Sales agent on the fake OpenAI-compatible server, with its API key in the vault."""
    agent = services.create_agent_from_template("sales", name="Vendas", provider="openai", model="gpt-4o-mini",
                                                make_default=True)
    agent.base_url = fake_llm.url + "/v1"
    agent.save()
    vault.set_credential("llm", "openai", "sk-test-1234567890")
    return agent


def turn(*texts: str, lead=None, agent=None, turn_key: str = "burst-1", conversation_id: int = 1) -> TurnRequest:
    return TurnRequest(
        conversation_id=conversation_id,
        channel="whatsapp",
        messages=tuple(ConversationMessage("customer", t) for t in texts),
        lead_id=lead.pk if lead else None,
        agent_id=agent.pk if agent else None,
        turn_key=turn_key,
    )
