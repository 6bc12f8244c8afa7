"""The agents API: CRUD, tools, templates, create-from-template, the models catalog,
token usage (list and summary), runs and their ratings, with auth, scope and store rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents import services
from agents.models import Agent, HttpTool, ReplyRating, TokenUsage
from agents.tests.conftest import turn
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


@pytest.fixture
def reader(client, store):
    return api_as(client, "store-a", ["read"])


ENDPOINTS = [
    ("get", "agents"), ("post", "agents"), ("get", "agents/1"), ("patch", "agents/1"), ("delete", "agents/1"),
    ("get", "agents/tools"), ("get", "agents/templates"), ("post", "agents/from-template"),
    ("get", "agents/models"), ("post", "agents/models"), ("get", "agents/usage"), ("get", "agents/usage/summary"),
    ("get", "agents/runs/1"), ("post", "agents/runs/1/rating"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_agents_endpoint_needs_a_key(client, store, method, path):
    response = getattr(api_as(client, "store-a", None), method)(path)
    assert response.status_code == 401
    assert error(response)["code"] == "not_authenticated"


def test_staff_create_an_agent_with_explicit_settings_and_read_it_back(app, store):
    from knowledge import services as knowledge

    faq = knowledge.create_collection("FAQ")

    response = app.post("agents", {
        "name": "Ventas AR", "role": "sales", "system_prompt": "Hablá de vos, con voseo argentino.",
        "provider": "openai", "model": "gpt-4o-mini", "temperature": "0.40", "memory_window": 12,
        "enabled_tools": ["search_products", "calculator"], "knowledge_collections": [faq.pk],
        "fallbacks": ["ollama:llama3.1"], "burst_seconds": 4, "burst_max_messages": 6,
    })

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None, "name": "Ventas AR", "role": "sales", "system_prompt": "Hablá de vos, con voseo argentino.",
        "provider": "openai", "model": "gpt-4o-mini", "base_url": "", "credential_name": "",
        "fallbacks": ["ollama:llama3.1"], "temperature": "0.40", "max_tokens": 600, "max_tool_iterations": 5,
        "memory_window": 12, "enabled_tools": ["search_products", "calculator"], "knowledge_policy": "on_demand",
        "knowledge_collections": [faq.pk],
        "handoff_keywords": ["humano", "atendente", "persona", "human"], "handoff_on_failure": True,
        "is_active": True, "is_default": False, "good_ratings": 0, "bad_ratings": 0, "has_credentials": False,
        "burst_seconds": 4.0, "burst_max_wait_seconds": None, "burst_max_messages": 6, "burst_separator": "",
        "created_at": None, "updated_at": None,
    }
    assert app.get(f"agents/{body['id']}").json()["name"] == "Ventas AR"


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "X", "enabled_tools": ["teleport"]}, "enabled_tools"),
    ({"name": "X", "provider": "openai"}, "model"),
    ({"name": "X", "temperature": "3"}, "temperature"),
    ({"name": "X", "fallbacks": "ollama"}, "fallbacks"),
    ({"name": "Sales"}, "name"),
])
def test_bad_agent_settings_are_400_naming_the_field(app, store, payload, field):
    services.create_agent_from_template("sales")

    response = app.post("agents", payload)

    assert response.status_code == 400, response.json()
    assert field in error(response)["fields"]


def test_patch_changes_settings_and_can_make_the_default(app, store):
    sales = services.create_agent_from_template("sales", make_default=True)
    support = services.create_agent_from_template("support")

    response = app.patch(f"agents/{support.pk}", {"is_default": True, "memory_window": 8})
    unknown_tool = app.patch(f"agents/{support.pk}", {"enabled_tools": ["nope"]})

    assert response.status_code == 200
    assert (response.json()["is_default"], response.json()["memory_window"]) == (True, 8)
    sales.refresh_from_db()
    assert sales.is_default is False
    assert unknown_tool.status_code == 400 and "enabled_tools" in error(unknown_tool)["fields"]


def test_delete_keeps_the_runs(app, store):
    agent = services.create_agent_from_template("support")
    services.run_turn(turn("oi", agent=agent))

    assert app.delete(f"agents/{agent.pk}").status_code == 204
    assert app.get(f"agents/{agent.pk}").status_code == 404
    from agents.models import AgentRun

    assert AgentRun.objects.filter(agent=None).count() == 1


def test_tools_templates_and_create_from_template(app, store):
    HttpTool.objects.create(name="erp_stock", description="Estoque no ERP.", url="https://erp.example/stock",
                            kind="http", method="GET", writes=False)

    tools = app.get("agents/tools").json()
    templates = app.get("agents/templates").json()
    created = app.post("agents/from-template", {"template": "support", "name": "Suporte", "make_default": True})
    unknown = app.post("agents/from-template", {"template": "astrologer"})

    names = [t["name"] for t in tools]
    assert {"search_products", "collect_form", "web_search", "calculator", "erp_stock"} <= set(names)
    assert next(t for t in tools if t["name"] == "erp_stock")["kind"] == "http"
    assert [t["key"] for t in templates] == ["sales", "support", "leads"]
    assert created.status_code == 201
    assert (created.json()["name"], created.json()["is_default"], created.json()["temperature"]) == ("Suporte", True, "0.50")
    assert unknown.status_code == 400 and error(unknown)["code"] == "unknown_template"


def test_the_models_catalog_lists_and_adds_models_and_prices_costs(app, store):
    first = app.post("agents/models", {"provider": "openai", "model": "deepseek-chat", "context_window": 64000,
                                       "prompt_price_per_million": "0.27", "completion_price_per_million": "1.10"})
    again = app.post("agents/models", {"provider": "openai", "model": "deepseek-chat", "context_window": 128000,
                                       "prompt_price_per_million": "0.28", "completion_price_per_million": "1.10"})
    bad = app.post("agents/models", {"provider": "skynet", "model": "t-800"})

    assert (first.status_code, again.status_code) == (201, 200)
    listed = app.get("agents/models").json()["results"]
    assert [(m["model"], m["context_window"], m["prompt_price_per_million"]) for m in listed] == [
        ("deepseek-chat", 128000, "0.2800"),
    ]
    assert bad.status_code == 400 and "provider" in error(bad)["fields"]
    from agents.pricing import cost_of

    assert cost_of("openai", "deepseek-chat", 1_000_000, 0) == Decimal("0.280000")


def _usage(agent, provider, model, prompt, completion, cost, days_ago=0):
    return TokenUsage.objects.create(agent=agent, provider=provider, model=model, prompt_tokens=prompt,
                                     completion_tokens=completion, cost=Decimal(cost), latency_ms=100,
                                     at=timezone.now() - timedelta(days=days_ago))


def test_token_usage_list_and_summary_by_agent_model_and_day(reader, store):
    sales = services.create_agent_from_template("sales")
    support = services.create_agent_from_template("support")
    _usage(sales, "openai", "gpt-4o-mini", 100, 10, "0.000021", days_ago=1)
    _usage(sales, "openai", "gpt-4o-mini", 200, 20, "0.000042")
    _usage(support, "ollama", "llama3.1", 300, 30, "0")

    listed = reader.get("agents/usage", {"agent": sales.pk}).json()["results"]
    by_agent = reader.get("agents/usage/summary", {"group_by": "agent"}).json()
    by_model = reader.get("agents/usage/summary", {"group_by": "model"}).json()
    by_day = reader.get("agents/usage/summary", {"group_by": "day"}).json()
    bad = reader.get("agents/usage/summary", {"group_by": "week"})

    assert [u["prompt_tokens"] for u in listed] == [200, 100]
    assert [(line["key"], line["calls"], line["prompt_tokens"], line["cost"]) for line in by_agent["lines"]] == [
        ("Sales", 2, 300, "0.000063"), ("Support", 1, 300, "0.000000"),
    ]
    assert (by_agent["calls"], by_agent["prompt_tokens"], by_agent["completion_tokens"], by_agent["cost"]) == (
        3, 600, 60, "0.000063",
    )
    assert [line["key"] for line in by_model["lines"]] == ["openai:gpt-4o-mini", "ollama:llama3.1"]
    assert [line["calls"] for line in by_day["lines"]] == [1, 2]
    assert bad.status_code == 400 and "group_by" in error(bad)["fields"]


def test_a_reply_is_rated_good_or_bad_once_per_rater_and_counted_per_agent(app, client, store):
    agent = services.create_agent_from_template("support")
    services.run_turn(turn("oi", agent=agent))
    run = agent.runs.get()
    other = api_as(client, "store-a", ["app"])

    first = app.post(f"agents/runs/{run.pk}/rating", {"rating": "good"})
    changed = app.post(f"agents/runs/{run.pk}/rating", {"rating": "bad", "comment": "Não respondeu o prazo."})
    second_rater = other.post(f"agents/runs/{run.pk}/rating", {"rating": "bad"})
    invalid = app.post(f"agents/runs/{run.pk}/rating", {"rating": "meh"})
    missing = app.post("agents/runs/999999/rating", {"rating": "good"})

    assert first.status_code == changed.status_code == second_rater.status_code == 200
    assert changed.json() | {"updated_at": None, "rated_by": None} == {
        "run_id": run.pk, "agent_id": agent.pk, "rating": "bad", "comment": "Não respondeu o prazo.",
        "rated_by": None, "updated_at": None,
    }
    assert changed.json()["rated_by"].startswith("api:test#")
    assert ReplyRating.objects.filter(run=run).count() == 2
    assert app.get(f"agents/{agent.pk}").json()[["good_ratings", "bad_ratings"][1]] == 2
    assert invalid.status_code == 400 and "rating" in error(invalid)["fields"]
    assert missing.status_code == 404 and error(missing)["code"] == "run_not_found"
    detail = app.get(f"agents/runs/{run.pk}").json()
    assert detail["question"] == "oi" and detail["steps"][0]["kind"] == "llm"


def test_a_read_key_lists_but_cannot_change_agents(reader, store):
    agent = services.create_agent_from_template("sales")

    assert reader.get("agents").status_code == 200
    assert reader.patch(f"agents/{agent.pk}", {"name": "X"}).status_code == 403
    assert reader.post("agents/from-template", {"template": "sales"}).status_code == 403


def test_another_stores_agents_are_404(client, store, other_store):
    agent = services.create_agent_from_template("sales")
    theirs = api_as(client, "store-b", ["app"])

    assert theirs.get(f"agents/{agent.pk}").status_code == 404
    assert theirs.get("agents").json()["results"] == []
    assert Agent.objects.filter(pk=agent.pk).exists()
