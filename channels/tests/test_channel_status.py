"""The channel status check: credentials valid, number/instance connected."""

from __future__ import annotations

from django.db import connection

from channels import services
from tenants.api_keys import create_api_key


def test_each_provider_is_asked_whether_the_channel_works(store, provider, whatsapp_channel, chatwoot_channel):
    evolution = services.create_channel(kind="evolution", name="Evo", config={
        "base_url": provider.url, "instance": "store1", "apikey": "k"})
    wuzapi = services.create_channel(kind="wuzapi", name="Wuz", config={"base_url": provider.url, "token": "t"})

    results = {c.kind: services.check_channel(c.pk) for c in (whatsapp_channel, chatwoot_channel, evolution, wuzapi)}

    assert all(health.ok for health in results.values())
    assert results["whatsapp"].detail == "Loja Demo +55 11 4000-0000 (quality GREEN)"
    assert results["evolution"].detail == "instance store1: open"
    paths = [r.path for r in provider.requests]
    assert paths[0].startswith("/v24.0/1122334455667?fields=")
    assert provider.requests[0].headers["authorization"] == "Bearer EAAG-test-token"
    assert paths[1:] == ["/api/v1/accounts/1/inboxes", "/instance/connectionState/store1", "/session/status"]


def test_a_rejected_token_is_reported_not_raised(client, store, provider, whatsapp_channel):
    provider.failures = [(401, {"error": {"message": "Error validating access token", "code": 190}})]
    key = create_api_key(store, "ops", ["read"]).key

    response = client.get(f"/api/v1/channels/{whatsapp_channel.pk}/status", HTTP_HOST="store-a.localhost",
                          HTTP_AUTHORIZATION=f"Bearer {key}")
    connection.set_tenant(store)

    assert response.status_code == 200
    assert response.json() == {"channel_id": whatsapp_channel.pk, "ok": False,
                               "detail": "HTTP 401: Error validating access token"}


def test_the_store_frontend_key_and_a_read_only_key_both_see_the_status(client, store, provider, whatsapp_channel):
    for scopes in (["app"], ["read"]):
        key = create_api_key(store, "frontend", scopes).key
        response = client.get(f"/api/v1/channels/{whatsapp_channel.pk}/status", HTTP_HOST="store-a.localhost",
                              HTTP_AUTHORIZATION=f"Bearer {key}")
        connection.set_tenant(store)
        assert response.status_code == 200, scopes
    webhook_only = create_api_key(store, "erp", ["webhook"]).key
    refused = client.get(f"/api/v1/channels/{whatsapp_channel.pk}/status", HTTP_HOST="store-a.localhost",
                         HTTP_AUTHORIZATION=f"Bearer {webhook_only}")
    assert refused.status_code == 403
