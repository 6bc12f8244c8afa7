from __future__ import annotations

import json
from decimal import Decimal

from agents import services
from agents.models import AgentRun, AgentStep, TokenUsage
from agents.tests.conftest import turn
from agents.tests.fake_llm import completion, error, tool_call


def test_the_agent_searches_the_catalog_then_answers(llm_agent, fake_llm, products, lead):
    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "search_products", {"query": "collant manga longa"})]),
        completion("O Collant Manga Longa custa R$ 99,90 e temos 7 em estoque."),
    ]

    result = services.run_turn(turn("Tem collant manga longa?", lead=lead))

    assert result.reply == "O Collant Manga Longa custa R$ 99,90 e temos 7 em estoque."
    assert (result.provider, result.model, result.handoff) == ("openai", "gpt-4o-mini", False)
    first, second = fake_llm.requests
    assert fake_llm.paths == ["/v1/chat/completions", "/v1/chat/completions"]
    assert fake_llm.headers[0]["authorization"] == "Bearer sk-test-1234567890"
    assert first["model"] == "gpt-4o-mini" and first["temperature"] == 0.7
    assert [t["function"]["name"] for t in first["tools"]] == [
        "search_products", "filter_products_by_price", "get_product_details", "check_stock", "search_knowledge",
        "capture_lead", "collect_form", "confirm_shipping", "create_order", "get_order_status", "human_handoff",
        "report_outcome", "calculator",
    ]
    assert first["messages"][0]["role"] == "system"
    assert "Store information:" in first["messages"][0]["content"]
    assert first["messages"][1]["content"].startswith("What we know about this customer: Name: Ana Souza.")
    assert first["messages"][-1] == {"role": "user", "content": "Tem collant manga longa?"}
    # The tool's result goes back to the model under the call's id.
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    [tool_message] = fake_llm.tool_messages(1)
    assert tool_message["tool_call_id"] == "call_1"
    found = json.loads(tool_message["content"])["products"]
    assert found[0] | {"score": None, "text_score": None} == {
        "product_id": products["collant"].pk, "sku": "COL-ML", "name": "Collant Manga Longa", "price": "99.90",
        "currency": "BRL", "stock": 7, "in_stock": True, "score": None, "text_score": None,
    }
    usage = list(TokenUsage.objects.order_by("pk").values_list("provider", "model", "prompt_tokens", "completion_tokens", "cost"))
    # gpt-4o-mini: $0.15 / $0.60 per million tokens.
    assert usage == [("openai", "gpt-4o-mini", 120, 30, Decimal("0.000036"))] * 2
    run = AgentRun.objects.get()
    assert (run.status, run.iterations, run.prompt_tokens, run.completion_tokens, run.cost) == (
        "answered", 1, 240, 60, Decimal("0.000072"),
    )
    assert [(s.kind, s.name) for s in run.steps.all()] == [
        ("llm", "openai:gpt-4o-mini"), ("tool", "search_products"), ("llm", "openai:gpt-4o-mini"),
    ]


def test_parallel_tool_calls_run_in_one_round(llm_agent, fake_llm, products):
    fake_llm.script = [
        completion(tool_calls=[
            tool_call("call_a", "search_products", {"query": "collant"}),
            tool_call("call_b", "get_product_details", {"product_id": products["meia"].pk}),
        ]),
        completion("Pronto."),
    ]

    services.run_turn(turn("Collant e meia-calça?"))

    tool_messages = fake_llm.tool_messages(1)
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b"]
    assert json.loads(tool_messages[1]["content"])["name"] == "Meia-calça Ballet com Pé"
    assert AgentRun.objects.get().iterations == 1


def test_sales_agent_creates_one_order_even_if_the_turn_is_retried(llm_agent, fake_llm, products, lead):
    from orders.models import Order

    collant = products["collant"]
    order_call = {"items": [{"product_id": collant.pk, "quantity": 2}]}
    # A real model names its tool calls anew each time the turn is retried.
    fake_llm.script = [
        completion(tool_calls=[tool_call("call_first", "create_order", order_call)]),
        completion("Pedido criado!"),
        completion(tool_calls=[tool_call("call_retry", "create_order", order_call)]),
        completion("Pedido criado!"),
    ]
    request = turn("Quero 2 collants manga longa", lead=lead, turn_key="conv-1:burst-7")

    first = services.run_turn(request)
    retried = services.run_turn(request)

    order = Order.objects.get()
    assert (order.lead_id, order.status, order.total, order.channel) == (lead.pk, "pending_payment", Decimal("199.80"), "whatsapp")
    collant.refresh_from_db()
    assert collant.stock_quantity == 5  # reserved once
    for result in (first, retried):
        [effect] = result.side_effects
        assert (effect.kind, effect.data["order_number"]) == ("order_created", order.number)
    [tool_message] = fake_llm.tool_messages(3)
    assert json.loads(tool_message["content"])["order_number"] == order.number


