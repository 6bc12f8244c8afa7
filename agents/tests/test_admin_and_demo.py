from __future__ import annotations

import pytest

from agents import demo, services, vault
from agents.models import Agent, AgentRun, Credential
from agents.tests.conftest import turn
from conftest import OWNER_PASSWORD, STORE_A

HOST = "store-a.localhost"


@pytest.fixture
def staff(client, store):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302
    return client


def test_staff_create_an_agent_from_a_template(staff):
    listing = staff.get("/admin/agents/agent/", HTTP_HOST=HOST)
    response = staff.post("/admin/agents/agent/from-template/support/", HTTP_HOST=HOST)

    assert b"New Support agent (temperature 0.50)" in listing.content
    agent = Agent.objects.get()
    assert (agent.name, agent.is_default) == ("Support", True)
    assert response["Location"] == f"/admin/agents/agent/{agent.pk}/change/"
    page = staff.get(response["Location"], HTTP_HOST=HOST)
    assert page.status_code == 200 and b"search_knowledge" in page.content


def test_credentials_are_never_shown_in_full(staff):
    response = staff.post(
        "/admin/agents/credential/add/",
        {"category": "llm", "name": "openai", "secret": "sk-very-secret-value-9876"},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302

    credential = Credential.objects.get()
    listing = staff.get("/admin/agents/credential/", HTTP_HOST=HOST)
    page = staff.get(f"/admin/agents/credential/{credential.pk}/change/", HTTP_HOST=HOST)
    for html in (listing.content, page.content):
        assert b"sk-very-secret" not in html
        assert credential.ciphertext.encode() not in html
    assert "••••••••9876".encode() in listing.content
    assert vault.get_credential("llm", "openai") == "sk-very-secret-value-9876"


def test_the_playground_shows_the_reply_and_the_steps(staff, products):
    agent = services.create_agent_from_template("sales", make_default=True)

    page = staff.post(
        f"/admin/agents/agent/{agent.pk}/playground/",
        {"message": "Quanto custa o collant manga longa?", "history": "[]", "dry_run": "on"},
        HTTP_HOST=HOST,
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Collant Manga Longa — R$ 99,90" in html
    assert "search_products" in html and "Steps of the turn" in html
    run = AgentRun.objects.get()
    assert (run.dry_run, run.channel) == (True, "playground")
    detail = staff.get(f"/admin/agents/agentrun/{run.pk}/change/", HTTP_HOST=HOST)
    assert detail.status_code == 200 and b"search_products" in detail.content


def test_token_usage_page_lists_calls(staff, products):
    services.run_turn(turn("Quanto custa o collant manga longa?"))

    page = staff.get("/admin/agents/tokenusage/", HTTP_HOST=HOST)

    assert page.status_code == 200 and b"retrieval-rules" in page.content


def test_the_demo_agents_and_their_extras_are_created_once(store):
    from agents.models import HttpTool, ModelPrice, ReplyRating

    first = demo.populate()
    again = demo.populate()

    assert first.pk == again.pk
    assert (first.name, first.is_default, first.provider) == ("Sales", True, "offline")
    assert list(Agent.objects.values_list("name", "knowledge_policy")) == [
        ("Sales", "on_demand"), ("Leads", "on_demand"), ("Support (knowledge up front)", "up_front"),
    ]
    assert ModelPrice.objects.count() == 3 and HttpTool.objects.get().is_active is False
    rating = ReplyRating.objects.get()
    assert (rating.agent_id, rating.rating, rating.run.dry_run) == (first.pk, "good", True)


def test_staff_replace_a_secret_without_seeing_the_old_one(staff):
    credential = vault.set_credential("llm", "openai", "sk-old-secret-0001")

    blank = staff.post(f"/admin/agents/credential/{credential.pk}/change/",
                       {"category": "llm", "name": "openai", "secret": ""}, HTTP_HOST=HOST)
    assert blank.status_code == 302
    assert vault.get_credential("llm", "openai") == "sk-old-secret-0001"

    replaced = staff.post(f"/admin/agents/credential/{credential.pk}/change/",
                          {"category": "llm", "name": "openai", "secret": "sk-new-secret-0002"}, HTTP_HOST=HOST)
    assert replaced.status_code == 302
    assert vault.get_credential("llm", "openai") == "sk-new-secret-0002"
    assert Credential.objects.count() == 1


def test_staff_rate_a_reply_and_see_the_ratings_per_agent(staff, products):
    from agents.models import ReplyRating

    agent = services.create_agent_from_template("sales", make_default=True)
    playground = staff.post(f"/admin/agents/agent/{agent.pk}/playground/",
                            {"message": "Quanto custa o collant manga longa?", "history": "[]", "dry_run": "on"},
                            HTTP_HOST=HOST)
    run = AgentRun.objects.get()

    rated = staff.post(f"/admin/agents/agentrun/{run.pk}/rate/", {"rating": "bad", "comment": "Faltou o tamanho."},
                       HTTP_HOST=HOST)
    run_page = staff.get(f"/admin/agents/agentrun/{run.pk}/change/", HTTP_HOST=HOST)
    agents_page = staff.get("/admin/agents/agent/", HTTP_HOST=HOST)
    ratings_page = staff.get(f"/admin/agents/replyrating/?agent__id__exact={agent.pk}", HTTP_HOST=HOST)

    assert 'id="rate-reply"' in playground.content.decode()
    assert rated.status_code == 302 and rated["Location"] == f"/admin/agents/agentrun/{run.pk}/change/"
    rating = ReplyRating.objects.get()
    assert (rating.rating, rating.comment, rating.agent_id, rating.rated_by) == (
        "bad", "Faltou o tamanho.", agent.pk, "staff:" + STORE_A["owner_email"],
    )
    assert "Faltou o tamanho." in run_page.content.decode()
    assert "👍 0 / 👎 1" in agents_page.content.decode()
    assert "Faltou o tamanho." in ratings_page.content.decode()


def test_staff_define_a_store_http_tool_and_enable_it_on_an_agent(staff):
    from agents.models import HttpTool

    created = staff.post("/admin/agents/httptool/add/", {
        "name": "shipping_quote", "description": "Frete pela transportadora.", "kind": "http", "is_active": "on",
        "method": "POST", "url": "https://frete.example/quote", "headers": "{}", "secret_headers": "{}",
        "timeout_seconds": "5", "allowed_private_hosts": "[]",
        "parameters": '{"type": "object", "properties": {"cep": {"type": "string"}}}',
    }, HTTP_HOST=HOST)
    bad_schema = staff.post("/admin/agents/httptool/add/", {
        "name": "broken", "description": "x", "kind": "http", "method": "GET", "url": "https://x.example/",
        "headers": "{}", "secret_headers": "{}", "timeout_seconds": "5", "allowed_private_hosts": "[]",
        "parameters": '{"type": "array"}',
    }, HTTP_HOST=HOST)
    agent = services.create_agent_from_template("sales")
    form = staff.get(f"/admin/agents/agent/{agent.pk}/change/", HTTP_HOST=HOST)

    assert created.status_code == 302
    assert HttpTool.objects.get().name == "shipping_quote"
    assert bad_schema.status_code == 200 and "An object schema" in bad_schema.content.decode()
    assert 'value="shipping_quote"' in form.content.decode()
