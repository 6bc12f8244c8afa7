from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.db import connection

from channels.tests.fake_providers import FakeProviderServer, fixture

APP_SECRET = fixture("whatsapp/signature_vector.json")["app_secret"]
PHONE_NUMBER_ID = "1122334455667"  # the fixtures' metadata.phone_number_id


@pytest.fixture(autouse=True)
def _forget_cached_subscriptions():
    """Rolled-back subscriptions must not stay in the process's subscription cache."""
    from channels import events

    events.forget_subscriptions()
    yield
    events.forget_subscriptions()


@pytest.fixture
def meta_settings(settings):
    settings.CHANNELS_META_APP_SECRET = APP_SECRET
    settings.CHANNELS_META_VERIFY_TOKEN = ""
    settings.CHANNELS_SEND_MAX_RETRIES = 3
    return settings


@pytest.fixture
def provider():
    server = FakeProviderServer()
    yield server
    server.close()


@pytest.fixture
def whatsapp_channel(store, provider, meta_settings):
    from channels import services

    return services.create_channel(
        kind="whatsapp",
        name="WhatsApp",
        config={
            "phone_number_id": PHONE_NUMBER_ID,
            "access_token": "EAAG-test-token",
            "graph_base_url": provider.url,
            "graph_version": "v24.0",
        },
    )


@pytest.fixture
def fake_llm():
    from agents.tests.fake_llm import FakeLLMServer

    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm_agent(store, fake_llm, settings):
    """The store's default agent: a Sales agent on an OpenAI-compatible fake LLM."""
    from agents import services as agents_services
    from agents import vault

    settings.AGENTS_LLM_BACKOFF = 0.01
    settings.AGENTS_LLM_MAX_RETRIES = 1
    agent = agents_services.create_agent_from_template(
        "sales", name="Vendas", provider="openai", model="gpt-4o-mini", make_default=True
    )
    agent.base_url = fake_llm.url + "/v1"
    agent.save()
    vault.set_credential("llm", "openai", "sk-test-1234567890")
    return agent


@pytest.fixture
def chatwoot_channel(store, provider):
    from channels import services

    return services.create_channel(
        kind="chatwoot",
        name="Chatwoot",
        config={"base_url": provider.url, "account_id": 1, "api_access_token": "cw-token"},
    )


def meta_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def drain(tenant) -> int:
    """What the store's inbox worker does next: process the stored deliveries (inside a
    test's transaction no on-commit wake-up ever fires). Leaves the connection in
    ``tenant``'s schema."""
    from channels import services

    connection.set_tenant(tenant)
    return services.drain_inbox()


def post_meta(client, tenant, payload: dict | bytes, *, signature: str | None = None, process: bool = True):
    """POST a Meta webhook to the platform domain, signed unless told otherwise, then
    (``process``) drain ``tenant``'s inbox as its worker would; leaves the connection in
    ``tenant``'s schema again for the test's assertions."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post(
        "/webhooks/meta/",
        data=body,
        content_type="application/json",
        HTTP_HOST="localhost",
        HTTP_X_HUB_SIGNATURE_256=signature if signature is not None else meta_signature(body),
    )
    connection.set_tenant(tenant)
    if process:
        drain(tenant)
    return response


def enqueued(callbacks, task_name: str) -> list:
    """The on-commit callbacks (``django_capture_on_commit_callbacks``) enqueuing ``task_name``."""
    return [c for c in callbacks if getattr(c, "task_name", None) == task_name]


def bursts(callbacks) -> list:
    return enqueued(callbacks, "channels.close_burst")
