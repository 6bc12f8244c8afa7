"""The dashboard's daily rollups: what the message and token-usage aggregates of a closed
day come to, so a dashboard over a year reads a few rows per conversation-day instead of
every message.

Only closed days are rolled up (``RollupState.rolled_through``); the days after it and any
day marked in ``StaleDay`` are read live from the messages and usage rows, so the figures
are always exactly what the live aggregate gives. Database triggers (migration 0001) mark
a day stale whenever a message or a token-usage row of a rolled day is written, changed or
deleted, by any code path (``bulk_create``, ``QuerySet.update``, raw SQL alike).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ConversationDay(models.Model):
    """One conversation's messages on one day (days of ``RollupState.zone``)."""

    day = models.DateField()
    conversation_id = models.BigIntegerField()
    messages_in = models.PositiveIntegerField()
    messages_out = models.PositiveIntegerField()
    first_in = models.DateTimeField(null=True)
    # The day's first outbound message that did not fail.
    first_out = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "conversation_id"], name="analytics_conversation_day")]


class UsageDay(models.Model):
    """Token usage of one day by agent, provider and model."""

    day = models.DateField(db_index=True)
    agent_id = models.BigIntegerField(null=True)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=120, blank=True)
    calls = models.PositiveIntegerField()
    prompt_tokens = models.BigIntegerField()
    completion_tokens = models.BigIntegerField()
    cost = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal(0))


class StaleDay(models.Model):
    """A UTC day whose messages or usage changed after it may have been rolled up."""

    day = models.DateField(primary_key=True)


class RollupState(models.Model):
    """One row: the zone the rollups' days belong to and the last day rolled up."""

    zone = models.CharField(max_length=64)
    rolled_through = models.DateField(null=True)
