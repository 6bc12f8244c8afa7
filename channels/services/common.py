"""Helpers the pipeline's steps share: enqueue on commit in the store's schema, event bodies."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from channels.models import (
    Channel,
    Message,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnqueueOnCommit:
    """An on-commit callback that enqueues a task in the store's schema (named explicitly:
    the callback may run after the connection has moved on). Tests read ``task_name``."""

    task: Any
    args: list
    countdown: float
    schema: str
    queue: str | None = None  # None: the task's own queue

    @property
    def task_name(self) -> str:
        return self.task.name

    def __call__(self) -> None:
        options = {"queue": self.queue} if self.queue else {}
        self.task.apply_async(args=self.args, countdown=self.countdown, headers={"_schema_name": self.schema},
                              **options)


def _on_commit_enqueue(task, args: list, *, countdown: float = 0, queue: str | None = None) -> None:
    """Enqueue ``task`` once the current transaction commits (never on rollback)."""
    transaction.on_commit(EnqueueOnCommit(task, list(args), countdown, connection.schema_name, queue))


def _message_event(message: Message, channel: Channel) -> dict:
    return {
        "message_id": message.pk, "conversation_id": message.conversation_id, "channel_id": channel.pk,
        "channel": channel.kind, "direction": message.direction, "text": message.text,
        "media_type": message.media_type, "status": message.status, "error": message.error,
        "provider_message_id": message.provider_message_id,
    }
