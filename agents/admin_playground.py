"""The agent playground of the store's console: staff write as a customer would and watch
the turn — each model call, tool call and cited source, the answer as it arrives, then the
run's provider, tokens and cost.

The page streams the turn from ``POST …/playground/stream/`` (Server-Sent Events, read by
the page's script with ``fetch``); without JavaScript the same form posts to the page and
the steps are shown once the turn has ended. Both take the same fields:

- ``message``: what the customer writes;
- ``history``: the thread so far, ``[{"role": "customer"|"agent", "text": …}]`` (the
  playground's memory lives in the page, never in a conversation of a channel);
- ``thread``: the playground thread's id (its turns' idempotency keys derive from it);
- ``lead_id``: the lead a real run identified earlier in the thread;
- ``dry_run``: ``on`` simulates the tools that write (no order, no lead change). The
  page ticks it by default; a real run writes like a channel's turn would.

Staff reach only their own store's agents: the console runs in the store's schema, so
another store's agent id is a 404.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from agents import services
from agents.models import Agent, AgentRun, AgentStep, StepKind
from agents.sse import event_stream_response, sse, turn_event_frames
from agents.turns import ConversationMessage, TurnRequest, TurnResult

logger = logging.getLogger(__name__)

CHANNEL = "playground"
MAX_MESSAGE_CHARS = 4000
# The thread the page sends back is bounded: the agent's memory window reads fewer anyway.
MAX_HISTORY_MESSAGES = 60
THREAD_ID = re.compile(r"^[0-9a-f]{32}$")
ROLES = ("customer", "agent", "staff")


class PlaygroundInputError(Exception):
    """What staff sent cannot start a turn; ``message`` says why, in their language."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PlaygroundThread:
    """One playground conversation as the page holds it between messages."""

    thread_id: str
    history: tuple[dict[str, str], ...]
    lead_id: int | None
    dry_run: bool

    @property
    def history_json(self) -> str:
        return json.dumps(list(self.history), ensure_ascii=False)


def new_thread() -> PlaygroundThread:
    return PlaygroundThread(thread_id=uuid.uuid4().hex, history=(), lead_id=None, dry_run=True)


def read_thread(data: QueryDict) -> PlaygroundThread:
    """The thread the form sent back. A history that is not a list of messages starts the
    thread afresh rather than failing; a missing ``dry_run`` is a real run (an unticked
    checkbox sends nothing)."""
    try:
        raw = json.loads(data.get("history") or "[]")
    except ValueError:
        raw = []
    history = tuple(
        {"role": m["role"], "text": m["text"][:MAX_MESSAGE_CHARS]}
        for m in (raw if isinstance(raw, list) else [])
        if isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("text"), str)
    )[-MAX_HISTORY_MESSAGES:]
    thread_id = data.get("thread") or ""
    lead_id = _known_lead(data.get("lead_id") or "")
    return PlaygroundThread(
        thread_id=thread_id if THREAD_ID.match(thread_id) else uuid.uuid4().hex,
        history=history,
        lead_id=lead_id,
        dry_run=data.get("dry_run") == "on",
    )


def _known_lead(value: str) -> int | None:
    from leads.models import Lead

    if not value.isdigit():
        return None
    return int(value) if Lead.objects.filter(pk=int(value)).exists() else None


def check_can_answer(agent: Agent, text: str) -> None:
    """Raises ``PlaygroundInputError`` for an empty or overlong message or a disabled agent."""
    if not text:
        raise PlaygroundInputError("message_required", _("Write the customer's message first."))
    if len(text) > MAX_MESSAGE_CHARS:
        raise PlaygroundInputError(
            "message_too_long",
            _("The message is too long (%(count)s characters; at most %(max)s).")
            % {"count": len(text), "max": MAX_MESSAGE_CHARS},
        )
    if not agent.is_active:
        raise PlaygroundInputError(
            "no_active_agent",
            _("The agent %(name)s is disabled: activate it to try it here.") % {"name": agent.name},
        )


