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


def test_staff_chat_with_the_agent_in_the_playground_and_get_a_product_answer(page, console):
    log_in(page, console.url(SHOP_A["slug"]), SHOP_A["owner_email"])
    page.goto(console.url(SHOP_A["slug"], "/admin/agents/agent/"))
    screenshot(page, "05-agents")

    page.get_by_role("link", name="Try it").first.click()
    page.wait_for_url(re.compile(r"/playground/$"))
    page.fill("textarea[name=message]", "Quanto custa a sapatilha de ponta?")
    with page.expect_navigation():
        page.locator("button[name=send]").click()
    screenshot(page, "06-playground")

    reply = page.locator(".pg-agent").last
    assert "Sapatilha de Ponta" in reply.inner_text()
    assert "289,90" in reply.inner_text() or "289.90" in reply.inner_text()


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
