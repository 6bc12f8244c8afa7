"""The tools an agent may call: JSON-schema arguments, validated before anything runs.

Every tool calls another app's services (never its models' ``save``). A tool's failure is
an answer to the model (``ToolOutcome.ok`` false, with a message it can act on), never an
exception to the customer. Tools run in the current store's schema and reach nothing else.
Besides the built-in tools below, a store defines its own HTTP/webhook tools
(``agents.models.HttpTool``), enabled on an agent by name like any other.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from agents.errors import AgentError
from agents.tools import catalog, knowledge, leads, orders, web
from agents.tools.base import Tool, ToolContext, ToolFailed, ToolOutcome
from agents.tools.leads import handoff
from agents.tools.orders import order_idempotency_key
from catalog.errors import CatalogError
from knowledge.errors import KnowledgeError
from leads.errors import LeadError
from orders.errors import OrderError

# What a failing service may raise; anything else is a bug and propagates.
DOMAIN_ERRORS = (CatalogError, OrderError, LeadError, KnowledgeError, AgentError)

_TOOLS: list[Tool] = [
    *catalog.TOOLS, *knowledge.TOOLS, *leads.TOOLS[:3], *orders.TOOLS, *leads.TOOLS[3:], *web.TOOLS,
]
TOOLS: dict[str, Tool] = {t.name: t for t in _TOOLS}
BUILTIN_TOOL_NAMES = frozenset(TOOLS)
_VALIDATORS = {t.name: Draft202012Validator(t.parameters) for t in _TOOLS}
# Former names, still answered when a model (or a stored agent) uses them.
TOOL_ALIASES = {"handoff": "human_handoff", "get_product": "get_product_details"}


def load_store_tools(names: list[str]) -> dict[str, Tool]:
    """The store's own tools among ``names`` (one query; none when all are built in)."""
    wanted = [n for n in names if n not in TOOLS and n not in TOOL_ALIASES]
    return web.store_tools(wanted) if wanted else {}


def known_tool_names() -> list[str]:
    """Built-in tools and the store's active HTTP/webhook tools, for validation and forms."""
    from agents.models import HttpTool

    return [*TOOLS, *HttpTool.objects.filter(is_active=True).values_list("name", flat=True)]


def specs(names: list[str], store_tools: dict[str, Tool] | None = None) -> tuple[dict[str, Any], ...]:
    """The wire specs of the enabled tools that exist: built-ins in registry order, then
    the store's own tools."""
    own = store_tools if store_tools is not None else load_store_tools(names)
    return tuple(t.spec for t in _TOOLS if t.name in names) + tuple(
        own[n].spec for n in names if n in own
    )


def _tool(ctx: ToolContext, name: str) -> Tool | None:
    if name not in (ctx.agent.enabled_tools or []):
        return None
    return TOOLS.get(name) or ctx.store_tools.get(name)


def execute_builtin(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> ToolOutcome:
    """Run a built-in tool for the loop itself (not a model's call): the agent need not
    have it enabled. Domain errors come back as ``ok=False`` like ``execute``."""
    try:
        return ToolOutcome(True, TOOLS[name].run(ctx, arguments, f"loop-{name}"))
    except ToolFailed as exc:
        return ToolOutcome(False, {"error": str(exc)})
    except DOMAIN_ERRORS as exc:
        return ToolOutcome(False, {"error": exc.message, "code": exc.code})


def execute(ctx: ToolContext, name: str, raw_arguments: str | dict, call_id: str) -> ToolOutcome:
    """Validate the model's arguments and run the tool.

    Unknown or disabled tool, unreadable JSON, arguments against the schema and domain
    errors of the services come back as ``ok=False`` with a message for the model.
    """
    tool = _tool(ctx, name) or (_tool(ctx, TOOL_ALIASES[name]) if name in TOOL_ALIASES else None)
    if tool is None:
        allowed = ", ".join(n for n in ctx.agent.enabled_tools or [] if n in TOOLS or n in ctx.store_tools)
        return ToolOutcome(False, {"error": f"There is no tool {name!r}. Available: {allowed}."})
    if isinstance(raw_arguments, dict):
        args = raw_arguments
    else:
        try:
            args = json.loads(raw_arguments or "{}")
        except ValueError as exc:
            return ToolOutcome(False, {"error": f"The arguments are not valid JSON ({exc}). Send a JSON object."})
    if not isinstance(args, dict):
        return ToolOutcome(False, {"error": "The arguments must be a JSON object."})
    validator = _VALIDATORS.get(tool.name) or Draft202012Validator(tool.parameters)
    problems = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
    if problems:
        details = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}" for e in problems[:5]
        )
        return ToolOutcome(False, {"error": f"Invalid arguments for {tool.name}: {details}. Fix them and call again."})
    try:
        return ToolOutcome(True, tool.run(ctx, args, call_id))
    except ToolFailed as exc:
        return ToolOutcome(False, {"error": str(exc)})
    except DOMAIN_ERRORS as exc:
        return ToolOutcome(False, {"error": exc.message, "code": exc.code})


__all__ = [
    "BUILTIN_TOOL_NAMES",
    "DOMAIN_ERRORS",
    "TOOLS",
    "Tool",
    "ToolContext",
    "ToolFailed",
    "ToolOutcome",
    "execute",
    "execute_builtin",
    "handoff",
    "known_tool_names",
    "load_store_tools",
    "order_idempotency_key",
    "specs",
]