def test_an_order_needs_a_known_customer(llm_agent, fake_llm, products):
    fake_llm.script = [
        completion(tool_calls=[tool_call("c1", "create_order", {"items": [{"product_id": products["meia"].pk, "quantity": 1}]})]),
        completion("Qual é o seu e-mail?"),
    ]

    services.run_turn(turn("Quero uma meia-calça"))

    [message] = fake_llm.tool_messages(1)
    assert json.loads(message["content"]) == {
        "error": "No customer is identified: call capture_lead with their e-mail or phone first."
    }


def test_bad_tool_arguments_go_back_to_the_model(llm_agent, fake_llm, products, lead):
    from orders.models import Order

    fake_llm.script = [
        completion(tool_calls=[tool_call("c1", "create_order", {"items": [{"product_id": "collant", "quantity": 0}]})]),
        completion(tool_calls=[tool_call("c2", "search_products", "{not json")]),
        completion(tool_calls=[tool_call("c3", "delete_everything", {})]),
        completion("Desculpe, pode repetir?"),
    ]

    result = services.run_turn(turn("Quero comprar", lead=lead))

    assert result.reply == "Desculpe, pode repetir?"
    assert json.loads(fake_llm.tool_messages(1)[0]["content"])["error"] == (
        "Invalid arguments for create_order: items/0/product_id: 'collant' is not of type 'integer'; "
        "items/0/quantity: 0 is less than the minimum of 1. Fix them and call again."
    )
    assert json.loads(fake_llm.tool_messages(2)[1]["content"])["error"].startswith("The arguments are not valid JSON")
    assert json.loads(fake_llm.tool_messages(3)[2]["content"])["error"].startswith("There is no tool 'delete_everything'.")
    assert Order.objects.count() == 0
    assert AgentStep.objects.filter(kind="tool").exclude(error="").count() == 3


def test_a_rate_limited_call_is_retried_then_succeeds(llm_agent, fake_llm):
    fake_llm.script = [error(429), completion("Olá! Como posso ajudar?")]

    result = services.run_turn(turn("Oi"))

    assert result.reply == "Olá! Como posso ajudar?"
    assert result.provider == "openai"
    assert len(fake_llm.requests) == 2
    assert not AgentStep.objects.filter(kind="fallback").exists()


def test_provider_down_falls_back_to_offline(llm_agent, fake_llm, products):
    fake_llm.script = [error(500), error(502), error(503)]

    result = services.run_turn(turn("Quanto custa o collant manga longa?"))

    assert len(fake_llm.requests) == 3  # the call and its two retries
    assert result.provider == "offline"
    assert "• Collant Manga Longa — R$ 99,90 — em estoque (7 un.)" in result.reply
    fallback = AgentStep.objects.get(kind="fallback")
    assert fallback.name == "openai:gpt-4o-mini"
    assert fallback.error.startswith("provider_unavailable: openai:gpt-4o-mini failed 3 time(s)")
    assert set(TokenUsage.objects.values_list("provider", flat=True)) == {"offline"}


def test_the_fallback_chain_tries_each_provider_in_order(llm_agent, fake_llm):
    llm_agent.fallbacks = ["openai:backup-model"]
    llm_agent.save()
    fake_llm.script = [error(500), error(500), error(500), completion("Resposta do reserva.", model="backup-model")]

    result = services.run_turn(turn("Oi"))

    assert (result.reply, result.provider, result.model) == ("Resposta do reserva.", "openai", "backup-model")
    assert [r["model"] for r in fake_llm.requests] == ["gpt-4o-mini"] * 3 + ["backup-model"]
    assert list(AgentStep.objects.values_list("kind", "name")) == [
        ("fallback", "openai:gpt-4o-mini"), ("llm", "openai:backup-model"),
    ]


def test_a_missing_api_key_is_named_and_the_offline_responder_answers(store, products):
    agent = services.create_agent_from_template("sales", provider="openai", model="gpt-4o-mini", make_default=True)

    result = services.run_turn(turn("Quanto custa a meia-calça?"))

    assert result.provider == "offline"
    step = AgentStep.objects.get(kind="fallback")
    assert step.error == (
        "credential_missing: Missing credential llm/openai (API key of agent 'Sales' (openai:gpt-4o-mini)): "
        "add it under Agents → Credentials with category 'llm' and name 'openai'."
    )
    assert agent.pk == result.agent_id


def test_the_iteration_limit_ends_with_a_graceful_handoff(llm_agent, fake_llm, lead):
    llm_agent.max_tool_iterations = 2
    llm_agent.save()
    looping = completion(tool_calls=[tool_call("c", "search_knowledge", {"query": "frete"})])
    fake_llm.script = [looping, looping, completion(tool_calls=[tool_call("c", "search_knowledge", {"query": "frete"})])]

    result = services.run_turn(turn("E o frete?", lead=lead))

    assert len(fake_llm.requests) == 3
    assert "tools" not in fake_llm.requests[2]  # the last call may only answer
    assert result.handoff is True
    assert result.reply.startswith("Sou o assistente automático da loja e não encontrei")
    assert AgentRun.objects.get().error == "no final answer within the iteration limit"


