"""Reads of the knowledge base."""

from __future__ import annotations


def store_embedder_override() -> str | None:
    """The embedder the current store chose instead of the settings default, if any."""
    return None
