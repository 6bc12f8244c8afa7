"""API keys decide the store; scopes decide what a key may do; errors have one shape."""

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_exists

from tenants.api_keys import create_api_key
from tenants.models import ApiKey, Tenant


@pytest.fixture
def keys(db):
    store_a = Tenant.objects.get(slug="store-a")
    store_b = Tenant.objects.get(slug="store-b")
    platform = Tenant.objects.get(schema_name="public")
    return {
        "a_app": create_api_key(store_a, "frontend", ["app"]).key,
        "a_read": create_api_key(store_a, "dashboard", ["read"]).key,
        "b_app": create_api_key(store_b, "frontend", ["app"]).key,
        "platform": create_api_key(platform, "ops", ["platform"]).key,
    }


def _auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_no_key_is_401_with_the_error_body(client, db):
    response = client.get("/api/v1/api-keys", HTTP_HOST="store-a.localhost")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unknown_key_is_401(client, db):
    response = client.get("/api/v1/api-keys", HTTP_HOST="store-a.localhost",
                          **_auth("atd_deadbeef_nope"))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unknown API key."


def test_a_key_of_store_a_never_acts_on_store_b_whatever_the_host(client, keys):
    response = client.get("/api/v1/api-keys", HTTP_HOST="store-b.localhost", **_auth(keys["a_app"]))
    assert response.status_code == 401
    assert "another store" in response.json()["error"]["message"]


def test_on_the_platform_domain_the_key_names_the_store(client, keys):
    response = client.get("/api/v1/api-keys", HTTP_HOST="localhost", **_auth(keys["a_app"]))
    assert response.status_code == 200
    names = sorted(k["name"] for k in response.json())
    assert names == ["dashboard", "frontend"]  # store A's keys only, never B's


def test_a_read_key_cannot_create_keys(client, keys):
    response = client.post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["app"]}, content_type="application/json",
        HTTP_HOST="store-a.localhost", **_auth(keys["a_read"]),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_new_key_is_shown_once_works_and_stops_working_when_revoked(client, keys):
    created = client.post(
        "/api/v1/api-keys", {"name": "erp", "scopes": ["webhook"]},
        content_type="application/json", HTTP_HOST="store-a.localhost", **_auth(keys["a_app"]),
    )
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert new_key.startswith("atd_")
    listing = client.get("/api/v1/api-keys", HTTP_HOST="store-a.localhost", **_auth(keys["a_app"]))
    assert new_key not in listing.content.decode()
    stored = ApiKey.objects.get(pk=created.json()["id"])
    secret = new_key.split("_", 2)[2]  # the secret itself may contain "_"
    assert secret not in stored.secret_hash

    revoked = client.delete(f"/api/v1/api-keys/{stored.pk}", HTTP_HOST="store-a.localhost",
                            **_auth(keys["a_app"]))
    assert revoked.status_code == 204
    again = client.get("/api/v1/api-keys", HTTP_HOST="store-a.localhost", **_auth(new_key))
    assert again.status_code == 401
    assert again.json()["error"]["message"] == "This API key was revoked."


def test_store_b_cannot_revoke_store_a_keys(client, keys):
    key_of_a = ApiKey.objects.filter(tenant__slug="store-a").first()
    response = client.delete(f"/api/v1/api-keys/{key_of_a.pk}", HTTP_HOST="store-b.localhost",
                             **_auth(keys["b_app"]))
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=key_of_a.pk).revoked_at is None


def test_bad_input_names_the_field(client, keys):
    response = client.post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["root"]}, content_type="application/json",
        HTTP_HOST="store-a.localhost", **_auth(keys["a_app"]),
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and "scopes" in body["fields"]


def test_operators_create_a_store_through_the_api(client, keys):
    response = client.post(
        "/api/v1/platform/stores",
        {"slug": "via-api", "name": "Via API", "owner_email": "o@via.test"},
        content_type="application/json", HTTP_HOST="localhost", **_auth(keys["platform"]),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domain"] == "via-api.localhost"
    assert body["set_password_url"].startswith("http://via-api.localhost:8000/admin/password-set/")
    assert schema_exists("via_api")


@pytest.mark.parametrize(
    "payload, status, code, field",
    [
        ({"slug": "admin", "name": "A", "owner_email": "o@a.test"}, 400, "invalid_slug", "slug"),
        ({"slug": "store-a", "name": "A", "owner_email": "o@a.test"}, 409, "slug_taken", "slug"),
        ({"slug": "ok-shop", "name": "A"}, 400, "invalid", "owner_email"),
    ],
)
def test_store_creation_errors_are_clear(client, keys, payload, status, code, field):
    response = client.post("/api/v1/platform/stores", payload, content_type="application/json",
                           HTTP_HOST="localhost", **_auth(keys["platform"]))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]


def test_a_store_key_cannot_manage_stores(client, keys):
    response = client.get("/api/v1/platform/stores", HTTP_HOST="localhost", **_auth(keys["a_app"]))
    assert response.status_code == 403


def test_deleting_a_store_through_the_api_needs_confirmation(client, keys):
    response = client.delete("/api/v1/platform/stores/store-b", HTTP_HOST="localhost",
                             **_auth(keys["platform"]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deletion_not_confirmed"
    assert schema_exists("store_b")


def test_create_api_key_command_prints_a_working_key(client, db, capsys):
    call_command("create_api_key", "store-a", "--scope", "app")
    key = capsys.readouterr().out.splitlines()[1]
    response = client.get("/api/v1/api-keys", HTTP_HOST="store-a.localhost", **_auth(key))
    assert response.status_code == 200


def test_the_openapi_schema_is_valid_without_warnings(db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_api_docs_are_served_without_a_cdn(client, db):
    page = client.get("/api/docs/", HTTP_HOST="localhost")
    assert page.status_code == 200
    assert b"cdn" not in page.content.lower()
