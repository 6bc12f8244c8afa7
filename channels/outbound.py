"""What we send to providers: one function per provider call, each with a timeout.

Every call goes to a base URL from the channel's config (or settings), so tests point
them at local fake servers. Failures raise ``DeliveryError`` saying whether trying
again later makes sense (429, 5xx, network) or not (4xx: bad token, bad number...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from channels.errors import ChannelMisconfigured, DeliveryError
from channels.models import Channel, ChannelKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    provider_message_id: str


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def _post(url: str, *, json: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return _call("POST", url, json=json, headers=headers)


def _get(url: str, *, headers: dict[str, str], params: dict[str, str] | None = None) -> dict[str, Any]:
    return _call("GET", url, headers=headers, params=params)


def _call(method: str, url: str, *, headers: dict[str, str], json: dict[str, Any] | None = None,
          params: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        response = httpx.request(method, url, json=json, params=params, headers=headers,
                                 timeout=settings.CHANNELS_HTTP_TIMEOUT)
    except httpx.HTTPError as exc:  # connect/read timeouts, refused connections...
        raise DeliveryError(f"{url}: {exc.__class__.__name__}: {exc}", retryable=True) from exc
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {"raw": response.text[:500]}
    if response.status_code >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = error.get("message") or error.get("error_user_msg") or str(error)
            provider_code = str(error.get("code", ""))
        else:
            detail = str(error or body)[:500]
            provider_code = ""
        raise DeliveryError(
            f"HTTP {response.status_code}: {detail}",
            retryable=response.status_code == 429 or response.status_code >= 500,
            status=response.status_code,
            provider_code=provider_code,
            retry_after=_retry_after(response),
        )
    return body if isinstance(body, dict) else {"data": body}


def _value(channel: Channel, key: str) -> str:
    from channels.secrets import SECRET_KEYS, channel_secret

    if key in SECRET_KEYS:
        return channel_secret(channel, key)
    value = channel.setting(key)
    return "" if value is None else str(value)


def _required(channel: Channel, *keys: str) -> list[str]:
    values = [_value(channel, key) for key in keys]
    missing = [key for key, value in zip(keys, values, strict=True) if not value]
    if missing:
        raise ChannelMisconfigured(
            f"Channel {channel.name!r} needs {', '.join(missing)} in its config.", field="config"
        )
    return [str(v) for v in values]


def graph_url(channel: Channel, path: str) -> str:
    base = str(channel.setting("graph_base_url", settings.CHANNELS_META_GRAPH_BASE_URL)).rstrip("/")
    version = channel.setting("graph_version", settings.CHANNELS_META_GRAPH_VERSION)
    return f"{base}/{version}/{path.lstrip('/')}"


def _meta_token(channel: Channel) -> str:
    token = _value(channel, "access_token") or settings.CHANNELS_META_ACCESS_TOKEN
    if not token:
        raise ChannelMisconfigured(f"Channel {channel.name!r} has no access_token.", field="config")
    return str(token)


def send_text(channel: Channel, *, to: str, text: str, external_conversation_id: str = "",
              reply_to: str = "", idempotency_key: str = "") -> Sent:
    """Send ``text`` to contact ``to`` through ``channel``. Raises ``DeliveryError`` or
    ``ChannelMisconfigured``."""
    kind = channel.kind
    if kind == ChannelKind.WHATSAPP:
        (phone_number_id,) = _required(channel, "phone_number_id")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        if reply_to:
            body["context"] = {"message_id": reply_to}
        data = _post(
            graph_url(channel, f"{phone_number_id}/messages"),
            json=body,
            headers={"Authorization": f"Bearer {_meta_token(channel)}"},
        )
        messages = data.get("messages") or [{}]
        return Sent(provider_message_id=str(messages[0].get("id", "")))
    if kind in (ChannelKind.MESSENGER, ChannelKind.INSTAGRAM):
        account = _required(channel, "page_id" if kind == ChannelKind.MESSENGER else "ig_account_id")[0]
        data = _post(
            graph_url(channel, f"{account}/messages"),
            json={"recipient": {"id": to}, "messaging_type": "RESPONSE", "message": {"text": text}},
            headers={"Authorization": f"Bearer {_meta_token(channel)}"},
        )
        return Sent(provider_message_id=str(data.get("message_id", "")))
    if kind == ChannelKind.CHATWOOT:
        base_url, account_id, token = _required(channel, "base_url", "account_id", "api_access_token")
        if not external_conversation_id:
            raise ChannelMisconfigured("A Chatwoot reply needs the Chatwoot conversation id.")
        data = _post(
            f"{base_url.rstrip('/')}/api/v1/accounts/{account_id}/conversations/"
            f"{external_conversation_id}/messages",
            json={"content": text, "message_type": "outgoing", "private": False,
                  "content_type": "text", "content_attributes": {}},
            headers={"api_access_token": token},
        )
        return Sent(provider_message_id=str(data.get("id", "")))
    if kind == ChannelKind.EVOLUTION:
        base_url, instance, apikey = _required(channel, "base_url", "instance", "apikey")
        data = _post(
            f"{base_url.rstrip('/')}/message/sendText/{instance}",
            json={"number": to, "text": text},
            headers={"apikey": apikey},
        )
        return Sent(provider_message_id=str((data.get("key") or {}).get("id", "")))
    if kind == ChannelKind.WUZAPI:
        base_url, token = _required(channel, "base_url", "token")
        body = {"Phone": to, "Body": text}
        if idempotency_key:
            # WuzAPI takes the message id from the caller: a resend reuses it.
            body["Id"] = idempotency_key
        data = _post(f"{base_url.rstrip('/')}/chat/send/text", json=body, headers={"Token": token})
        inner = data.get("data") if isinstance(data.get("data"), dict) else data
        return Sent(provider_message_id=str(inner.get("Id", "") or inner.get("id", "") or idempotency_key))
    if kind == ChannelKind.API:
        # The API/web channel's replies are read from the conversation; nothing to call.
        return Sent(provider_message_id="")
    raise ChannelMisconfigured(f"Channel kind {kind!r} cannot send messages.")


def send_template(channel: Channel, *, to: str, name: str, language: str,
                  components: list[dict[str, Any]] | None = None) -> Sent:
    """Send an approved WhatsApp template message (the only kind Meta delivers outside
    the 24-hour customer-service window). Raises ``DeliveryError`` or
    ``ChannelMisconfigured``."""
    if channel.kind != ChannelKind.WHATSAPP:
        raise ChannelMisconfigured(f"Channel {channel.name!r} cannot send WhatsApp templates.", field="template")
    (phone_number_id,) = _required(channel, "phone_number_id")
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    data = _post(
        graph_url(channel, f"{phone_number_id}/messages"),
        json={"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
              "type": "template", "template": template},
        headers={"Authorization": f"Bearer {_meta_token(channel)}"},
    )
    messages = data.get("messages") or [{}]
    return Sent(provider_message_id=str(messages[0].get("id", "")))


# Pages of 100 templates; a business account holds at most a few hundred.
_TEMPLATE_PAGES = 50


def list_message_templates(channel: Channel) -> list[dict[str, Any]]:
    """Every message template of the channel's WhatsApp business account
    (``business_account_id``), following the Graph API's ``after`` cursors on the
    channel's own base URL. Raises ``DeliveryError`` or ``ChannelMisconfigured``."""
    (account_id,) = _required(channel, "business_account_id")
    params = {"fields": "id,name,language,status,category,components", "limit": "100"}
    headers = {"Authorization": f"Bearer {_meta_token(channel)}"}
    templates: list[dict[str, Any]] = []
    for _ in range(_TEMPLATE_PAGES):
        data = _get(graph_url(channel, f"{account_id}/message_templates"), headers=headers, params=params)
        templates.extend(t for t in data.get("data") or [] if isinstance(t, dict))
        paging = data.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        params = {**params, "after": str(after)}
    return templates


