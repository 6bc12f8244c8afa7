"""Knowledge search: passages of the collections the agent may read, with their sources."""

from __future__ import annotations

import logging
from typing import Any

from agents.tools.base import Tool, ToolContext
from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)


def search_knowledge(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    from knowledge.search import search

    collections = getattr(ctx.agent, "knowledge_collection_ids", None)  # read with the agent for a turn
    if collections is None:
        collections = list(ctx.agent.knowledge_collections.values_list("pk", flat=True)) if ctx.agent.pk else []
    collections = [pk for pk in collections if pk is not None]
    top_k = int(args.get("top_k", 3))
    config = getattr(ctx.agent, "search_config", None)  # read with the agent for a turn
    try:
        hits = search(args["query"], top_k=top_k, collection_ids=collections, config=config)
    except KnowledgeError as exc:
        # The embedder is down: words still find passages.
        logger.warning("agents.knowledge_search_fulltext_only", extra={"error": str(exc)})
        hits = search(args["query"], top_k=top_k, collection_ids=collections, mode="fulltext", config=config)
    return {
        "passages": [
            {
                "text": h.text,
                "source": h.source,
                "score": h.score,
                "similarity": None if h.similarity is None else round(h.similarity, 4),
                "shares_words": h.text_rank is not None,
            }
            for h in hits
        ]
    }


TOOLS = [
    Tool(
        "search_knowledge",
        "Search the store's knowledge base (policies, FAQ, manuals). Quote what you use and cite its source.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 2},
                "top_k": {"type": "integer", "minimum": 1, "maximum": 8},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        search_knowledge,
    ),
]