def turn_request(agent: Agent, thread: PlaygroundThread, text: str) -> TurnRequest:
    """The turn answering ``text`` after the thread's history. Its key names the thread and
    the message's place in it, so a real run's orders are idempotent per message."""
    messages = (*thread.history, {"role": "customer", "text": text})
    position = sum(1 for m in messages if m["role"] == "customer")
    return TurnRequest(
        conversation_id=0,
        channel=CHANNEL,
        messages=tuple(ConversationMessage(m["role"], m["text"]) for m in messages),
        lead_id=thread.lead_id,
        agent_id=agent.pk,
        turn_key=f"{CHANNEL}:{thread.thread_id}:{position}",
    )


def run_metadata(result: TurnResult, thread: PlaygroundThread) -> dict[str, Any]:
    """What the page shows once the turn has ended: who answered and at what cost, the
    providers that failed before it, what the tools did, and where the run's steps are."""
    fallbacks = [
        {"provider": name, "error": error}
        for name, error in AgentStep.objects.filter(run_id=result.run_id, kind=StepKind.FALLBACK)
        .order_by("position").values_list("name", "error")
    ] if result.run_id else []
    lead_id = thread.lead_id
    for effect in result.side_effects:
        if effect.kind == "lead_updated" and effect.data.get("lead_id"):
            lead_id = effect.data["lead_id"]
    return {
        "run_id": result.run_id,
        "run_url": reverse("admin:agents_agentrun_change", args=[result.run_id]) if result.run_id else "",
        "provider": result.provider,
        "model": result.model,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost": result.cost,
        "dry_run": thread.dry_run,
        "sources": list(result.sources),
        "side_effects": [{"kind": e.kind, "data": e.data} for e in result.side_effects],
        "handoff": result.handoff,
        "handoff_reason": result.handoff_reason,
        "fallbacks": fallbacks,
        "lead_id": lead_id,
    }


def run_once(agent: Agent, thread: PlaygroundThread, text: str) -> tuple[TurnResult, dict[str, Any]]:
    """The whole turn at once (the page without JavaScript). Raises ``PlaygroundInputError``
    and whatever ``services.run_turn`` raises (``AgentError``)."""
    check_can_answer(agent, text)
    result = services.run_turn(turn_request(agent, thread, text), dry_run=thread.dry_run)
    return result, run_metadata(result, thread)


def stream_events(agent: Agent, thread: PlaygroundThread, text: str) -> Iterator[bytes]:
    """The turn as Server-Sent Events: ``progress`` (a model call starts), ``tool_call``,
    ``source``, ``answer`` (text deltas), then ``metadata`` (``run_metadata``) and ``done``
    with the reply; a turn that fails ends with ``error`` instead (``code``, ``message``, and
    the failed run's ``run_id``/``run_url`` where it was recorded)."""
    request = turn_request(agent, thread, text)
    try:
        result = yield from turn_event_frames(services.stream_turn(request, dry_run=thread.dry_run))
        metadata = run_metadata(result, thread)
    except Exception as exc:  # shown to staff on the page with the failed run's link, then logged
        logger.exception("agents.playground_stream_failed", extra={"agent_id": agent.pk})
        failed = (
            AgentRun.objects.filter(turn_key=request.turn_key).order_by("-pk").values_list("pk", flat=True).first()
        )
        yield sse("error", {
            "code": getattr(exc, "code", "internal_error"),
            "message": getattr(exc, "message", "")
            or _("The agent failed to answer: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"},
            "run_id": failed,
            "run_url": reverse("admin:agents_agentrun_change", args=[failed]) if failed else "",
        })
        return
    yield sse("metadata", metadata)
    yield sse("done", {"reply": result.reply})


def stream_response(request: HttpRequest, agent: Agent) -> StreamingHttpResponse:
    """The streamed turn for the page (POST with the form's fields). A message that cannot
    start a turn is answered 400 with a single ``error`` event."""
    thread = read_thread(request.POST)
    text = (request.POST.get("message") or "").strip()
    try:
        check_can_answer(agent, text)
    except PlaygroundInputError as exc:
        events: Iterator[bytes] = iter([sse("error", {"code": exc.code, "message": exc.message})])
        status = 400
    else:
        events = stream_events(agent, thread, text)
        status = 200
    return event_stream_response(request, events, status=status)
