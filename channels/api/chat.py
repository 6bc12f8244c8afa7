"""The API channel: a store's own frontend (or any client) chats with one of its agents.

``POST /api/v1/agents/{id}/chat`` answers in JSON; ``POST /api/v1/agents/{id}/chat/stream``
answers with Server-Sent Events as the agent works (``progress``, ``tool_call``,
``source``, ``answer`` deltas, ``metadata``, ``done``, ``error``). A ``thread_id`` names
the conversation so the agent remembers it; without one a new thread starts and its id
comes back. Each chat message is recorded in a conversation of the store's API channel
like a WhatsApp message would be — the same turn, reply messages, lead, handoff and
analytics — but the turn runs in the request instead of after the accumulator's window.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import services as agent_services
from agents.models import Agent
from agents.sse import event_stream_response, sse, turn_event_frames
from agents.turns import TurnResult
from channels import services
from channels.errors import TurnBusy
from channels.inbound import InboundMessage
from channels.models import (
    Channel,
    ChannelKind,
    Conversation,
    ConversationStatus,
    ConversationTurn,
    TurnStatus,
)

logger = logging.getLogger(__name__)

API_CHANNEL_NAME = "API"


# --- shapes -----------------------------------------------------------------------------


class ChatRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=4000, help_text="What the customer wrote.")
    thread_id = serializers.RegexField(
        r"^[A-Za-z0-9._:@+-]{1,100}$", required=False,
        help_text="Your id of the conversation (the agent remembers it); a new thread starts without one.",
    )
    message_id = serializers.RegexField(
        r"^[A-Za-z0-9._:@+-]{1,100}$", required=False,
        help_text="Your id of this message: a retry with the same id is answered once.",
    )
    contact_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ChatUsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=6)


class ChatReplySerializer(serializers.Serializer):
    reply = serializers.CharField(allow_null=True, help_text="Null when a person of the team answers instead.")
    thread_id = serializers.CharField()
    conversation_id = serializers.IntegerField()
    run_id = serializers.IntegerField(allow_null=True, help_text="Rate the reply at /agents/runs/{run_id}/rating.")
    agent_id = serializers.IntegerField()
    handoff = serializers.BooleanField()
    handoff_reason = serializers.CharField(allow_blank=True)
    conversation_status = serializers.ChoiceField(choices=ConversationStatus.choices)
    sources = serializers.ListField(child=serializers.CharField())
    side_effects = serializers.ListField(child=serializers.DictField())
    provider = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True)
    usage = ChatUsageSerializer()


# --- the chat as plain functions ----------------------------------------------------------


@dataclass(frozen=True)
class ChatTurn:
    agent: Agent
    conversation: Conversation
    thread_id: str
    turn: ConversationTurn | None  # None: a person answers this conversation, or a retry of an answered message


def api_channel() -> Channel:
    """The store's API channel (created on first use)."""
    channel = Channel.objects.filter(kind=ChannelKind.API, active=True).order_by("pk").first()
    return channel or services.create_channel(kind=ChannelKind.API, name=API_CHANNEL_NAME)


