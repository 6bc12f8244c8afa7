"""A store's staff in a real browser: log in, the dashboard, products, the agent playground,
the language switch, and a store's login refusing another store's staff."""

from __future__ import annotations

import re

import pytest

from tests_browser.conftest import OPERATOR, SHOP_A, SHOP_B, log_in, screenshot

# The test database must exist (the stores and the server live in it); the tests
# themselves only drive the browser.
pytestmark = pytest.mark.django_db


def test_staff_log_in_and_see_the_dashboard_with_charts(page, console):
    page.goto(console.url(SHOP_A["slug"]))
    assert "/admin/login/" in page.url
    screenshot(page, "01-login")

    log_in(page, page.url, SHOP_A["owner_email"])

    dashboard = page.locator("#store-dashboard")
    dashboard.wait_for()
    screenshot(page, "02-dashboard")
    assert page.url == console.url(SHOP_A["slug"])
    # The store speaks Portuguese, whatever the browser asks for.
    assert dashboard.get_by_text("Conversas por dia").is_visible()
    assert dashboard.get_by_text("Faturamento por dia").is_visible()
    assert dashboard.locator("svg rect").count() >= 30  # a bar per day in each chart
    assert page.locator("#nav-sidebar-apps").get_by_role("link", name="Produtos", exact=True).is_visible()


