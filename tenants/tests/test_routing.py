"""Hostname -> store routing is cached, and a domain change reroutes at once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Domain


def _domain_queries(client, host):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/login/", HTTP_HOST=host)
    return response, [q["sql"] for q in queries if "tenants_domain" in q["sql"]]


def test_the_second_request_to_a_store_does_not_query_the_domain_table(client, db):
    first, first_lookups = _domain_queries(client, "store-a.localhost")
    second, second_lookups = _domain_queries(client, "store-a.localhost")
    assert first.status_code == second.status_code == 200
    assert len(first_lookups) == 1
    assert second_lookups == []


def test_a_new_domain_routes_at_once_even_after_a_cached_miss(client, other_store):
    assert client.get("/admin/login/", HTTP_HOST="tienda-b.localhost").status_code == 404
    domain = Domain.objects.create(domain="tienda-b.localhost", tenant=other_store, is_primary=False)
    page = client.get("/admin/login/", HTTP_HOST="tienda-b.localhost")
    assert page.status_code == 200

    domain.delete()
    assert client.get("/admin/login/", HTTP_HOST="tienda-b.localhost").status_code == 404


def test_a_deactivated_store_is_not_served(client, other_store):
    assert client.get("/admin/login/", HTTP_HOST="store-b.localhost").status_code == 200
    other_store.is_active = False
    other_store.save()
    assert client.get("/admin/login/", HTTP_HOST="store-b.localhost").status_code == 404
