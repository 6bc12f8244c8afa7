"""The demo store's agent: a Sales agent, the store's default, on the offline responder
unless a provider is configured (idempotent)."""

from __future__ import annotations

from agents import services
from agents.models import Agent

DEMO_AGENT_NAME = "Sales"


def populate() -> Agent:
    """The demo's default Sales agent; created once, then left as staff changed it."""
    agent = Agent.objects.filter(name=DEMO_AGENT_NAME).first()
    if agent is None:
        agent = services.create_agent_from_template(
            "sales", name=DEMO_AGENT_NAME, make_default=not Agent.objects.filter(is_default=True).exists()
        )
        from knowledge.models import Collection

        # Explicitly all of the demo's collections, so staff see what it reads.
        agent.knowledge_collections.set(Collection.objects.all())
    return agent