def chatwoot_open_conversation(channel: Channel, external_conversation_id: str) -> None:
    """Hand a Chatwoot conversation to humans: toggle its status to ``open`` (and assign
    the configured team). Raises ``DeliveryError``."""
    base_url, account_id, token = _required(channel, "base_url", "account_id", "api_access_token")
    root = f"{base_url.rstrip('/')}/api/v1/accounts/{account_id}/conversations/{external_conversation_id}"
    _post(f"{root}/toggle_status", json={"status": "open"}, headers={"api_access_token": token})
    team_id = channel.setting("handoff_team_id")
    if team_id:
        _post(f"{root}/assignments", json={"team_id": int(team_id)}, headers={"api_access_token": token})


def chatwoot_return_to_bot(channel: Channel, external_conversation_id: str) -> None:
    base_url, account_id, token = _required(channel, "base_url", "account_id", "api_access_token")
    _post(
        f"{base_url.rstrip('/')}/api/v1/accounts/{account_id}/conversations/"
        f"{external_conversation_id}/toggle_status",
        json={"status": "pending"},
        headers={"api_access_token": token},
    )


@dataclass(frozen=True)
class ChannelHealth:
    ok: bool
    detail: str


def check_connection(channel: Channel) -> ChannelHealth:
    """Ask the provider whether the channel's credentials work and the number/instance is
    connected. Never raises for a provider's answer: the answer is the result."""
    kind = channel.kind
    try:
        if kind == ChannelKind.WHATSAPP:
            (phone_number_id,) = _required(channel, "phone_number_id")
            data = _get(graph_url(channel, phone_number_id), headers={"Authorization": f"Bearer {_meta_token(channel)}"},
                        params={"fields": "display_phone_number,verified_name,quality_rating"})
            return ChannelHealth(True, f"{data.get('verified_name', '')} {data.get('display_phone_number', '')}"
                                       f" (quality {data.get('quality_rating', 'unknown')})".strip())
        if kind in (ChannelKind.MESSENGER, ChannelKind.INSTAGRAM):
            account = _required(channel, "page_id" if kind == ChannelKind.MESSENGER else "ig_account_id")[0]
            data = _get(graph_url(channel, account), headers={"Authorization": f"Bearer {_meta_token(channel)}"},
                        params={"fields": "name"})
            return ChannelHealth(True, str(data.get("name", account)))
        if kind == ChannelKind.CHATWOOT:
            base_url, account_id, token = _required(channel, "base_url", "account_id", "api_access_token")
            data = _get(f"{base_url.rstrip('/')}/api/v1/accounts/{account_id}/inboxes",
                        headers={"api_access_token": token})
            return ChannelHealth(True, f"{len(data.get('payload') or [])} inbox(es) reachable")
        if kind == ChannelKind.EVOLUTION:
            base_url, instance, apikey = _required(channel, "base_url", "instance", "apikey")
            data = _get(f"{base_url.rstrip('/')}/instance/connectionState/{instance}", headers={"apikey": apikey})
            state = str((data.get("instance") or {}).get("state", "unknown"))
            return ChannelHealth(state == "open", f"instance {instance}: {state}")
        if kind == ChannelKind.WUZAPI:
            base_url, token = _required(channel, "base_url", "token")
            data = _get(f"{base_url.rstrip('/')}/session/status", headers={"Token": token})
            inner = data.get("data") if isinstance(data.get("data"), dict) else data
            connected = bool(inner.get("Connected")) and bool(inner.get("LoggedIn"))
            return ChannelHealth(connected, "connected and logged in" if connected else "not connected")
        return ChannelHealth(True, "no provider to check")
    except (DeliveryError, ChannelMisconfigured) as exc:
        return ChannelHealth(False, exc.message)