def test_the_model_can_hand_off(llm_agent, fake_llm, lead):
    fake_llm.script = [
        completion("Vou chamar alguém da equipe.", [tool_call("h1", "handoff", {"reason": "reclamação de entrega"})]),
    ]

    result = services.run_turn(turn("Meu pedido chegou errado!!", lead=lead))

    assert (result.reply, result.handoff, result.handoff_reason) == (
        "Vou chamar alguém da equipe.", True, "reclamação de entrega",
    )
    assert len(fake_llm.requests) == 1  # a person takes over: no further model call
    assert lead.events.filter(kind="handoff").count() == 1


def test_handoff_keywords_skip_the_model(llm_agent, fake_llm):
    result = services.run_turn(turn("Quero falar com um HUMANO!"))

    assert result.handoff is True
    assert fake_llm.requests == []


def test_the_memory_window_limits_what_the_model_sees(llm_agent, fake_llm):
    llm_agent.memory_window = 3
    llm_agent.save()
    fake_llm.script = [completion("ok")]

    services.run_turn(turn("m1", "m2", "m3", "m4", "m5"))

    assert [m["content"] for m in fake_llm.requests[0]["messages"] if m["role"] == "user"] == ["m3", "m4", "m5"]


def test_a_dry_run_creates_no_order(llm_agent, fake_llm, products, lead):
    from orders.models import Order

    fake_llm.script = [
        completion(tool_calls=[tool_call("c1", "create_order", {"items": [{"product_id": products["meia"].pk, "quantity": 1}]})]),
        completion("Simulado."),
    ]

    result = services.run_turn(turn("Quero uma meia", lead=lead), dry_run=True)

    assert result.reply == "Simulado."
    assert Order.objects.count() == 0
    assert json.loads(fake_llm.tool_messages(1)[0]["content"])["dry_run"] is True
    assert AgentRun.objects.get().dry_run is True


def test_an_up_front_agent_puts_the_passages_in_the_prompt_and_a_greeting_retrieves_nothing(
    llm_agent, fake_llm, policies
):
    llm_agent.knowledge_policy = "up_front"
    llm_agent.save()
    fake_llm.script = [completion("Você pode trocar em até 30 dias [Política de trocas]."), completion("Oi! Tudo bem?")]

    answered = services.run_turn(turn("Qual o prazo para trocar o tamanho?", turn_key="k1"))
    greeted = services.run_turn(turn("oi", turn_key="k2"))

    system = [m["content"] for m in fake_llm.requests[0]["messages"] if m["role"] == "system"]
    assert system[1].startswith("Passages of the store's knowledge base for the customer's question")
    assert "[Política de trocas]\nTrocas e devoluções: você pode trocar o tamanho grátis em até 30 dias" in system[1]
    assert answered.sources[0] == "Política de trocas"
    assert len(fake_llm.requests) == 2  # no search_knowledge round trip
    assert [m["role"] for m in fake_llm.requests[1]["messages"]] == ["system", "user"]
    assert greeted.sources == ()
    steps = AgentStep.objects.filter(kind="tool").values_list("run__turn_key", "name")
    assert list(steps) == [("k1", "search_knowledge (up front)")]


def test_a_sale_through_the_openai_client_reserves_stock_returns_the_payment_link_and_is_made_once(
    llm_agent, fake_llm, products, lead, settings
):
    from agents import vault
    from orders.models import Order
    from orders.tests.conftest import FakeAbacatePay

    abacatepay = FakeAbacatePay()
    settings.ABACATEPAY_BASE_URL = abacatepay.url
    settings.AGENTS_ORDER_PAYMENT_GATEWAY = "abacatepay"
    vault.set_credential("payment", "abacatepay", "abc_test_key")
    collant = products["collant"]
    order_call = {"items": [{"product_id": collant.pk, "quantity": 2}]}
    fake_llm.script = [
        completion(tool_calls=[tool_call("call_1", "search_products", {"query": "collant manga longa"})]),
        completion(tool_calls=[tool_call("call_2", "create_order", order_call)]),
        # The model repeats the call (a new id, the same items): still one order.
        completion(tool_calls=[tool_call("call_3", "create_order", order_call)]),
        lambda body: completion(f"Pedido {json.loads(body['messages'][-1]['content'])['order_number']} criado! "
                                f"Pague aqui: {json.loads(body['messages'][-1]['content'])['payment_url']}"),
    ]
    try:
        result = services.run_turn(turn("Quero 2 collants manga longa", lead=lead, turn_key="c9:m3"))
    finally:
        abacatepay.close()

    order = Order.objects.get()
    collant.refresh_from_db()
    assert collant.stock_quantity == 5
    assert order.status == "pending_payment" and order.payment_url.startswith("https://pay.abacatepay.com/")
    assert result.reply == f"Pedido {order.number} criado! Pague aqui: {order.payment_url}"
    first, repeated = (json.loads(fake_llm.tool_messages(i)[-1]["content"]) for i in (2, 3))
    assert first["order_number"] == repeated["order_number"] == order.number
    assert first["payment_url"] == order.payment_url
