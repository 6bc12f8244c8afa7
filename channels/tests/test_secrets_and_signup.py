"""Channel secrets in the credentials vault, and Meta embedded signup."""

from __future__ import annotations

import json
import time

from django.db import connection

from agents.models import Credential
from channels import services
from channels.inbound import hmac_sha256_hex
from channels.models import Direction, Message
from channels.secrets import channel_secret, store_channel_secret
from channels.tests.conftest import drain
from channels.tests.fake_providers import fixture
from tenants.api_keys import create_api_key


def test_a_secret_in_the_vault_is_used_and_never_kept_in_plaintext(client, store, provider, chatwoot_channel):
    store_channel_secret(chatwoot_channel, "api_access_token", "cw-vault-token")
    store_channel_secret(chatwoot_channel, "webhook_secret", "cw-vault-secret")

    chatwoot_channel.refresh_from_db()
    assert "api_access_token" not in chatwoot_channel.config
    stored = Credential.objects.get(name=f"{chatwoot_channel.pk}.api_access_token")
    assert "cw-vault-token" not in stored.ciphertext and stored.hint == "••••••••" + "oken"
    assert channel_secret(chatwoot_channel, "api_access_token") == "cw-vault-token"

    body = json.dumps(fixture("chatwoot/message_created_incoming.json")).encode()
    timestamp = str(int(time.time()))
    response = client.post(
        f"/webhooks/chatwoot/{chatwoot_channel.pk}/", data=body, content_type="application/json",
        HTTP_HOST="store-a.localhost", HTTP_X_CHATWOOT_TIMESTAMP=timestamp,
        HTTP_X_CHATWOOT_SIGNATURE="sha256=" + hmac_sha256_hex("cw-vault-secret", f"{timestamp}.".encode() + body),
    )
    drain(store)
    assert response.status_code == 200
    message = Message.objects.get()
    reply = services.send_message(message.conversation_id, "Olá!")
    services.deliver(reply.pk)
    assert provider.requests[-1].headers["api_access_token"] == "cw-vault-token"
    assert Message.objects.get(direction=Direction.OUT).status == "sent"


def test_embedded_signup_keeps_a_long_lived_token_in_the_vault(client, store, provider, whatsapp_channel, settings):
    settings.CHANNELS_META_APP_ID = "1234567890"
    key = create_api_key(store, "onboarding", ["app"]).key

    def signup(code: str):
        response = client.post(f"/api/v1/channels/{whatsapp_channel.pk}/meta-signup", {"code": code},
                               content_type="application/json", HTTP_HOST="store-a.localhost",
                               HTTP_AUTHORIZATION=f"Bearer {key}")
        connection.set_tenant(store)
        return response

    refused = signup("bad-code")
    assert refused.status_code == 400
    assert "Invalid verification code" in refused.json()["error"]["message"]

    response = signup("good-code")
    assert response.json() == {"channel_id": whatsapp_channel.pk, "connected": True, "expires_in": 5183944}
    whatsapp_channel.refresh_from_db()
    assert "access_token" not in whatsapp_channel.config
    assert channel_secret(whatsapp_channel, "access_token") == "EAAG-long-lived"
    exchange = [r.path for r in provider.requests if "oauth" in r.path]
    assert "client_id=1234567890" in exchange[-1] and "fb_exchange_token=EAAG-short" in exchange[-1]