def start_chat_turn(agent_id: int, text: str, *, thread_id: str = "", message_id: str = "",
                    contact_name: str = "") -> ChatTurn:
    """Record the customer's message in the thread's conversation and open its turn.

    Raises ``AgentNotFound`` / ``NoActiveAgent`` for an agent that cannot answer and
    ``TurnBusy`` while another message of the thread is being answered. A repeated
    ``message_id`` opens no second turn.
    """
    agent = agent_services.agent_for_turn(agent_id)
    thread_id = thread_id or uuid.uuid4().hex
    channel = api_channel()
    inbound = InboundMessage(
        provider_message_id=f"{thread_id}:{message_id or uuid.uuid4().hex}", contact_id=thread_id,
        contact_name=contact_name, text=text, timestamp=timezone.now(),
    )
    with transaction.atomic():
        recorded = services.record_inbound(channel, inbound, start_turn=False)
        conversation = Conversation.objects.select_for_update().get(pk=recorded.message.conversation_id)
        existing = ConversationTurn.objects.filter(
            conversation=conversation, first_message_id__lte=recorded.message.pk,
            last_message_id__gte=recorded.message.pk,
        ).first()
        if existing is not None or conversation.status != ConversationStatus.BOT:
            return ChatTurn(agent, conversation, thread_id, existing)
        lease = timedelta(seconds=settings.CHANNELS_TURN_LEASE_SECONDS)
        busy = ConversationTurn.objects.filter(
            conversation=conversation, status__in=[TurnStatus.PENDING, TurnStatus.RUNNING],
            created_at__gte=timezone.now() - lease,
        ).exists()
        if busy:
            raise TurnBusy("Another message of this thread is being answered; send this one after its reply.")
        answered_through = (
            conversation.turns.order_by("-last_message_id").values_list("last_message_id", flat=True).first() or 0
        )
        first = (
            conversation.messages.filter(direction="in", pk__gt=answered_through).order_by("pk")
            .values_list("pk", flat=True).first()
        )
        # Marked dispatched: the request runs it, so the store's scheduler never queues it.
        turn = ConversationTurn.objects.create(
            conversation=conversation, turn_key=f"{conversation.pk}:{recorded.message.pk}",
            first_message_id=first or recorded.message.pk, last_message_id=recorded.message.pk,
            dispatched_at=timezone.now(),
        )
    return ChatTurn(agent, conversation, thread_id, turn)


def _agent_runner(agent_id: int):
    def run(request):
        return agent_services.run_turn(replace(request, agent_id=agent_id))

    return run


def _run_id(turn: ConversationTurn | None) -> int | None:
    if turn is None:
        return None
    from agents.models import AgentRun

    return AgentRun.objects.filter(turn_key=turn.turn_key).order_by("-pk").values_list("pk", flat=True).first()


def _reply_body(chat: ChatTurn, result: TurnResult | None, turn: ConversationTurn | None) -> dict:
    conversation = Conversation.objects.get(pk=chat.conversation.pk)
    reply = None
    if turn is not None and turn.status == TurnStatus.DONE:
        reply = turn.reply
    elif result is not None and conversation.status == ConversationStatus.BOT:
        reply = (result.reply or "").replace(services.HANDOFF_MARKER, "").strip() or None
    return {
        "reply": reply,
        "thread_id": chat.thread_id,
        "conversation_id": conversation.pk,
        "run_id": result.run_id if result else _run_id(turn),
        "agent_id": chat.agent.pk,
        "handoff": conversation.status == ConversationStatus.HUMAN,
        "handoff_reason": conversation.handoff_reason,
        "conversation_status": conversation.status,
        "sources": list(result.sources) if result else [],
        "side_effects": [{"kind": e.kind, "data": e.data} for e in result.side_effects] if result else [],
        "provider": result.provider if result else "",
        "model": result.model if result else "",
        "usage": {
            "prompt_tokens": result.prompt_tokens if result else 0,
            "completion_tokens": result.completion_tokens if result else 0,
            "cost": result.cost if result else 0,
        },
    }


def chat(agent_id: int, text: str, **options: str) -> dict:
    """One message in, the agent's answer out (see ``ChatReplySerializer``)."""
    opened = start_chat_turn(agent_id, text, **options)
    if opened.turn is None or opened.turn.status != TurnStatus.PENDING:
        return _reply_body(opened, None, opened.turn)
    results: list[TurnResult] = []
    runner = _agent_runner(opened.agent.pk)

    def recording_runner(request):
        results.append(runner(request))
        return results[-1]

    try:
        turn = services.run_turn(opened.turn.pk, runner=recording_runner)
    except TurnBusy:
        # The store's turns are all busy: the scheduler answers it in the conversation soon,
        # and a retry with the same message_id returns that reply.
        ConversationTurn.objects.filter(pk=opened.turn.pk, status=TurnStatus.PENDING).update(dispatched_at=None)
        services.dispatch_turns()
        raise
    except Exception as exc:  # recorded on the turn (never left running), then re-raised as is
        services.fail_turn(opened.turn.pk, f"{type(exc).__name__}: {exc}")
        raise
    return _reply_body(opened, results[-1] if results else None, turn)


