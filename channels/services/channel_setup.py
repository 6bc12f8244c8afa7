"""A store's channels: create, route (Meta account ids), check, signup, webhook URLs."""

from __future__ import annotations

import logging

from django.db import connection

from channels import inbound, outbound
from channels.errors import (
    ChannelNotFound,
)
from channels.models import (
    META_ROUTE_KEYS,
    Channel,
    ChannelKind,
)

logger = logging.getLogger(__name__)


def create_channel(*, kind: str, name: str, config: dict | None = None, active: bool = True) -> Channel:
    """Create a channel and route its provider account to this store (Meta channels)."""
    channel = Channel.objects.create(kind=kind, name=name, config=config or {}, active=active)
    sync_channel_routes(channel)
    return channel


def sync_channel_routes(channel: Channel) -> None:
    """Keep the public routing table in step with a Meta channel's account id.

    Raises ``tenants.errors.ProviderAccountTaken`` when another store owns the account.
    """
    from tenants import services as tenant_services

    tenant = connection.tenant
    key = META_ROUTE_KEYS.get(channel.kind)
    account_id = str(channel.setting(key, "")) if key else ""
    if not key or not account_id or not channel.active:
        tenant_services.remove_provider_routes(tenant=tenant, channel_id=channel.pk)
        return
    routes = [(channel.kind, account_id)]
    business_account = str(channel.setting("business_account_id", "") or "").strip()
    if channel.kind == ChannelKind.WHATSAPP and business_account:
        # Template status webhooks name the business account, not the phone number.
        routes.append((inbound.WHATSAPP_BUSINESS, business_account))
    for provider, account in routes:
        tenant_services.set_provider_route(
            provider=provider, account_id=account, tenant=tenant, channel_id=channel.pk,
            verify_token=channel.verify_token,
        )
    tenant_services.remove_provider_routes(tenant=tenant, channel_id=channel.pk, keep=routes)


def delete_channel(channel_id: int) -> None:
    from tenants import services as tenant_services

    Channel.objects.filter(pk=channel_id).delete()
    tenant_services.remove_provider_routes(tenant=connection.tenant, channel_id=channel_id)


def get_channel(channel_id: int, *, kind: str | None = None) -> Channel:
    """An active channel of this store. Raises ``ChannelNotFound``."""
    channels = Channel.objects.filter(pk=channel_id, active=True)
    if kind:
        channels = channels.filter(kind=kind)
    channel = channels.first()
    if channel is None:
        raise ChannelNotFound(f"No active channel {channel_id} here.")
    return channel


def complete_meta_signup(channel_id: int, code: str, *, redirect_uri: str = "") -> outbound.MetaToken:
    """Meta embedded signup: exchange the OAuth code for a long-lived token and keep it in
    the store's vault as the channel's ``access_token``. Raises ``ChannelNotFound``,
    ``ChannelMisconfigured``, ``DeliveryError``."""
    from channels.secrets import store_channel_secret

    channel = Channel.objects.filter(pk=channel_id, kind__in=list(META_ROUTE_KEYS)).first()
    if channel is None:
        raise ChannelNotFound(f"No WhatsApp, Messenger or Instagram channel {channel_id} here.")
    token = outbound.exchange_meta_code(
        code=code, redirect_uri=redirect_uri,
        graph_base_url=str(channel.setting("graph_base_url", "")), graph_version=str(channel.setting("graph_version", "")),
    )
    store_channel_secret(channel, "access_token", token.access_token)
    logger.info("channels.meta.signup_completed", extra={"channel_id": channel.pk, "expires_in": token.expires_in})
    return token


def check_channel(channel_id: int) -> outbound.ChannelHealth:
    """Whether the channel's credentials work and its number/instance is connected (one
    provider call, with a timeout). Raises ``ChannelNotFound``."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise ChannelNotFound(f"No channel {channel_id} here.")
    health = outbound.check_connection(channel)
    logger.info("channels.channel.checked", extra={"channel_id": channel.pk, "ok": health.ok})
    return health


def webhook_path(channel: Channel) -> str:
    if channel.kind in META_ROUTE_KEYS:
        return "/webhooks/meta/"
    if channel.kind in (ChannelKind.CHATWOOT, ChannelKind.EVOLUTION, ChannelKind.WUZAPI):
        return f"/webhooks/{channel.kind}/{channel.pk}/"
    return ""


def webhook_url(channel: Channel, *, store_host: str, platform_host: str, scheme: str = "https") -> str:
    """The exact URL to paste into the provider's dashboard ("" for the API channel)."""
    path = webhook_path(channel)
    if not path:
        return ""
    host = platform_host if channel.kind in META_ROUTE_KEYS else store_host
    return f"{scheme}://{host}{path}"
