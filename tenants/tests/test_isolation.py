"""Data of one store is invisible to another: ORM, admin, requests and logins."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context

from conftest import OWNER_PASSWORD, STORE_A, STORE_B


def test_rows_written_in_store_a_are_invisible_from_store_b(store, other_store):
    Group.objects.create(name="Vendedoras")
    assert Group.objects.filter(name="Vendedoras").exists()

    with tenant_context(other_store):
        assert not Group.objects.filter(name="Vendedoras").exists()
        assert list(get_user_model().objects.values_list("username", flat=True)) == [
            STORE_B["owner_email"]
        ]


def _login(client, host, username, password):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        HTTP_HOST=host,
    )


def test_store_owner_logs_into_their_own_admin(client, db):
    response = _login(client, "store-a.localhost", STORE_A["owner_email"], OWNER_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/", HTTP_HOST="store-a.localhost")
    assert page.status_code == 200
    assert b"Your store" in page.content


def test_staff_of_store_a_cannot_log_into_store_b(client, db):
    response = _login(client, "store-b.localhost", STORE_A["owner_email"], OWNER_PASSWORD)
    assert response.status_code == 200  # the login form again, with an error
    assert b"Please enter the correct" in response.content
    assert client.get("/admin/", HTTP_HOST="store-b.localhost").status_code == 302


def test_a_session_from_store_a_is_not_valid_on_store_b(client, db):
    _login(client, "store-a.localhost", STORE_A["owner_email"], OWNER_PASSWORD)
    assert client.get("/admin/", HTTP_HOST="store-a.localhost").status_code == 200
    response = client.get("/admin/", HTTP_HOST="store-b.localhost")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_store_admin_group_list_shows_only_its_own_groups(client, store, other_store):
    Group.objects.create(name="Only in A")
    with tenant_context(other_store):
        Group.objects.create(name="Only in B")
    _login(client, "store-b.localhost", STORE_B["owner_email"], OWNER_PASSWORD)
    page = client.get("/admin/auth/group/", HTTP_HOST="store-b.localhost")
    assert page.status_code == 200
    assert b"Only in B" in page.content and b"Only in A" not in page.content


def test_store_admin_does_not_expose_the_platform_models(client, db):
    _login(client, "store-a.localhost", STORE_A["owner_email"], OWNER_PASSWORD)
    assert client.get("/admin/tenants/tenant/", HTTP_HOST="store-a.localhost").status_code == 404


def test_unknown_host_gets_a_plain_404_never_the_public_schema(client, db):
    response = client.get("/admin/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert b"No store is served at 'nobody.localhost'" in response.content


def test_platform_domain_serves_the_platform_admin(client, db):
    response = client.get("/admin/login/", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b"Atendo platform" in response.content
