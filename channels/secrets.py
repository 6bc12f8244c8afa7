"""A channel's secrets live in the store's credentials vault (``agents.vault``, category
``channel``, name ``<channel id>.<key>``); a value in the channel's config (development,
tests) is used first."""

from __future__ import annotations

from channels.models import Channel

SECRET_KEYS = ("access_token", "api_access_token", "webhook_secret", "apikey", "token", "hmac_key")


def credential_name(channel_id: int, key: str) -> str:
    return f"{channel_id}.{key}"


def channel_secret(channel: Channel, key: str, default: str = "") -> str:
    """The secret ``key`` of ``channel`` ("" when it has none). Raises
    ``agents.errors.CredentialUnreadable`` when the vault cannot decrypt it."""
    value = channel.setting(key)
    if value:
        return str(value)
    if channel.pk is None:
        return default
    from agents import vault
    from agents.errors import CredentialMissing

    try:
        return vault.get_credential("channel", credential_name(channel.pk, key), purpose=f"channel {channel.name}")
    except CredentialMissing:
        return default


def store_channel_secret(channel: Channel, key: str, value: str) -> None:
    """Put a secret in the vault and drop any plaintext copy from the channel's config."""
    from agents import vault

    if key not in SECRET_KEYS:
        raise ValueError(f"{key!r} is not a channel secret")
    vault.set_credential("channel", credential_name(channel.pk, key), value)
    if key in (channel.config or {}):
        config = dict(channel.config)
        config.pop(key)
        Channel.objects.filter(pk=channel.pk).update(config=config)
        channel.config = config


def secret_hint(channel: Channel, key: str) -> str:
    from agents.models import Credential

    hint = (
        Credential.objects.filter(category="channel", name=credential_name(channel.pk, key))
        .values_list("hint", flat=True).first()
    )
    return hint or ""
