"""Who is acting right now: the request's user or API key, the agent, or the system.

The request is kept in a context variable by ``audit.middleware.AuditContextMiddleware``;
the actor is read from it when a change is recorded, because DRF authenticates (and sets
``request.user`` to the API key) only inside the view. Celery tasks set their own actor
(``audit.recorder``), and code may name one explicitly with ``acting_as``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from audit.models import ActorKind

_request: ContextVar[object | None] = ContextVar("audit_request", default=None)
_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    label: str = ""
    source: str = ""

    @property
    def is_person_or_key(self) -> bool:
        """Staff and API keys have every change recorded; agents and tasks only their side effects."""
        return self.kind in (ActorKind.USER, ActorKind.API_KEY)


SYSTEM = Actor(ActorKind.SYSTEM, label="system")


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    """Record changes made inside the block as ``actor``'s (``None``: nobody in particular)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def serving(request) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def _source(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/webhooks/"):
        return "webhook"
    return "web"


def _request_actor(request) -> Actor | None:
    from tenants.api.authentication import ApiKeyUser

    # DRF sets the HttpRequest's user once the view has authenticated it (API key or session).
    user = getattr(request, "user", None)
    source = _source(request.path)
    if isinstance(user, ApiKeyUser):
        key = user.api_key
        return Actor(ActorKind.API_KEY, key.prefix, f"{key.name} (atd_{key.prefix}_…)", source)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(ActorKind.USER, str(user.pk), user.get_username(), source)
    return Actor(ActorKind.SYSTEM, "", f"{request.method} {request.path}"[:200], source)


def current_actor() -> Actor | None:
    """The explicit actor, else the request's, else ``None`` (a command, a test, a shell)."""
    actor = _actor.get()
    if actor is not None:
        return actor
    request = _request.get()
    if request is not None:
        return _request_actor(request)
    return None

