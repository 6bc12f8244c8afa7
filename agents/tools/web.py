"""Tools that reach beyond the store's data: web search, a calculator, and the store's own
HTTP/webhook tools (guarded against requests to private networks)."""

from __future__ import annotations

import ast
import hashlib
import hmac
import ipaddress
import json
import logging
import operator
import socket
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from agents.tools.base import Tool, ToolContext, ToolFailed
from agents.turns import SideEffect

logger = logging.getLogger(__name__)
RESPONSE_MAX_CHARS = 4000


# --- calculator: arithmetic from an AST walk, never eval ----------------------------------

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"round": round, "abs": abs, "min": min, "max": max, "sqrt": lambda x: x.sqrt()}
EXPRESSION_MAX_CHARS = 200
POWER_MAX = 100


def _evaluate(node: ast.AST) -> Decimal:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Decimal(str(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > POWER_MAX:
            raise ToolFailed(f"Exponents above {POWER_MAX} are not supported.")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords and node.args):
        values = [_evaluate(a) for a in node.args]
        if node.func.id == "round":
            places = int(values[1]) if len(values) > 1 else 0
            return values[0].quantize(Decimal(1).scaleb(-places))
        return Decimal(_FUNCTIONS[node.func.id](*values))
    raise ToolFailed(
        "Only numbers, + - * / // % **, parentheses and round, abs, min, max, sqrt are allowed."
    )


def calculate(expression: str) -> Decimal:
    """The value of an arithmetic expression (Decimal, so 0.1 + 0.2 is 0.3). Raises ``ToolFailed``."""
    text = expression.replace(",", ".") if expression.count(",") and "(" not in expression else expression
    if len(text) > EXPRESSION_MAX_CHARS:
        raise ToolFailed(f"The expression is longer than {EXPRESSION_MAX_CHARS} characters.")
    try:
        tree = ast.parse(text.replace("^", "**").replace("×", "*").replace("÷", "/"), mode="eval")
    except SyntaxError as exc:
        raise ToolFailed(f"Not an arithmetic expression: {exc.msg}.") from exc
    try:
        value = _evaluate(tree)
    except (DivisionByZero, ZeroDivisionError) as exc:
        raise ToolFailed("Division by zero.") from exc
    except InvalidOperation as exc:
        raise ToolFailed("The expression has no numeric value (e.g. the square root of a negative).") from exc
    if not value.is_finite():
        raise ToolFailed("The result is not a finite number.")
    return value


def _calculator(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    value = calculate(args["expression"])
    if value == value.to_integral_value():
        value = value.to_integral_value()
    else:
        try:
            value = value.quantize(Decimal("1e-10")).normalize()
        except InvalidOperation:  # too many digits to round: shown as computed
            pass
    return {"expression": args["expression"], "result": format(value, "f")}


# --- web search through a SearXNG-style JSON API ----------------------------------------


def _web_search(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    base = settings.AGENTS_WEB_SEARCH_URL
    if not base:
        raise ToolFailed("Web search is not configured for this store; answer from the store's own information.")
    params = {"q": args["query"], "format": "json"}
    if args.get("language"):
        params["language"] = args["language"]
    try:
        response = httpx.get(
            f"{base.rstrip('/')}/search", params=params, timeout=settings.AGENTS_WEB_SEARCH_TIMEOUT,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        results = response.json().get("results") or []
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("agents.web_search_failed", extra={"error": str(exc)})
        raise ToolFailed(f"The web search is unavailable right now ({type(exc).__name__}).") from exc
    limit = int(args.get("limit", 5))
    found = [
        {"title": r.get("title", ""), "url": r.get("url", ""), "snippet": (r.get("content") or "")[:500]}
        for r in results[:limit] if isinstance(r, dict)
    ]
    ctx.sources.extend(r["url"] for r in found if r["url"])
    return {"results": found}


# --- the store's HTTP and webhook tools --------------------------------------------------


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified)


def guarded_url(url: str, allowed_hosts: list[str]) -> tuple[str, dict[str, str]]:
    """The URL to call and the Host header to send, refusing private, loopback and
    link-local addresses unless the host is allowed explicitly.

    For plain http the request goes to the address that was checked (no second DNS answer
    can point it elsewhere); https keeps the name for its certificate.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ToolFailed(f"The tool's URL {url!r} is not an http(s) URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ToolFailed(f"The host {host} of the tool's URL does not resolve.") from exc
    addresses = sorted({info[4][0] for info in infos})
    allowed = {h.strip().lower() for h in allowed_hosts if isinstance(h, str)}
    if host.lower() not in allowed and not all(_is_public(a) for a in addresses):
        raise ToolFailed(
            f"Refused: {host} is a private, loopback or link-local address; the store must allow this host "
            "explicitly in the tool's allowed private hosts."
        )
    if parts.scheme == "https":
        return url, {}
    address = addresses[0]
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), {"Host": parts.netloc}


def _store_tool_runner(tool_id: int):
    def run(ctx: ToolContext, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        from agents.models import HttpTool, HttpToolKind
        from agents.vault import get_credential

        spec = HttpTool.objects.get(pk=tool_id)
        if ctx.dry_run and spec.writes:
            return {"dry_run": True, "would_call": f"{'POST' if spec.kind == HttpToolKind.WEBHOOK else spec.method} {spec.url}",
                    "arguments": args}
        headers = {"Accept": "application/json", "User-Agent": "Atendo-Agent/1", **(spec.headers or {})}
        for header, credential in (spec.secret_headers or {}).items():
            headers[header] = get_credential("other", credential, purpose=f"header {header} of tool {spec.name}")
        url, host_header = guarded_url(spec.url, spec.allowed_private_hosts or [])
        headers.update(host_header)
        if spec.kind == HttpToolKind.WEBHOOK:
            method = "POST"
            body = {"tool": spec.name, "call_id": call_id, "arguments": args,
                    "conversation_id": ctx.request.conversation_id, "channel": ctx.request.channel,
                    "lead_id": ctx.lead_id, "agent_id": ctx.agent.pk}
        else:
            method, body = spec.method, args
        content = json.dumps(body, ensure_ascii=False, default=str).encode() if method != "GET" else None
        if content is not None:
            headers["Content-Type"] = "application/json"
            secret = _signing_secret(spec.name) if spec.kind == HttpToolKind.WEBHOOK else ""
            if secret:
                headers["X-Atendo-Signature"] = "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
        try:
            response = httpx.request(
                method, url, params=args if method == "GET" else None, content=content, headers=headers,
                timeout=spec.timeout_seconds, follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise ToolFailed(f"{spec.name} could not be reached ({type(exc).__name__}); try later or hand off.") from exc
        if response.is_redirect:
            raise ToolFailed(f"{spec.name} answered with a redirect, which tools do not follow.")
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text[:RESPONSE_MAX_CHARS]
        if len(json.dumps(payload, default=str)) > RESPONSE_MAX_CHARS:
            payload = json.dumps(payload, default=str)[:RESPONSE_MAX_CHARS] + "…"
        if response.status_code >= 400:
            raise ToolFailed(f"{spec.name} answered HTTP {response.status_code}: {str(payload)[:500]}")
        if spec.writes:
            ctx.side_effects.append(SideEffect("store_tool_called", {"tool": spec.name, "status": response.status_code}))
        return {"status": response.status_code, "response": payload}

    return run


def _signing_secret(tool_name: str) -> str:
    """The webhook's signing secret: credential ``other/tool:<name>`` when the store set one."""
    from agents.errors import CredentialMissing
    from agents.vault import get_credential

    try:
        return get_credential("other", f"tool:{tool_name}")
    except CredentialMissing:
        return ""


def store_tools(names: list[str]) -> dict[str, Tool]:
    """The store's active HTTP/webhook tools among ``names``, as registry tools."""
    from agents.models import HttpTool

    if not names:
        return {}
    return {
        t.name: Tool(
            t.name, t.description,
            t.parameters or {"type": "object", "properties": {}},
            _store_tool_runner(t.pk), writes=t.writes,
        )
        for t in HttpTool.objects.filter(name__in=names, is_active=True)
    }


TOOLS = [
    Tool(
        "web_search",
        "Search the web (for facts outside the store, e.g. a brand's sizing chart). Returns titles, "
        "URLs and snippets; cite the URL you use.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 2, "maxLength": 300},
                "language": {"type": "string", "maxLength": 10},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        _web_search,
    ),
    Tool(
        "calculator",
        "Exact arithmetic: totals, installments, discounts (e.g. \"3 * 99.90 * 0.9\", \"round(259.7 / 3, 2)\").",
        {
            "type": "object",
            "properties": {"expression": {"type": "string", "minLength": 1, "maxLength": EXPRESSION_MAX_CHARS}},
            "required": ["expression"],
            "additionalProperties": False,
        },
        _calculator,
    ),
]
