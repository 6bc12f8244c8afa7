"""Webhook endpoints: verify, check, store in the store's inbox, answer at once.

No LLM, no outbound HTTP, not even the conversation here: a worker processes the inbox
(``channels.services.inbox``). A body is parsed in the request all the same, so a
malformed one is refused with 400 instead of being kept.

``/webhooks/meta/`` lives on the platform domain (one URL for every store's WhatsApp,
Instagram and Messenger; each entry is routed to its store by the provider account id);
the per-channel providers post to the store's own domain.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from channels import inbound, services
from channels.errors import ChannelNotFound, InvalidSignature, MalformedPayload
from channels.models import ChannelKind
from channels.secrets import channel_secret
from tenants import services as tenant_services

logger = logging.getLogger(__name__)


def _refused(exc: Exception, status: int = 401) -> JsonResponse:
    code = getattr(exc, "code", "error")
    return JsonResponse({"error": {"code": code, "message": str(exc)}}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _meta_handshake(request)
    raw = request.body
    try:
        inbound.verify_meta_signature(raw, request.headers.get("X-Hub-Signature-256"),
                                      settings.CHANNELS_META_APP_SECRET)
    except InvalidSignature as exc:
        logger.warning("channels.meta.bad_signature", extra={"error": exc.message})
        return _refused(exc)
    try:
        batches = inbound.parse_meta_payload(inbound.load_json(raw))
    except MalformedPayload as exc:
        return _refused(exc, status=400)
    for batch in batches:
        route = tenant_services.route_for_provider_account(batch.provider, batch.account_id)
        if route is None:
            # 200 all the same: Meta would retry an unknown account for days.
            logger.warning(
                "channels.meta.unknown_account",
                extra={"provider": batch.provider, "account_id": batch.account_id},
            )
            continue
        services.accept_delivery(route.channel_id, batch.provider, batch.payload, schema=route.tenant.schema_name)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _meta_handshake(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    platform_token = settings.CHANNELS_META_VERIFY_TOKEN
    known = bool(token) and (
        (bool(platform_token) and hmac.compare_digest(token, platform_token))
        or tenant_services.provider_verify_token_known(token)
    )
    if mode != "subscribe" or not known:
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    return HttpResponse(challenge, content_type="text/plain")


def _channel_or_404(channel_id: int, kind: str):
    try:
        return services.get_channel(channel_id, kind=kind)
    except ChannelNotFound as exc:
        return _refused(exc, status=404)


@csrf_exempt
@require_POST
def chatwoot_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id, ChannelKind.CHATWOOT)
    if isinstance(channel, HttpResponse):
        return channel
    raw = request.body
    secret = channel_secret(channel, "webhook_secret")
    if secret:
        try:
            inbound.verify_chatwoot_signature(
                raw, request.headers.get("X-Chatwoot-Signature"), request.headers.get("X-Chatwoot-Timestamp"),
                str(secret), max_age=settings.CHANNELS_CHATWOOT_SIGNATURE_MAX_AGE,
            )
        except InvalidSignature as exc:
            logger.warning("channels.chatwoot.bad_signature", extra={"channel_id": channel.pk})
            return _refused(exc)
    try:
        payload = inbound.load_json(raw)
        inbound.parse_chatwoot_payload(payload)
    except MalformedPayload as exc:
        return _refused(exc, status=400)
    services.accept_delivery(channel.pk, "chatwoot", payload)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def evolution_webhook(request: HttpRequest, channel_id: int, event_name: str = "") -> HttpResponse:
    channel = _channel_or_404(channel_id, ChannelKind.EVOLUTION)
    if isinstance(channel, HttpResponse):
        return channel
    try:
        payload = inbound.load_json(request.body)
        if not isinstance(payload, dict):
            raise MalformedPayload("An Evolution API webhook is a JSON object.")
    except MalformedPayload as exc:
        return _refused(exc, status=400)
    # Evolution signs nothing: the instance's apikey travels in the body (or a header).
    expected = channel_secret(channel, "apikey")
    given = str(payload.get("apikey") or request.headers.get("apikey") or "")
    if expected and not hmac.compare_digest(expected, given):
        return _refused(InvalidSignature("The Evolution API key does not match this channel."))
    try:
        inbound.parse_evolution_payload(payload)
    except MalformedPayload as exc:
        return _refused(exc, status=400)
    services.accept_delivery(channel.pk, "evolution", payload)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def wuzapi_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(channel_id, ChannelKind.WUZAPI)
    if isinstance(channel, HttpResponse):
        return channel
    raw = request.body
    hmac_key = channel_secret(channel, "hmac_key")
    if hmac_key:
        try:
            inbound.verify_wuzapi_signature(raw, request.headers.get("x-hmac-signature"), str(hmac_key))
        except InvalidSignature as exc:
            return _refused(exc)
    try:
        data, token = inbound.wuzapi_body(raw, request.content_type or "")
    except MalformedPayload as exc:
        return _refused(exc, status=400)
    expected = channel_secret(channel, "token")
    if not hmac_key and expected and not hmac.compare_digest(expected, token):
        return _refused(InvalidSignature("The WuzAPI token does not match this channel."))
    inbound.parse_wuzapi_event(data)
    services.accept_delivery(channel.pk, "wuzapi", data)
    return JsonResponse({"ok": True})
