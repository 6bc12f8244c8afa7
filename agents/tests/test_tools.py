from __future__ import annotations

from agents import services, tools
from agents.tests.conftest import turn


def _ctx(agent, lead=None, **kw):
    return tools.ToolContext(agent=agent, request=turn("oi", lead=lead), lead_id=lead.pk if lead else None, **kw)


def test_capture_lead_fills_blanks_and_moves_the_stage(store, lead):
    agent = services.create_agent_from_template("leads")
    ctx = _ctx(agent, lead)

    outcome = tools.execute(ctx, "capture_lead", {"email": "ana@example.com", "name": "Outra", "stage": "qualified"}, "c1")

    assert outcome.ok
    assert outcome.result == {
        "lead_id": lead.pk, "name": "Ana Souza", "email": "ana@example.com", "phone": "+5511988887777",
        "stage": "qualified",
    }
    assert lead.identities.filter(kind="email", value="ana@example.com").exists()
    assert [e.kind for e in ctx.side_effects] == ["lead_updated"]


def test_capture_lead_creates_the_lead_of_an_anonymous_conversation(store):
    agent = services.create_agent_from_template("leads")
    ctx = _ctx(agent)

    outcome = tools.execute(ctx, "capture_lead", {"email": "NEW@Example.com", "name": "Bia"}, "c1")

    assert outcome.ok and outcome.result["email"] == "new@example.com"
    assert ctx.lead_id == outcome.result["lead_id"]


def test_a_disabled_tool_cannot_be_called(store, products):
    agent = services.create_agent_from_template("support")

    outcome = tools.execute(_ctx(agent), "search_products", {"query": "collant"}, "c1")

    assert outcome.result == {"error": "There is no tool 'search_products'. Available: search_knowledge, get_order_status, human_handoff, report_outcome."}


def test_knowledge_search_reads_only_the_agents_collections(store, policies):
    from knowledge import services as knowledge

    other = knowledge.create_collection("Interno")
    knowledge.add_text_document(other.pk, title="Segredo", text="Política interna de trocas entre lojas.", ingest="sync")
    agent = services.create_agent_from_template("support")
    agent.knowledge_collections.set([policies])

    outcome = tools.execute(_ctx(agent), "search_knowledge", {"query": "política de trocas", "top_k": 5}, "c1")

    sources = {p["source"] for p in outcome.result["passages"]}
    assert "Política de trocas" in sources and "Segredo" not in sources


def test_an_out_of_stock_order_is_explained_to_the_model(store, products, lead):
    agent = services.create_agent_from_template("sales")
    items = [{"product_id": products["collant"].pk, "quantity": 8}]

    outcome = tools.execute(_ctx(agent, lead), "create_order", {"items": items}, "c1")

    assert outcome.result == {"error": "Only 7 unit(s) of COL-ML in stock; 8 requested.", "code": "out_of_stock"}


def test_order_status_shows_only_the_customers_own_orders(store, products, lead):
    from leads import services as leads
    from orders import services as orders

    mine = orders.create_order(lead.pk, [(products["meia"].pk, 1)], "whatsapp")
    stranger = leads.ensure_lead("email", "outro@example.com")
    theirs = orders.create_order(stranger.pk, [(products["collant"].pk, 1)], "whatsapp")
    agent = services.create_agent_from_template("support")
    ctx = _ctx(agent, lead)

    latest = tools.execute(ctx, "get_order_status", {}, "c1")
    other = tools.execute(ctx, "get_order_status", {"order_number": theirs.number}, "c2")

    assert [o["order_number"] for o in latest.result["orders"]] == [mine.number]
    assert latest.result["orders"][0] | {"created_at": None} == {
        "order_number": mine.number, "status": "draft", "created_at": None, "total": "39.90", "currency": "BRL",
        "items": ["1× Meia-calça Ballet com Pé"], "payment_url": None, "carrier": None, "tracking_code": None,
    }
    assert other.result == {"error": "No order of this customer matches; ask for the order number."}
