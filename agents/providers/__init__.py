"""LLM providers behind one interface (``Provider.chat``); see ``agents.services`` for the chain."""

from agents.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Provider,
    ToolCall,
)

__all__ = ["ChatMessage", "ChatRequest", "ChatResponse", "Provider", "ToolCall"]
