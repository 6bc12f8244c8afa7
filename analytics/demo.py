"""The demo store's dashboard: roll up its closed days, as beat does every ten minutes."""

from __future__ import annotations


def populate() -> None:
    """Idempotent: a second run rolls up nothing new."""
    from analytics.services import refresh_rollups

    refresh_rollups()
