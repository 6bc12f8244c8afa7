"""A streamed turn as Server-Sent Events: the one serialisation of ``TurnEvent``s that the
API channel's chat stream and the console's playground both send."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from agents.services import TurnEvent
from agents.turns import TurnResult

# What a client sees as the agent works; ``done`` carries the result and is the caller's to
# report (the API adds the conversation's ids, the playground the run's link).
STREAMED_KINDS = ("progress", "tool_call", "source", "answer")


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event: its name and its data as one line of JSON (UTF-8 as it is;
    decimals, dates and other values as their text)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


def turn_event_frames(events: Iterable[TurnEvent]) -> Generator[bytes, None, TurnResult | None]:
    """Each streamed event of the turn as an SSE frame, in order; returns the turn's result
    (``result = yield from turn_event_frames(stream_turn(request))``). Whatever the turn
    raises goes to the caller as it is."""
    result = None
    for event in events:
        if event.result is not None:
            result = event.result
        elif event.kind in STREAMED_KINDS:
            yield sse(event.kind, event.data)
    return result


def event_stream_response(request: HttpRequest, frames: Iterator[bytes], *, status: int = 200) -> StreamingHttpResponse:
    """The frames as a ``text/event-stream`` response that reaches the client event by
    event: Django's ``GZipMiddleware`` would hold every frame in its compressor until the
    stream ends (a browser always accepts gzip), so the request is answered as if it
    accepted no encoding; nginx is asked not to buffer either."""
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    response = StreamingHttpResponse(frames, content_type="text/event-stream", status=status)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
