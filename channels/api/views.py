"""Sending on the store's behalf: the store's systems message a contact through a channel."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from channels import services
from channels.api.serializers import QueuedMessageSerializer, SendMessageSerializer
from tenants.api.permissions import HasScope, StoreOnly


class SendMessageView(APIView):
    """Queue a message to a contact; it is delivered like the agent's replies (retries,
    status tracking, never twice). WhatsApp's 24-hour customer-service window applies."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(request=SendMessageSerializer, responses={202: QueuedMessageSerializer})
    def post(self, request):
        payload = SendMessageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        message = services.send_to_contact(
            data["channel_id"], data["to"], data["text"], idempotency_key=data.get("idempotency_key", ""),
        )
        body = {"id": message.pk, "conversation_id": message.conversation_id, "status": message.status,
                "created_at": message.created_at}
        return Response(QueuedMessageSerializer(body).data, status=status.HTTP_202_ACCEPTED)
