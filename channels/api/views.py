"""Sending on the store's behalf, and the store's live event stream."""

from __future__ import annotations

import json

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.sse import event_stream_response
from channels import events, services
from channels.api.serializers import (
    ChannelStatusSerializer,
    ConversationStateSerializer,
    HandoffSerializer,
    MessageTemplateSerializer,
    MetaSignupResultSerializer,
    MetaSignupSerializer,
    QueuedMessageSerializer,
    SendMessageSerializer,
    TemplateSyncSerializer,
)
from tenants.api.permissions import HasScope, StoreOnly


class SendMessageView(APIView):
    """Queue a message to a contact; it is delivered like the agent's replies (retries,
    status tracking, never twice). Free ``text`` only within WhatsApp's 24-hour
    customer-service window (400 ``outside_customer_service_window`` otherwise); an
    approved ``template`` at any time."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=SendMessageSerializer, responses={202: QueuedMessageSerializer})
    def post(self, request):
        payload = SendMessageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        template = data.get("template")
        message = services.send_to_contact(
            data["channel_id"], data["to"], data.get("text", ""),
            template=services.TemplateCall(**template) if template else None,
            idempotency_key=data.get("idempotency_key", ""),
        )
        body = {"id": message.pk, "conversation_id": message.conversation_id, "status": message.status,
                "created_at": message.created_at}
        return Response(QueuedMessageSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        # Only errors are rendered here (the stream itself is a StreamingHttpResponse).
        return f"event: error\ndata: {json.dumps(data)}\n\n".encode()


class EventStreamView(APIView):
    """Server-sent events of the store (the same events as its webhooks), live."""

    required_scope = "app"  # the store's frontend; a read-only key may look too
    read_scope_can_list = True
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    throttle_classes: list = []

    @extend_schema(responses={(200, "text/event-stream"): str})
    def get(self, request):
        # Event by event to the dashboard (never held in the gzip middleware's compressor).
        return event_stream_response(request, events.stream(connection.schema_name))


class ChannelStatusView(APIView):
    """Whether a channel's credentials work and its number/instance is connected."""

    required_scope = "app"  # the store's frontend; a read-only key may look too
    read_scope_can_list = True
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(responses={200: ChannelStatusSerializer})
    def get(self, request, channel_id: int):
        health = services.check_channel(channel_id)
        return Response(ChannelStatusSerializer({"channel_id": channel_id, "ok": health.ok,
                                                 "detail": health.detail}).data)


class MetaSignupView(APIView):
    """Meta embedded signup: the OAuth code from the signup popup becomes the channel's
    long-lived token, kept in the store's vault."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=MetaSignupSerializer, responses={200: MetaSignupResultSerializer})
    def post(self, request, channel_id: int):
        payload = MetaSignupSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token = services.complete_meta_signup(
            channel_id, payload.validated_data["code"], redirect_uri=payload.validated_data.get("redirect_uri", "")
        )
        return Response(MetaSignupResultSerializer({"channel_id": channel_id, "connected": True,
                                                    "expires_in": token.expires_in}).data)



def _state(conversation) -> dict:
    return {"conversation_id": conversation.pk, "status": conversation.status,
            "handoff_reason": conversation.handoff_reason}


class HandoffView(APIView):
    """Give a conversation to the store's team: the bot stays silent until it is returned."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=HandoffSerializer, responses={200: ConversationStateSerializer})
    def post(self, request, conversation_id: int):
        payload = HandoffSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        conversation = services.handoff(
            conversation_id, payload.validated_data.get("reason") or "Handed to the team through the API.",
            by=f"api:{request.user}",
        )
        return Response(ConversationStateSerializer(_state(conversation)).data)


class ReturnToBotView(APIView):
    """Give a conversation back to the agent."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=None, responses={200: ConversationStateSerializer})
    def post(self, request, conversation_id: int):
        conversation = services.return_to_bot(conversation_id, by=f"api:{request.user}")
        return Response(ConversationStateSerializer(_state(conversation)).data)


class TemplateListView(APIView):
    """The WhatsApp channel's message templates as last synced from Meta."""

    required_scope = "app"  # the store's frontend; a read-only key may look too
    read_scope_can_list = True
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(responses={200: MessageTemplateSerializer(many=True)})
    def get(self, request, channel_id: int):
        services.get_channel(channel_id)
        return Response(MessageTemplateSerializer(services.templates_of(channel_id), many=True).data)


class TemplateSyncView(APIView):
    """Fetch the channel's templates (name, language, category, status) from the Graph API."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=None, responses={200: TemplateSyncSerializer})
    def post(self, request, channel_id: int):
        result = services.sync_templates(channel_id)
        return Response(TemplateSyncSerializer({
            "created": result.created, "updated": result.updated, "removed": result.removed,
            "templates": services.templates_of(channel_id)}).data)