@dataclass(frozen=True)
class MetaToken:
    access_token: str
    expires_in: int | None  # seconds; None for a token that does not expire


def exchange_meta_code(*, code: str, redirect_uri: str = "", graph_base_url: str = "",
                       graph_version: str = "") -> MetaToken:
    """Embedded signup: trade the OAuth ``code`` for a token, then for a long-lived one.
    Raises ``DeliveryError`` (the Graph API refused) or ``ChannelMisconfigured``."""
    app_id, app_secret = settings.CHANNELS_META_APP_ID, settings.CHANNELS_META_APP_SECRET
    if not app_id or not app_secret:
        raise ChannelMisconfigured("Set CHANNELS_META_APP_ID and CHANNELS_META_APP_SECRET for embedded signup.")
    base = (graph_base_url or settings.CHANNELS_META_GRAPH_BASE_URL).rstrip("/")
    url = f"{base}/{graph_version or settings.CHANNELS_META_GRAPH_VERSION}/oauth/access_token"
    params = {"client_id": app_id, "client_secret": app_secret, "code": code}
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    short = _get(url, headers={}, params=params)
    long_lived = _get(url, headers={}, params={
        "grant_type": "fb_exchange_token", "client_id": app_id, "client_secret": app_secret,
        "fb_exchange_token": str(short.get("access_token", "")),
    })
    token = str(long_lived.get("access_token") or short.get("access_token") or "")
    if not token:
        raise DeliveryError("The Graph API returned no access token.", retryable=False)
    expires = long_lived.get("expires_in")
    return MetaToken(access_token=token, expires_in=int(expires) if expires else None)
