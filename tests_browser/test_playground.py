"""The agent playground in a real browser: the turn appears as it happens — the tool call
while the model is still writing, then the answer and the run — without the page being
posted; an error shows on the page; without JavaScript the form still
posts and lists the steps. The LLM is the local fake OpenAI-compatible server."""

from __future__ import annotations

import time

import pytest

from agents.tests.fake_llm import FakeLLMServer, streamed, tool_call
from tests_browser.conftest import SHOP_A, log_in, screenshot

pytestmark = pytest.mark.django_db

CREDENTIAL = "playground-fake-llm"


@pytest.fixture(scope="module")
def fake_llm():
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_agent(console_stores, django_db_blocker, fake_llm):
    """An agent of ``browser-a`` on the fake server, committed for the web server to see."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from agents import services, vault
    from agents.models import Agent, Credential

    shop_a = console_stores[0]
    with django_db_blocker.unblock(), tenant_context(shop_a):
        agent = services.create_agent_from_template(
            "sales", name="Vendas (LLM de teste)", provider="openai", model="gpt-4o-mini"
        )
        agent.base_url = fake_llm.url + "/v1"
        agent.credential_name = CREDENTIAL
        agent.save()
        vault.set_credential("llm", CREDENTIAL, "sk-test-1234567890")
    connection.set_schema_to_public()
    yield agent
    with django_db_blocker.unblock(), tenant_context(shop_a):
        Agent.objects.filter(pk=agent.pk).delete()
        Credential.objects.filter(name=CREDENTIAL).delete()
    connection.set_schema_to_public()


def _slowly(reply, seconds: float = 1.5):
    """The reply after a pause: what the page shows meanwhile arrived before the turn ended."""
    def step(_body):
        time.sleep(seconds)
        return reply

    return step


def _open_playground(page, console, agent_id: int) -> None:
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], f"/admin/agents/agent/{agent_id}/playground/"))
    # Set on this page's window: a page that was posted and reloaded would lose it.
    page.evaluate("window.playgroundNotReloaded = true")


def test_staff_see_the_tool_call_and_the_answer_arrive_without_a_page_post(page, console, llm_agent, fake_llm):
    fake_llm.script = [
        streamed(tool_calls=[tool_call("call_1", "search_products", {"query": "sapatilha de ponta"})]),
        _slowly(streamed(["A Sapatilha de Ponta Clássica ", "custa R$ 289,90."])),
    ]
    _open_playground(page, console, llm_agent.pk)
    assert page.locator("input[name=dry_run]").is_checked()

    page.fill("textarea[name=message]", "Quanto custa a sapatilha de ponta?")
    page.locator("button[name=send]").click()

    tool = page.locator("#pg-activity li[data-tool=search_products]")
    tool.wait_for()
    # The model is still writing the answer: the tool call was shown while the turn ran.
    assert page.locator("#pg-run").is_hidden()
    assert "Chamada de ferramenta: search_products" in tool.inner_text()
    assert '"sapatilha de ponta"' in tool.locator("pre").inner_text()
    screenshot(page, "18-playground-tool-call-live")

    page.locator("#pg-run-link").wait_for()
    assert page.locator(".pg-agent").last.inner_text() == "A Sapatilha de Ponta Clássica custa R$ 289,90."
    run = page.locator("#pg-run").inner_text()
    assert "openai · gpt-4o-mini · 180 + 24 tokens" in run and "Simulação" in run
    assert page.evaluate("window.playgroundNotReloaded") is True
    assert page.locator("textarea[name=message]").input_value() == ""
    screenshot(page, "19-playground-answer-live")

    # The next message carries the thread: the model sees the first exchange.
    fake_llm.script = [streamed(["Temos do 33 ao 40."])]
    page.fill("textarea[name=message]", "Tem no 36?")
    page.locator("button[name=send]").click()
    page.get_by_text("Temos do 33 ao 40.").wait_for()
    said = [(m["role"], m["content"]) for m in fake_llm.requests[-1]["messages"] if m["role"] in ("user", "assistant")]
    assert said == [
        ("user", "Quanto custa a sapatilha de ponta?"),
        ("assistant", "A Sapatilha de Ponta Clássica custa R$ 289,90."),
        ("user", "Tem no 36?"),
    ]
    assert page.evaluate("window.playgroundNotReloaded") is True


def _set_active(console_stores, agent_id: int, active: bool) -> None:
    """Switch the agent on or off for the web server to see: committed on a connection of
    its own (the test itself runs inside a transaction the server cannot see into)."""
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"],
                         autocommit=True) as other:
        other.execute(f'UPDATE "{console_stores[0].schema_name}".agents_agent SET is_active = %s WHERE id = %s',
                      [active, agent_id])


def test_an_error_shows_on_the_page_and_the_message_can_be_sent_again(
    page, console, console_stores, llm_agent, fake_llm
):
    _open_playground(page, console, llm_agent.pk)
    _set_active(console_stores, llm_agent.pk, False)  # switched off meanwhile
    try:
        page.fill("textarea[name=message]", "Oi")
        page.locator("button[name=send]").click()

        error = page.locator("#pg-error")
        error.wait_for()
        assert "está desativado: ative-o para testá-lo aqui" in error.inner_text()
        assert page.locator("textarea[name=message]").input_value() == "Oi"
        screenshot(page, "20-playground-error")
    finally:
        _set_active(console_stores, llm_agent.pk, True)

    fake_llm.script = [streamed(["Olá! Como posso ajudar?"])]
    page.locator("button[name=send]").click()
    page.get_by_text("Olá! Como posso ajudar?").wait_for()
    assert error.is_hidden()
    assert page.evaluate("window.playgroundNotReloaded") is True


def test_the_form_post_still_answers_and_the_live_page_continues_its_thread(page, console, console_stores):
    """The demo store's own Sales agent (the offline responder) on the demo catalog. The
    console itself needs JavaScript (unfold hides the page until its script runs), so the
    post without the playground's script is what a browser does when that script cannot
    stream (no fetch streams) — sent here as the form's native submit."""
    from django_tenants.utils import tenant_context

    from agents.models import Agent

    with tenant_context(console_stores[0]):
        sales = Agent.objects.get(name="Sales")
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], f"/admin/agents/agent/{sales.pk}/playground/"))

    page.fill("textarea[name=message]", "Quanto custa a sapatilha de ponta?")
    with page.expect_navigation():
        page.evaluate("document.getElementById('playground-form').submit()")
    screenshot(page, "21-playground-form-post")

    assert "Sapatilha de Ponta Clássica — R$ 289,90" in page.locator(".pg-agent").last.inner_text()
    assert page.locator(".pg-steps").get_by_text("search_products").first.is_visible()

    page.fill("textarea[name=message]", "Qual o prazo de troca?")
    page.locator("button[name=send]").click()
    page.locator("#pg-run-link").wait_for()
    assert page.locator(".pg-msg").count() == 4
    assert page.locator("#pg-steps-card").count() == 0  # the posted turn's steps made way for the live one
