"""The store console speaks the store's language (pt, es, en); staff may pick their own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from catalog.models import Product
from catalog.selectors import get_store_profile
from conftest import OWNER_PASSWORD, STORE_A

HOST = "store-a.localhost"


def _store_speaks(language: str) -> None:
    profile = get_store_profile()
    profile.language = language
    profile.save()


@pytest.fixture
def staff(client, store):
    """Store A's owner, logged in, who never touched the language switch."""
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    response = client.post(
        "/admin/login/", {"username": STORE_A["owner_email"], "password": OWNER_PASSWORD}, HTTP_HOST=HOST
    )
    assert response.status_code == 302
    return client


def test_a_portuguese_store_console_shows_portuguese_labels(staff):
    _store_speaks("pt")
    Product.objects.create(sku="SAP-36", name="Sapatilha de ponta 36", price=Decimal("289.90"))

    home = staff.get("/admin/", HTTP_HOST=HOST).content.decode()
    products = staff.get("/admin/catalog/product/", HTTP_HOST=HOST).content.decode()

    assert '<html lang="pt-br"' in home
    assert "Catálogo" in home and "Produtos" in home and "Pedidos" in home and "Sua loja" in home
    assert "Conversas por dia" in home  # the dashboard's charts
    assert "Sapatilha de ponta 36" in products and "Preço" in products and "Moeda" in products
    assert "Buscar aplicativos e modelos..." in products  # unfold's own chrome


def test_a_spanish_store_console_shows_spanish_labels(staff):
    _store_speaks("es")

    home = staff.get("/admin/", HTTP_HOST=HOST).content.decode()
    orders = staff.get("/admin/orders/order/", HTTP_HOST=HOST).content.decode()

    assert '<html lang="es"' in home
    assert "Catálogo" in home and "Productos" in home and "Tu tienda" in home
    assert "Ingresos por día" in home
    assert "Pago pendiente" in orders  # a status filter choice


def test_an_english_store_console_shows_english_labels(staff):
    _store_speaks("en")

    home = staff.get("/admin/", HTTP_HOST=HOST).content.decode()

    assert '<html lang="en"' in home and "Products" in home and "Your store" in home


def test_the_staff_members_own_choice_wins_over_the_stores_language(staff):
    _store_speaks("pt")

    switched = staff.post("/i18n/setlang/", {"language": "es", "next": "/admin/"}, HTTP_HOST=HOST)
    home = staff.get("/admin/", HTTP_HOST=HOST).content.decode()

    assert switched.status_code == 302 and switched["Location"] == "/admin/"
    assert "Productos" in home and "Produtos" not in home


def test_changing_the_stores_language_changes_the_console_at_once(staff):
    _store_speaks("pt")
    assert "Produtos" in staff.get("/admin/", HTTP_HOST=HOST).content.decode()

    _store_speaks("es")

    assert "Productos" in staff.get("/admin/", HTTP_HOST=HOST).content.decode()


def test_the_api_answers_in_the_language_the_client_asks_for_not_the_stores(client, store):
    _store_speaks("pt")
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]

    plain = client.get("/api/v1/products", HTTP_HOST=HOST)
    asked = client.get("/api/v1/products", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="pt-BR")

    assert plain.status_code == asked.status_code == 401
    assert plain.json()["error"]["message"] != asked.json()["error"]["message"]
    assert "credenciais" in asked.json()["error"]["message"].lower()


def test_the_platform_admin_follows_the_browsers_language(client, db):
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]

    page = client.get("/admin/login/", HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Atendo platform" in page and "Iniciar sesión" in page
