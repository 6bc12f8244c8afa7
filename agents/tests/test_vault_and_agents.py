from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_tenants.utils import tenant_context

from agents import services, vault
from agents.errors import CredentialMissing, CredentialUnreadable, UnknownTemplate
from agents.models import Agent, Credential


def test_secrets_are_encrypted_at_rest_and_read_back(store):
    vault.set_credential("llm", "openai", "sk-live-abcdefghijklmnop")

    row = Credential.objects.get()
    assert "sk-live" not in row.ciphertext
    assert row.hint == "••••••••mnop"
    assert vault.get_credential("llm", "openai") == "sk-live-abcdefghijklmnop"


def test_a_missing_credential_says_what_is_missing(store):
    with pytest.raises(CredentialMissing) as caught:
        vault.get_credential("llm", "deepseek", purpose="API key of agent 'Vendas'")

    assert caught.value.code == "credential_missing"
    assert str(caught.value) == (
        "Missing credential llm/deepseek (API key of agent 'Vendas'): add it under Agents → Credentials "
        "with category 'llm' and name 'deepseek'."
    )


def test_keys_rotate_without_losing_a_secret(store, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [old]
    vault.set_credential("payment", "abacatepay", "pay-secret-0001")

    settings.CREDENTIALS_KEYS = [new, old]
    assert vault.rotate_credentials() == 1

    settings.CREDENTIALS_KEYS = [new]
    assert vault.get_credential("payment", "abacatepay") == "pay-secret-0001"
    settings.CREDENTIALS_KEYS = [old]
    with pytest.raises(CredentialUnreadable):
        vault.get_credential("payment", "abacatepay")


def test_the_rotate_command_rotates_every_store(store, other_store, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [old]
    vault.set_credential("llm", "openai", "sk-store-a-000000")
    with tenant_context(other_store):
        vault.set_credential("llm", "openai", "sk-store-b-000000")

    settings.CREDENTIALS_KEYS = [new, old]
    call_command("rotate_credentials")

    settings.CREDENTIALS_KEYS = [new]
    assert vault.get_credential("llm", "openai") == "sk-store-a-000000"
    with tenant_context(other_store):
        assert vault.get_credential("llm", "openai") == "sk-store-b-000000"


def test_a_store_never_reads_another_stores_secrets_or_agents(store, other_store):
    vault.set_credential("llm", "openai", "sk-only-store-a-1")
    services.create_agent_from_template("support")

    with tenant_context(other_store):
        assert Agent.objects.count() == 0
        with pytest.raises(CredentialMissing):
            vault.get_credential("llm", "openai")


def test_templates_give_each_role_its_tools_and_temperature(store):
    sales = services.create_agent_from_template("sales", make_default=True)
    support = services.create_agent_from_template("support")
    leads = services.create_agent_from_template("leads")
    again = services.create_agent_from_template("sales")

    assert (sales.temperature, support.temperature, leads.temperature) == (Decimal("0.70"), Decimal("0.50"), Decimal("0.60"))
    assert {"search_products", "create_order"} <= set(sales.enabled_tools)
    assert support.enabled_tools == ["search_knowledge", "get_order_status", "human_handoff", "report_outcome"]
    assert "capture_lead" in leads.enabled_tools
    assert (sales.max_tool_iterations, sales.provider, sales.is_default) == (5, "offline", True)
    assert again.name == "Sales 2"
    with pytest.raises(UnknownTemplate):
        services.create_agent_from_template("astrologer")


def test_one_default_agent_at_a_time(store):
    first = services.create_agent_from_template("sales", make_default=True)
    second = services.create_agent_from_template("support", make_default=True)

    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    assert services.agent_for_turn(None) == second


def test_an_agent_with_an_unknown_tool_does_not_validate(store):
    agent = services.create_agent_from_template("support")
    agent.enabled_tools = ["search_knowledge", "launch_rockets"]

    with pytest.raises(ValidationError) as caught:
        agent.full_clean()
    assert "launch_rockets" in str(caught.value)