def test_staff_open_the_product_list_and_search_it(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])

    page.goto(console.url(SHOP_A["slug"], "/admin/catalog/product/"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() > 5
    screenshot(page, "03-products")

    page.fill("#changelist-search input[name=q], input[name=q]", "collant")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q=collant"))

    names = page.locator("#result_list tbody tr").all_inner_texts()
    assert names and all("collant" in row.lower() for row in names)
    assert not any("sapatilha" in row.lower() for row in names)
    screenshot(page, "04-products-search")

    page.get_by_role("link", name="Import CSV").click()
    page.wait_for_url(re.compile(r"/admin/catalog/product/import/$"))
    assert page.locator("input[type=file][name=file]").is_visible()
    screenshot(page, "04b-product-import")


def test_staff_chat_with_the_agent_in_the_playground_and_get_an_answer(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/agents/agent/"))
    screenshot(page, "05-agents")

    page.get_by_role("link", name="Try it").first.click()
    page.wait_for_url(re.compile(r"/playground/$"))
    page.fill("textarea[name=message]", "Quanto custa a sapatilha de ponta?")
    page.locator("button[name=send]").click()
    page.locator("#pg-run-link").wait_for()  # the turn streamed into the page (no post)
    screenshot(page, "06-playground")

    # A price question is answered from the catalog: the product, its price and stock.
    reply = page.locator(".pg-agent").last.inner_text()
    assert "Encontrei estes produtos no catálogo" in reply
    assert "Sapatilha de Ponta Clássica — R$ 289,90" in reply
    assert page.locator("#pg-activity li[data-tool=search_products]").is_visible()


def test_staff_switch_the_console_to_english_and_back(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    sidebar = page.locator("#nav-sidebar-apps")
    assert sidebar.get_by_role("link", name="Produtos", exact=True).is_visible()

    page.get_by_text(SHOP_A["owner_email"]).last.click()
    page.get_by_role("button", name=re.compile("English")).click()
    page.wait_for_load_state()

    assert page.locator("html").get_attribute("lang") == "en"
    assert sidebar.get_by_role("link", name="Products", exact=True).is_visible()
    assert page.locator("#store-dashboard").get_by_text("Conversations per day").is_visible()
    screenshot(page, "07-dashboard-english")

    page.get_by_text(SHOP_A["owner_email"]).last.click()
    page.get_by_role("button", name=re.compile("Portugu")).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "pt-br"


def test_a_spanish_store_console_is_in_spanish(page, console):
    log_in(page, console.url(SHOP_B["slug"]), SHOP_B["owner_email"])

    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("#nav-sidebar-apps").get_by_role("link", name="Productos", exact=True).is_visible()
    assert page.get_by_text("Tu tienda").first.is_visible()
    screenshot(page, "08-spanish-store")


def test_staff_of_store_a_are_refused_on_store_b(page, console):
    log_in(page, console.url(SHOP_B["slug"]), SHOP_A["owner_email"])
    screenshot(page, "09-store-b-refuses-store-a-staff")

    assert "/admin/login/" in page.url
    assert page.locator("#id_password").is_visible()
    assert page.get_by_text(re.compile("introduzca|usuario", re.IGNORECASE)).first.is_visible()
    page.goto(console.url(SHOP_B["slug"]))
    assert "/admin/login/" in page.url


def test_operators_see_the_stores_in_the_platform_admin(page, console):
    log_in(page, console.platform_url(), OPERATOR["email"])

    page.goto(console.platform_url("/admin/tenants/tenant/"))

    assert page.get_by_role("link", name=SHOP_A["slug"]).is_visible()
    assert page.get_by_text("Atendo platform").first.is_visible()
    screenshot(page, "10-platform-stores")
    shown = page.locator("body").inner_text()
    assert re.search(r"\d+ stores", shown) and "enant" not in shown  # operators' word, not "tenants"


def test_staff_create_an_agent_from_the_sales_template(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/agents/agent/"))

    page.locator("button[name=template][value=sales]").click()
    page.wait_for_url(re.compile(r"/admin/agents/agent/\d+/change/$"))

    assert page.get_by_text("created from the sales template").is_visible()
    assert page.locator("input[name=name]").input_value().startswith("Sales")
    screenshot(page, "11-agent-from-template")


def test_staff_upload_a_document_and_see_it_ready(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/knowledge/document/add/"))
    page.locator("select[name=collection]").select_option(index=1)
    page.fill("input[name=title]", "Horário de atendimento")
    page.set_input_files("input[name=upload]", files=[{
        "name": "horario.txt", "mimeType": "text/plain",
        "buffer": "Atendemos de segunda a sábado, das 9h às 18h, na Rua das Sapatilhas 42.".encode(),
    }])
    screenshot(page, "12-document-upload")

    page.locator("button[name=_save]").click()
    page.wait_for_url(re.compile(r"/admin/knowledge/document/$"))

    row = page.locator("#result_list tbody tr", has_text="Horário de atendimento")
    for _ in range(60):  # the Celery worker ingests it
        if "Pronto" in row.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert "Pronto" in row.inner_text()
    screenshot(page, "13-documents")


def test_staff_try_a_knowledge_search(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])

    page.goto(console.url(SHOP_A["slug"], "/admin/knowledge/collection/search/?query=troca+de+sapatilha"))

    assert page.get_by_text(re.compile(r"\d+ hits?")).first.is_visible()
    screenshot(page, "14-knowledge-search")


def test_staff_hand_a_conversation_to_a_human_and_back_to_the_bot(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/channels/conversation/"))
    page.locator("#result_list tbody tr a").first.click()
    page.wait_for_url(re.compile(r"/change/$"))
    conversation = page.url
    screenshot(page, "15-conversation")

    def press(button: str, message: str) -> None:
        page.locator(f"button[name={button}]").click()
        page.wait_for_url(re.compile(r"/admin/channels/conversation/$"))  # back to the list
        assert page.get_by_text(message).is_visible()
        page.goto(conversation)

    if page.locator("button[name=_return_to_bot]").count():  # the demo's handed-off conversation
        press("_return_to_bot", "The conversation is back with the bot")
    press("_handoff", "The conversation is now with your team")
    assert page.locator("button[name=_return_to_bot]").is_visible()
    press("_return_to_bot", "The conversation is back with the bot")
    assert page.locator("button[name=_handoff]").is_visible()
    screenshot(page, "16-conversation-back-to-bot")


def test_staff_open_the_channel_setup_and_test_the_connection(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/channels/channel/"))
    page.locator("#result_list tbody tr", has_text="WhatsApp").locator("a").first.click()
    page.wait_for_url(re.compile(r"/change/$"))
    screenshot(page, "17-channel-setup")

    assert page.get_by_text("/webhooks/meta/").first.is_visible()