def chat_events(opened: ChatTurn) -> Iterator[bytes]:
    """The turn as Server-Sent Events. The reply is recorded in the conversation once the
    agent has finished, exactly as ``chat`` records it."""
    yield sse("progress", {"stage": "received", "thread_id": opened.thread_id,
                           "conversation_id": opened.conversation.pk})
    if opened.turn is None or opened.turn.status != TurnStatus.PENDING:
        body = _reply_body(opened, None, opened.turn)
        yield sse("metadata", {k: v for k, v in body.items() if k != "reply"})
        yield sse("done", {"reply": body["reply"]})
        return
    try:
        request = services.build_turn_request(opened.turn)
        if services.check_budget().exceeded:
            request = replace(request, offline_only=True)
        request = replace(request, agent_id=opened.agent.pk)
        result = yield from turn_event_frames(agent_services.stream_turn(request))
        turn = services.run_turn(opened.turn.pk, runner=lambda _request: result)
    except Exception as exc:  # reported to the client and recorded on the turn, then logged
        logger.exception("channels.chat_stream_failed", extra={"turn_id": opened.turn.pk})
        services.fail_turn(opened.turn.pk, f"{type(exc).__name__}: {exc}")
        yield sse("error", {"code": getattr(exc, "code", "internal_error"),
                            "message": getattr(exc, "message", "The agent failed to answer; try again.")})
        return
    body = _reply_body(opened, result, turn)
    yield sse("metadata", {k: v for k, v in body.items() if k != "reply"})
    yield sse("done", {"reply": body["reply"]})


# --- views ------------------------------------------------------------------------------


def _busy(exc: TurnBusy) -> Response:
    return Response({"error": {"code": exc.code, "message": exc.message, "fields": {}}},
                    status=status.HTTP_409_CONFLICT)


class ChatView(APIView):
    """Send the customer's message to the agent and get its reply (the API channel)."""

    required_scope = "app"

    @extend_schema(request=ChatRequestSerializer, responses={200: ChatReplySerializer})
    def post(self, request, agent_id: int):
        payload = ChatRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            body = chat(agent_id, data["message"], thread_id=data.get("thread_id", ""),
                        message_id=data.get("message_id", ""), contact_name=data.get("contact_name", ""))
        except TurnBusy as exc:
            return _busy(exc)
        return Response(ChatReplySerializer(body).data)


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        # Errors before the stream starts (400, 401, 404...) as one error event.
        return sse("error", (data or {}).get("error", data) if isinstance(data, dict) else {"message": str(data)})


class ChatStreamView(APIView):
    """The same chat as Server-Sent Events while the agent works: ``progress``,
    ``tool_call``, ``source``, ``answer`` (text deltas), then ``metadata`` (the reply's
    ids, sources, handoff, usage) and ``done``; ``error`` when it fails."""

    required_scope = "app"
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(request=ChatRequestSerializer, responses={(200, "text/event-stream"): str})
    def post(self, request, agent_id: int):
        payload = ChatRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            opened = start_chat_turn(agent_id, data["message"], thread_id=data.get("thread_id", ""),
                                     message_id=data.get("message_id", ""),
                                     contact_name=data.get("contact_name", ""))
        except TurnBusy as exc:
            return _busy(exc)
        # Event by event to the browser (never held in the gzip middleware's compressor).
        return event_stream_response(request, chat_events(opened))
