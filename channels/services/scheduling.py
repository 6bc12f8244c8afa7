"""Fairness between stores: each store has at most ``CHANNELS_MAX_TURNS_PER_STORE`` agent
turns on the broker or running at once; its other turns wait in the database.

So one store's flood (a broadcast campaign's answers) never fills the ``agent_turns``
queue: another store's turn is queued behind at most a cap's worth of each store's
turns, not behind the flood. A finished turn dispatches the store's next one; a beat
sweep re-dispatches what a lost task left waiting.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels.models import ConversationTurn, TurnStatus
from channels.services.common import _on_commit_enqueue

logger = logging.getLogger(__name__)

_UNFINISHED = (TurnStatus.PENDING, TurnStatus.RUNNING)


def lock_store_turns() -> None:
    """Serialise the store's turn scheduling until the transaction ends (an advisory lock
    keyed by the schema: other stores are not blocked)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"channels.turns:{connection.schema_name}"])


def _in_flight(now) -> Q:
    """Turns holding one of the store's slots: enqueued or started within the lease (an
    older one lost its task or worker and is dispatched again)."""
    lease_start = now - timedelta(seconds=settings.CHANNELS_TURN_LEASE_SECONDS)
    return Q(status__in=_UNFINISHED) & (
        Q(dispatched_at__gte=lease_start) | Q(status=TurnStatus.RUNNING, started_at__gte=lease_start)
    )


def dispatch_turns(*, now=None) -> list[int]:
    """Enqueue the store's waiting turns into its free slots, oldest first, at most one per
    conversation (its turns run one at a time anyway). Returns the dispatched turn ids.

    Idempotent and safe to call from anywhere, any number of times (a closed burst, a
    finished turn, the beat sweep): it takes the store's scheduling lock, and a turn
    dispatched twice still runs once (``run_turn`` claims it under a lease).
    """
    from channels import tasks

    now = now or timezone.now()
    cap = settings.CHANNELS_MAX_TURNS_PER_STORE
    with transaction.atomic():
        lock_store_turns()
        in_flight = ConversationTurn.objects.filter(_in_flight(now))
        slots = cap - in_flight.count() if cap > 0 else None
        if slots is not None and slots <= 0:
            return []
        first_waiting_per_conversation = (
            ConversationTurn.objects.filter(status__in=_UNFINISHED).exclude(_in_flight(now))
            .exclude(conversation_id__in=in_flight.values("conversation_id"))
            .order_by("conversation_id", "pk").distinct("conversation_id").values("pk")
        )
        # A turn locked elsewhere (being claimed) is skipped, never waited for.
        chosen = list(
            ConversationTurn.objects.filter(pk__in=first_waiting_per_conversation)
            .order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:slots]
        )
        if not chosen:
            return []
        ConversationTurn.objects.filter(pk__in=chosen).update(dispatched_at=now)
        queue = settings.CHANNELS_TURN_QUEUE
        for turn_id in chosen:
            _on_commit_enqueue(tasks.run_conversation_turn, [turn_id], queue=queue)
    logger.info("channels.turns.dispatched", extra={"turns": len(chosen), "cap": cap})
    return chosen


def waiting_turns() -> int:
    """Turns of the store waiting for a slot (for the admin and the sweep)."""
    return ConversationTurn.objects.filter(status__in=_UNFINISHED).exclude(_in_flight(timezone.now())).count()
