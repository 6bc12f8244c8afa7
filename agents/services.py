"""The agent's state changes and its turn: ``run_turn(TurnRequest) -> TurnResult``.

A turn: pick the agent, apply its handoff rules, build the prompt (system prompt, store
facts, the lead's profile, the memory window), then loop model → tool calls → results
until a final answer or the iteration limit, falling back along the agent's provider
chain (the offline responder last) when a provider is down. Every model call is recorded
as token usage and every call and tool call as a step of the turn's ``AgentRun``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from agents import tools
from agents.agent_templates import TEMPLATES
from agents.errors import (
    AgentNotFound,
    CredentialMissing,
    CredentialUnreadable,
    InvalidAgent,
    NoActiveAgent,
    ProviderError,
    ProviderUnavailable,
    RunNotFound,
    UnknownProvider,
    UnknownTemplate,
)
from agents.models import (
    Agent,
    AgentRun,
    AgentStep,
    ConversationOutcome,
    Credential,
    CredentialCategory,
    KnowledgePolicy,
    ModelPrice,
    ProviderKind,
    Rating,
    ReplyRating,
    RunStatus,
    StepKind,
    TokenUsage,
)
from agents.pricing import DEFAULT_PRICES, MILLION, prices_for
from agents.providers.base import ChatMessage, ChatRequest, ChatResponse, Provider
from agents.providers.offline import (
    OfflineResponder,
    StoreFacts,
    cite,
    content_words,
    latest_question,
    phrase,
    words,
)
from agents.turns import ConversationMessage, TurnRequest, TurnResult

logger = logging.getLogger(__name__)

STORE_FACT_FIELDS = (
    ("company_name", "Store"),
    ("address", "Address"),
    ("opening_hours", "Opening hours"),
    ("contact_phone", "Phone"),
    ("contact_email", "E-mail"),
    ("website", "Website"),
    ("shipping_policy", "Shipping"),
    ("returns_policy", "Returns and exchanges"),
    ("payment_policy", "Payment"),
)


# The customer's latest burst is at the end of the messages; a long history is not scanned.
LATEST_QUESTION_SCAN = 50
# Embed the customer's question in the background as the turn starts (``benchmarks/agent_turn.py``).
PREFETCH_QUERY_EMBEDDING = True


# --- agents -----------------------------------------------------------------------------


def create_agent_from_template(
    template: str,
    *,
    name: str | None = None,
    provider: str = ProviderKind.OFFLINE,
    model: str = "",
    make_default: bool = False,
) -> Agent:
    """A new agent from the ``sales``, ``support`` or ``leads`` template.

    The name defaults to the template's, with " 2", " 3"... when taken. Raises
    ``UnknownTemplate``. ``make_default`` makes it the store's default agent.
    """
    spec = TEMPLATES.get(template)
    if spec is None:
        raise UnknownTemplate(f"No agent template {template!r}; choose one of {', '.join(TEMPLATES)}.", field="template")
    base = name or spec.name
    candidate, n = base, 1
    while Agent.objects.filter(name=candidate).exists():
        n += 1
        candidate = f"{base} {n}"
    agent = Agent.objects.create(
        name=candidate,
        role=spec.role,
        system_prompt=spec.system_prompt,
        provider=provider,
        model=model,
        temperature=spec.temperature,
        enabled_tools=list(spec.tools),
    )
    if make_default:
        set_default_agent(agent.pk)
        agent.refresh_from_db()
    logger.info("agents.agent_created", extra={"agent_id": agent.pk, "template": template})
    return agent


AGENT_FIELDS = (
    "name", "role", "system_prompt", "provider", "model", "base_url", "credential_name", "fallbacks",
    "temperature", "max_tokens", "max_tool_iterations", "memory_window", "enabled_tools", "knowledge_policy",
    "handoff_keywords",
    "handoff_on_failure", "is_active",
    "burst_seconds", "burst_max_wait_seconds", "burst_max_messages", "burst_separator",
)


def _save_agent(agent: Agent, fields: dict[str, Any]) -> Agent:
    unknown = set(fields) - {*AGENT_FIELDS, "knowledge_collections", "is_default"}
    if unknown:
        raise InvalidAgent(f"Unknown agent field(s): {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    collections = fields.pop("knowledge_collections", None)
    make_default = fields.pop("is_default", None)
    for name, value in fields.items():
        setattr(agent, name, value)
    try:
        agent.full_clean(exclude=["is_default"])
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise InvalidAgent(f"{field_name}: {' '.join(messages)}", field=field_name) from exc
    with transaction.atomic():
        agent.save()
        if collections is not None:
            agent.knowledge_collections.set(collections)
        if make_default:
            set_default_agent(agent.pk)
        elif make_default is False and agent.is_default:
            Agent.objects.filter(pk=agent.pk).update(is_default=False)
    agent.refresh_from_db()
    return agent


def create_agent(**fields: Any) -> Agent:
    """A new agent from explicit settings (unset ones take the model's defaults).
    Raises ``InvalidAgent`` naming the first bad field (a taken name included)."""
    agent = _save_agent(Agent(), dict(fields))
    logger.info("agents.agent_created", extra={"agent_id": agent.pk, "template": ""})
    return agent


def update_agent(agent_id: int, **fields: Any) -> Agent:
    """Change some settings of an agent. Raises ``AgentNotFound`` / ``InvalidAgent``."""
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is None:
        raise AgentNotFound(f"No agent with id {agent_id}.", field="agent_id")
    return _save_agent(agent, dict(fields))


def delete_agent(agent_id: int) -> None:
    """Delete an agent; its runs, usage and ratings stay (without it). Raises ``AgentNotFound``."""
    deleted, _ = Agent.objects.filter(pk=agent_id).delete()
    if not deleted:
        raise AgentNotFound(f"No agent with id {agent_id}.", field="agent_id")


def rate_reply(run_id: int, rating: str, *, comment: str = "", by: str) -> ReplyRating:
    """Record ``by``'s verdict (good/bad + comment) on the reply of one run; rating the same
    run again replaces that rater's verdict. Raises ``RunNotFound``."""
    if rating not in Rating.values:
        raise InvalidAgent(f"rating must be one of {', '.join(Rating.values)}.", field="rating")
    run = AgentRun.objects.filter(pk=run_id).only("pk", "agent_id").first()
    if run is None:
        raise RunNotFound(f"No agent run with id {run_id}.", field="run_id")
    rated, _ = ReplyRating.objects.update_or_create(
        run=run, rated_by=by[:150], defaults={"agent_id": run.agent_id, "rating": rating, "comment": comment},
    )
    logger.info("agents.reply_rated", extra={"run_id": run.pk, "agent_id": run.agent_id, "rating": rating})
    return rated


def add_model(provider: str, model: str, *, context_window: int = 0, prompt_price_per_million: Decimal = Decimal(0),
              completion_price_per_million: Decimal = Decimal(0)) -> tuple[ModelPrice, bool]:
    """Add a model to the store's catalog, or update its context size and prices.
    Returns the row and whether it is new. Idempotent."""
    if provider not in ProviderKind.values:
        raise UnknownProvider(f"Unknown provider {provider!r}; expected one of {', '.join(ProviderKind.values)}.",
                              field="provider")
    row, created = ModelPrice.objects.update_or_create(
        provider=provider, model=model.strip(),
        defaults={"context_window": context_window, "prompt_price_per_million": prompt_price_per_million,
                  "completion_price_per_million": completion_price_per_million},
    )
    return row, created


def set_default_agent(agent_id: int) -> Agent:
    """Make this agent the store's default (and active); the previous default stops being it."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None:
            raise AgentNotFound(f"No agent with id {agent_id}.", field="agent_id")
        Agent.objects.filter(is_default=True).exclude(pk=agent_id).update(is_default=False)
        Agent.objects.filter(pk=agent_id).update(is_default=True, is_active=True)
    agent.refresh_from_db()
    return agent


def ensure_default_agent() -> Agent:
    """The store's default agent, creating a Sales agent on the offline responder when the
    store has no agent at all (so a fresh store answers). Safe under concurrent calls."""
    agent = Agent.objects.filter(is_default=True).first()
    if agent is not None:
        return agent
    if Agent.objects.exists():
        raise NoActiveAgent("The store has agents but none is the default.")
    try:
        with transaction.atomic():
            return create_agent_from_template("sales", make_default=True)
    except IntegrityError:
        return Agent.objects.get(is_default=True)


def agent_for_turn(agent_id: int | None, *, lead_id: int | None = None) -> Agent:
    """The agent a turn names (it must be active), else the store's default active agent.
    Raises ``AgentNotFound`` / ``NoActiveAgent``.

    What a turn reads with its agent comes in the same query, as attributes of it:
    ``knowledge_collection_ids`` (what its knowledge search may read), ``llm_ciphertext``
    (its provider's API key as stored in the vault, None when there is none),
    ``model_prices`` (the store's prices of its model, None when it lists none),
    ``store_profile`` (the store facts, None before the store saved a profile),
    ``search_config`` (the store's knowledge search settings) and, with ``lead_id``,
    ``lead_profile_summary`` (the lead's stored profile summary, else one built from its
    timeline as ``leads.services.current_profile_summary`` does; "" for no such lead)."""
    if agent_id is not None:
        agent = _agent_with_turn_context("a.id = %s", [agent_id], lead_id)
        if agent is None:
            raise AgentNotFound(f"No agent with id {agent_id}.", field="agent_id")
        if not agent.is_active:
            raise NoActiveAgent(f"Agent {agent.name!r} is not active.", field="agent_id")
        return agent
    agent = _agent_with_turn_context("a.is_active", [], lead_id, order="a.is_default DESC, a.name ASC")
    if agent is not None:
        return agent
    if not Agent.objects.exists():
        ensure_default_agent()
        return agent_for_turn(None, lead_id=lead_id)
    raise NoActiveAgent("The store has no active agent.")


def _agent_with_turn_context(where: str, params: list, lead_id: int | None, *, order: str = "a.id") -> Agent | None:
    """One agent with what its turn reads, in one statement written out (the ORM spent
    several milliseconds compiling it on every turn)."""
    from catalog.models import StoreProfile
    from knowledge.selectors import search_config_from, search_config_sql
    from leads.services import profile_summary_from, profile_summary_sql

    lead = profile_summary_sql() if lead_id is not None else "NULL"
    sql = (
        "SELECT a.*, "
        f"ARRAY(SELECT collection_id FROM {Agent.knowledge_collections.through._meta.db_table} "
        "WHERE agent_id = a.id) AS knowledge_collection_ids, "
        f"(SELECT ciphertext FROM {Credential._meta.db_table} WHERE category = %s "
        "AND name = coalesce(nullif(a.credential_name, ''), a.provider)) AS llm_ciphertext, "
        "(SELECT ARRAY[prompt_price_per_million, completion_price_per_million] "
        f"FROM {ModelPrice._meta.db_table} WHERE provider = a.provider AND model = a.model) AS model_prices, "
        f"(SELECT to_jsonb(p) FROM {StoreProfile._meta.db_table} AS p WHERE p.id = %s) AS store_profile, "
        f"{lead} AS lead_profile, "
        f"{search_config_sql()} AS search_config "
        f"FROM {Agent._meta.db_table} AS a WHERE {where} ORDER BY {order} LIMIT 1"
    )
    args = [CredentialCategory.LLM, StoreProfile.SINGLETON_PK, *([lead_id] if lead_id is not None else []), *params]
    agent = next(iter(Agent.objects.raw(sql, args)), None)
    if agent is not None:
        if isinstance(agent.store_profile, str):  # jsonb arrives as text
            agent.store_profile = json.loads(agent.store_profile)
        agent.search_config = search_config_from(agent.search_config)
        agent.lead_profile_summary = profile_summary_from(agent.lead_profile) if lead_id is not None else None
    return agent


# --- providers --------------------------------------------------------------------------


def store_facts() -> StoreFacts:
    from catalog.selectors import get_store_profile

    profile = get_store_profile()
    return _facts_of({f: getattr(profile, f) for f in ("language", *(f for f, _ in STORE_FACT_FIELDS))})


def _facts_of(profile: dict[str, Any]) -> StoreFacts:
    facts = tuple((f, str(profile.get(f) or "").strip()) for f, _ in STORE_FACT_FIELDS)
    return StoreFacts(language=profile.get("language") or "pt", facts=tuple(x for x in facts if x[1]))


def build_provider(agent: Agent, kind: str, model: str, *, facts: StoreFacts | None = None) -> Provider:
    """The provider ``kind`` for ``agent``. Raises ``CredentialMissing`` when the store's vault
    has no API key for it, ``UnknownProvider`` for a kind we do not speak."""
    if kind == ProviderKind.OFFLINE:
        return OfflineResponder(store=facts or store_facts(), min_similarity=settings.AGENTS_OFFLINE_MIN_SIMILARITY)
    if kind == ProviderKind.OPENAI:
        from agents.providers.openai_compat import OpenAICompatibleProvider

        credential = agent.credential_name or kind
        purpose = f"API key of agent {agent.name!r} ({kind}:{model})"
        api_key = _api_key(getattr(agent, "llm_ciphertext", None) if kind == agent.provider else None, credential, purpose)
        return OpenAICompatibleProvider(
            base_url=agent.base_url or settings.AGENTS_OPENAI_BASE_URL,
            api_key=api_key,
            model=model,
            timeout=settings.AGENTS_LLM_TIMEOUT,
            max_retries=settings.AGENTS_LLM_MAX_RETRIES,
            backoff=settings.AGENTS_LLM_BACKOFF,
        )
    if kind == ProviderKind.OLLAMA:
        from agents.providers.ollama_api import OllamaProvider

        return OllamaProvider(
            host=agent.base_url or settings.AGENTS_OLLAMA_HOST,
            model=model,
            timeout=settings.AGENTS_LLM_TIMEOUT,
            max_retries=settings.AGENTS_LLM_MAX_RETRIES,
            backoff=settings.AGENTS_LLM_BACKOFF,
        )
    raise UnknownProvider(f"Unknown provider {kind!r}; expected one of {', '.join(ProviderKind.values)}.", field="provider")


# Decrypted API keys by the ciphertext a turn read with its agent (see ``agent_for_turn``).
# A secret stored again, rotated or deleted is a new ciphertext (Fernet tokens never repeat)
# or none, so an entry is never stale; the vault's keys are part of the key, so removing a
# key from settings makes its secrets unreadable here too.
_api_keys: dict[tuple[str, tuple[str, ...], str, str], str] = {}
_API_KEYS_KEPT = 256


def _api_key(ciphertext: str | None, credential: str, purpose: str) -> str:
    from agents.vault import get_credential

    if ciphertext is None:
        return get_credential("llm", credential, purpose=purpose)
    key = (connection.schema_name, tuple(getattr(settings, "CREDENTIALS_KEYS", []) or ()), settings.SECRET_KEY,
           ciphertext)
    api_key = _api_keys.get(key)
    if api_key is None:
        # Read and decrypted by the vault (its errors as they are); a secret replaced since
        # the agent was read gives the newer one, as reading it only now always did.
        api_key = get_credential("llm", credential, purpose=purpose)
        if len(_api_keys) >= _API_KEYS_KEPT:
            _api_keys.clear()
        _api_keys[key] = api_key
    return api_key


def provider_chain(agent: Agent) -> list[tuple[str, str]]:
    """(kind, model) pairs to try in order: the agent's, its fallbacks, the offline responder."""
    chain = [(agent.provider, agent.model)]
    for entry in agent.fallbacks or []:
        kind, _, model = str(entry).partition(":")
        chain.append((kind.strip(), model.strip()))
    if chain[-1][0] != ProviderKind.OFFLINE:
        chain.append((ProviderKind.OFFLINE, ""))
    return chain


# --- the turn ---------------------------------------------------------------------------


@dataclass
class _Turn:
    agent: Agent
    run: AgentRun
    ctx: tools.ToolContext
    facts: StoreFacts
    chain: list[tuple[str, str]]
    link: int = 0
    provider: Provider | None = None
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    sources: list[str] = field(default_factory=list)
    # The trace is written once, when the turn ends (see ``_write_trace``).
    pending_steps: list[AgentStep] = field(default_factory=list)
    pending_usage: list[TokenUsage] = field(default_factory=list)
    prices: dict[tuple[str, str], tuple[Decimal, Decimal]] = field(default_factory=dict)

    def step(self, kind: str, name: str, *, input: Any = None, output: Any = None, error: str = "",
             duration_ms: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.steps += 1
        self.pending_steps.append(AgentStep(
            run=self.run, position=self.steps, kind=kind, name=name[:120], input=input or {},
            output=output or {}, error=error, duration_ms=duration_ms,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, at=timezone.now(),
        ))

    def cost_of(self, kind: str, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """``pricing.cost_of`` with the model's prices read once per turn."""
        if (kind, model) not in self.prices:
            self.prices[(kind, model)] = prices_for(kind, model)
        prompt_price, completion_price = self.prices[(kind, model)]
        return ((prompt_price * prompt_tokens + completion_price * completion_tokens) / MILLION).quantize(
            Decimal("0.000001")
        )


@contextmanager
def _log_transaction() -> Iterator[None]:
    """A transaction for the turn's own log rows (run, steps, usage) committed without
    waiting for the disk flush: a worker crash loses nothing committed, only a crash of
    PostgreSQL itself within a fraction of a second could. The customer's data (orders,
    leads) is written by the services with their usual durable commits. Inside a caller's
    transaction it simply joins it."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _write_trace(turn: _Turn, **run_fields: Any) -> None:
    """Save the run with its final fields, its steps and its token usage in one transaction."""
    run = turn.run
    for name, value in run_fields.items():
        setattr(run, name, value)
    outcome = any(effect.kind == "outcome_reported" for effect in turn.ctx.side_effects)
    if run.pk is None and not outcome:
        _insert_trace(turn)
    else:  # a run written before (its trace failed midway) or an outcome to link: the long way
        with _log_transaction():
            run.save()
            for row in (*turn.pending_steps, *turn.pending_usage):
                row.run_id = run.pk
            if turn.pending_steps:
                AgentStep.objects.bulk_create(turn.pending_steps)
            if turn.pending_usage:
                TokenUsage.objects.bulk_create(turn.pending_usage)
            if outcome:
                ConversationOutcome.objects.filter(
                    conversation_id=turn.ctx.request.conversation_id, run=None
                ).update(run=run)
    turn.pending_steps, turn.pending_usage = [], []


def _insert_sql(model: type[models.Model], objs: list[models.Model], *, run_id: str = "") -> tuple[str, list]:
    """An INSERT of ``objs`` with their values as ``save``/``bulk_create`` prepare them
    (``pre_save``, ``get_db_prep_save``), to embed in a larger statement; ``run_id`` is SQL
    for the ``run_id`` column instead of the objects' value. (The ORM's insert compiler
    spent milliseconds per turn on the same work.)"""
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    rows, params = [], []
    for obj in objs:
        placeholders = []
        for f in fields:
            if run_id and f.attname == "run_id":
                placeholders.append(run_id)
            else:
                placeholders.append("%s")
                params.append(f.get_db_prep_save(f.pre_save(obj, add=True), connection))
        rows.append(f"({', '.join(placeholders)})")
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join(rows)}", params


def _insert_trace(turn: _Turn) -> None:
    """The run, its steps and its token usage as one statement (the steps and usage take
    the run's new id from it), committed in the same round trip without waiting for the
    disk flush (see ``_log_transaction``); inside a caller's transaction it joins it."""
    run = turn.run
    sql, params = _insert_sql(AgentRun, [run])
    ctes = [f"run AS ({sql} RETURNING id)"]
    for name, rows in (("steps", turn.pending_steps), ("usage", turn.pending_usage)):
        if rows:
            rows_sql, rows_params = _insert_sql(type(rows[0]), rows, run_id="(SELECT id FROM run)")
            ctes.append(f"{name} AS ({rows_sql})")
            params += rows_params
    prefix = "" if connection.in_atomic_block else "SELECT set_config('synchronous_commit', 'off', true); "
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}WITH {', '.join(ctes)} SELECT id FROM run", params)
        if prefix:
            cursor.nextset()
        run.pk = cursor.fetchone()[0]
    run._state.adding, run._state.db = False, connection.alias
    for row in (*turn.pending_steps, *turn.pending_usage):
        row.run_id = run.pk


@dataclass(frozen=True)
class TurnEvent:
    """What a streamed turn reports as it goes.

    ``progress`` (a model call starts), ``tool_call`` (name, arguments, ok), ``source``
    (a cited passage), ``answer`` (a delta of the reply text), ``done`` (``result`` set).
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    result: TurnResult | None = None


def run_turn(request: TurnRequest, *, dry_run: bool = False) -> TurnResult:
    """Answer the customer's latest burst. The contract ``channels`` calls.

    Never raises for a provider or tool failure: providers fall back along the chain to the
    offline responder, tools answer the model with an error. Raises ``AgentNotFound`` /
    ``NoActiveAgent`` when there is no agent to answer. ``dry_run`` simulates the tools
    that write (no order, no lead change), for tests and the playground. Not atomic: the
    run, its steps and its token usage are saved in one write as it ends or fails (a killed
    worker leaves no run; the channel's turn row shows it); the tools' own writes are
    their services' durable transactions.
    """
    for event in _turn_events(request, dry_run=dry_run, stream=False):
        if event.result is not None:
            return event.result
    raise AssertionError("a turn always ends with a result")


def stream_turn(request: TurnRequest, *, dry_run: bool = False) -> Iterator[TurnEvent]:
    """``run_turn`` as events: the reply arrives as ``answer`` deltas from providers that
    stream (the OpenAI-compatible one), whole from the others; the last event is ``done``.
    A provider failing mid-answer falls back like ``run_turn``; the deltas already sent
    stay sent and the fallback's answer follows."""
    yield from _turn_events(request, dry_run=dry_run, stream=True)


def _turn_events(request: TurnRequest, *, dry_run: bool, stream: bool) -> Iterator[TurnEvent]:
    started = time.monotonic()
    agent = agent_for_turn(request.agent_id, lead_id=request.lead_id)
    question = latest_question(tuple(_to_chat(m) for m in request.messages[-LATEST_QUESTION_SCAN:]))
    if PREFETCH_QUERY_EMBEDDING:
        _prefetch_query_embedding(agent, question)
    # Saved with its steps when the turn ends (one write): see ``_write_trace``.
    run = AgentRun(
        agent=agent, conversation_id=request.conversation_id, channel=request.channel,
        turn_key=request.turn_key, lead_id=request.lead_id, dry_run=dry_run, question=question,
    )
    facts = _facts_of(agent.store_profile) if agent.store_profile is not None else store_facts()
    turn = _Turn(
        agent=agent, run=run, facts=facts,
        chain=[(ProviderKind.OFFLINE, "")] if request.offline_only else provider_chain(agent),
        ctx=tools.ToolContext(
            agent=agent, request=request, lead_id=request.lead_id, dry_run=dry_run,
            store_tools=tools.load_store_tools(agent.enabled_tools or []),
        ),
    )
    # The agent's model's prices came with it (the store's row, else the built-in table).
    turn.prices[(agent.provider, agent.model)] = (
        tuple(agent.model_prices) if agent.model_prices is not None
        else DEFAULT_PRICES.get(f"{agent.provider}:{agent.model}", (Decimal(0), Decimal(0)))
    )

    try:
        yield from _turn_body(turn, request, question, started, stream=stream)
    except Exception as exc:  # recorded on the run with the steps so far, then re-raised as is
        _write_trace(
            turn, status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000], finished_at=timezone.now(),
            duration_ms=_ms(started),
        )
        raise


def _prefetch_query_embedding(agent: Agent, question: str) -> None:
    """Start embedding the customer's question while the turn builds its prompt and makes
    its first model call, when the agent reads the knowledge base: the up-front policy
    searches with it, the offline responder too, and a model often searches with the
    customer's own words. A search with another text simply embeds that one."""
    if not (agent.knowledge_policy == KnowledgePolicy.UP_FRONT or "search_knowledge" in (agent.enabled_tools or [])):
        return
    if not content_words(question):
        return
    from knowledge.embedders import get_embedder
    from knowledge.errors import KnowledgeError

    try:
        config = getattr(agent, "search_config", None)
        embedder = get_embedder((config.embedder_override or settings.KNOWLEDGE_EMBEDDER) if config else None)
    except KnowledgeError:  # the search says what is wrong with the store's embedder
        return
    prefetch = getattr(embedder, "prefetch_query", None)
    if prefetch is not None:
        prefetch(question[:UP_FRONT_QUERY_CHARS])


def _turn_body(
    turn: _Turn, request: TurnRequest, question: str, started: float, *, stream: bool
) -> Iterator[TurnEvent]:
    agent, facts = turn.agent, turn.facts

    def done(reply: str, rounds: int = 0) -> TurnEvent:
        return TurnEvent("done", {"run_id": turn.run.pk}, result=_finish(turn, reply, started, rounds))

    keyword = _handoff_keyword(agent, question)
    if keyword:
        turn.step(StepKind.RULE, "handoff_keyword", input={"keyword": keyword})
        tools.handoff(turn.ctx, f"customer asked for a person ({keyword})", question[:500])
        reply = phrase(facts.language, "handoff_asked")
        if stream:
            yield TurnEvent("answer", {"delta": reply})
        yield done(reply)
        return

    messages = _prompt(agent, request, facts)
    if agent.knowledge_policy == KnowledgePolicy.UP_FRONT and not request.offline_only:
        found = _retrieve_up_front(turn, question, messages)
        if stream:
            for source in found:
                yield TurnEvent("source", {"source": source})
    specs = tools.specs(agent.enabled_tools or [], turn.ctx.store_tools)
    rounds = 0
    while True:
        final_round = rounds >= agent.max_tool_iterations
        if stream:
            yield TurnEvent("progress", {"round": rounds + 1, "provider": turn.chain[turn.link][0]})
        response = yield from _chat(turn, messages, () if final_round else specs, stream=stream)
        messages.append(ChatMessage("assistant", response.content, response.tool_calls))
        fresh = [s for s in response.sources if s not in turn.sources]
        turn.sources.extend(fresh)
        if stream:
            for source in fresh:
                yield TurnEvent("source", {"source": source})
        if response.tool_calls and not final_round:
            rounds += 1
            for call in response.tool_calls:
                message, ok, found = _run_tool(turn, call)
                messages.append(message)
                if stream:
                    yield TurnEvent("tool_call", {"name": call.name, "arguments": call.arguments, "ok": ok})
                    for source in found:
                        yield TurnEvent("source", {"source": source})
            if turn.ctx.handoff_reason:
                yield done(response.content or phrase(facts.language, "handoff_asked"), rounds)
                return
            continue
        if response.handoff_reason:
            tools.handoff(turn.ctx, response.handoff_reason, question[:500])
        if response.content and not response.tool_calls:
            yield done(response.content, rounds)
            return
        # The model kept calling tools past the limit, or said nothing.
        turn.run.error = "no final answer within the iteration limit"
        if agent.handoff_on_failure and not turn.ctx.handoff_reason:
            tools.handoff(turn.ctx, "the agent found no answer within its iteration limit", question[:500])
            reply = phrase(facts.language, "handoff")
        else:
            reply = response.content or phrase(facts.language, "sorry")
        if stream:
            yield TurnEvent("answer", {"delta": reply})
        yield done(reply, rounds)
        return


def _chat(
    turn: _Turn, messages: list[ChatMessage], specs: tuple[dict, ...], *, stream: bool
) -> Generator[TurnEvent, None, ChatResponse]:
    """One model call along the fallback chain; records a step and the token usage.
    Streaming, it yields ``answer`` events as the text arrives."""
    agent = turn.agent
    while True:
        kind, model = turn.chain[turn.link]
        label = f"{kind}:{model}" if model else kind
        if turn.provider is None:
            try:
                turn.provider = build_provider(agent, kind, model, facts=turn.facts)
            except (CredentialMissing, CredentialUnreadable, UnknownProvider) as exc:
                turn.step(StepKind.FALLBACK, label, error=f"{exc.code}: {exc.message}")
                logger.warning("agents.provider_unusable", extra={"agent_id": agent.pk, "provider": label, "error": exc.message})
                turn.link += 1
                continue
        request = ChatRequest(
            model=model, messages=tuple(messages), tools=specs,
            temperature=float(agent.temperature), max_tokens=agent.max_tokens,
        )
        started = time.monotonic()
        try:
            if stream and hasattr(turn.provider, "stream"):
                response = None
                for item in turn.provider.stream(request):
                    if isinstance(item, str):
                        yield TurnEvent("answer", {"delta": item})
                    else:
                        response = item
                if response is None:
                    raise ProviderUnavailable(f"{label} ended its stream without an answer.")
            else:
                response = turn.provider.chat(request)
                if stream and response.content and not response.tool_calls:
                    yield TurnEvent("answer", {"delta": response.content})
        except ProviderError as exc:
            elapsed = _ms(started)
            turn.step(StepKind.FALLBACK, label, error=f"{exc.code}: {exc.message}", duration_ms=elapsed)
            logger.warning("agents.provider_failed", extra={"agent_id": agent.pk, "provider": label, "error": exc.message})
            turn.provider = None
            turn.link += 1
            continue
        elapsed = _ms(started)
        cost = turn.cost_of(kind, response.model or model, response.prompt_tokens, response.completion_tokens)
        turn.pending_usage.append(TokenUsage(
            agent=agent, run=turn.run, provider=kind, model=response.model or model or turn.provider.model,
            prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
            cost=cost, latency_ms=elapsed, at=timezone.now(),
        ))
        turn.prompt_tokens += response.prompt_tokens
        turn.completion_tokens += response.completion_tokens
        turn.cost += cost
        turn.step(
            StepKind.LLM, label,
            input={"messages": len(messages), "last": _preview(messages[-1]), "tools": [s["function"]["name"] for s in specs]},
            output={
                "content": response.content,
                "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
                "finish_reason": response.finish_reason,
            },
            duration_ms=elapsed, prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
        )
        return response


def _run_tool(turn: _Turn, call) -> tuple[ChatMessage, bool, list[str]]:
    """Run one tool call and record its step; returns the message for the model, whether
    it worked, and the sources it brought that the turn had not cited yet."""
    started = time.monotonic()
    cited = len(turn.ctx.sources)
    outcome = tools.execute(turn.ctx, call.name, call.arguments, call.id)
    turn.step(
        StepKind.TOOL, call.name, input={"id": call.id, "arguments": call.arguments},
        output=outcome.result, error="" if outcome.ok else str(outcome.result.get("error", "")),
        duration_ms=_ms(started),
    )
    found = list(turn.ctx.sources[cited:])
    if outcome.ok and call.name == "search_knowledge":
        found += [cite(p["source"]) for p in outcome.result.get("passages", []) if p.get("source")]
    new = [s for s in dict.fromkeys(found) if s not in turn.sources]
    turn.sources.extend(new)
    return ChatMessage("tool", outcome.as_message(), tool_call_id=call.id, name=call.name), outcome.ok, new


def _finish(turn: _Turn, reply: str, started: float, rounds: int = 0) -> TurnResult:
    ctx = turn.ctx
    _kind, model = turn.chain[min(turn.link, len(turn.chain) - 1)]
    provider = turn.provider.name if turn.provider else ""
    model = (turn.provider.model if turn.provider else "") or model
    run = turn.run
    final = {
        "status": RunStatus.HANDOFF if ctx.handoff_reason else RunStatus.ANSWERED,
        "reply": reply,
        "handoff_reason": ctx.handoff_reason,
        "provider": provider,
        "model": model,
        "iterations": rounds,
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "cost": turn.cost,
        "side_effects": [{"kind": s.kind, "data": s.data} for s in ctx.side_effects],
        "error": run.error,
        "duration_ms": _ms(started),
        "finished_at": timezone.now(),
    }
    _write_trace(turn, **final)
    logger.info(
        "agents.turn_finished",
        extra={"run_id": run.pk, "agent_id": turn.agent.pk, "status": run.status, "provider": provider,
               "iterations": rounds, "ms": run.duration_ms},
    )
    return TurnResult(
        reply=reply,
        handoff=bool(ctx.handoff_reason),
        handoff_reason=ctx.handoff_reason,
        side_effects=tuple(ctx.side_effects),
        agent_id=turn.agent.pk,
        provider=provider,
        model=model,
        sources=tuple(turn.sources),
        run_id=run.pk,
        prompt_tokens=turn.prompt_tokens,
        completion_tokens=turn.completion_tokens,
        cost=turn.cost,
    )


def _handoff_keyword(agent: Agent, question: str) -> str:
    """The first handoff keyword the customer used, as a whole word or phrase ("humano?")."""
    text = f" {' '.join(words(question))} "
    for keyword in agent.handoff_keywords or []:
        folded = " ".join(words(str(keyword)))
        if folded and f" {folded} " in text:
            return str(keyword)
    return ""


def _prompt(agent: Agent, request: TurnRequest, facts: StoreFacts) -> list[ChatMessage]:
    labels = dict(STORE_FACT_FIELDS)
    lines = [f"- {labels[f]}: {text}" for f, text in facts.facts]
    lines.append(f"- Store language: {facts.language}")
    lines.append(f"- Today: {timezone.localdate():%Y-%m-%d}")
    system = (agent.system_prompt.strip() + "\n\nStore information:\n" + "\n".join(lines)).strip()
    messages = [ChatMessage("system", system)]
    summary = agent.lead_profile_summary if request.lead_id is not None else ""
    if summary:
        messages.append(ChatMessage("system", f"What we know about this customer: {summary}"))
    window = request.messages[-agent.memory_window :] if agent.memory_window else request.messages
    messages.extend(_to_chat(m) for m in window)
    return messages


UP_FRONT_PASSAGES = 3
UP_FRONT_QUERY_CHARS = 500


def _retrieve_up_front(turn: _Turn, question: str, messages: list[ChatMessage]) -> list[str]:
    """Knowledge passages for the question as a system message before the conversation
    (the agent's policy ``up_front``); a question without content words (a greeting, "ok")
    retrieves nothing, so it costs no query embedding. Returns the new sources."""
    if not content_words(question):
        return []
    started = time.monotonic()
    query = question[:UP_FRONT_QUERY_CHARS]
    outcome = tools.execute_builtin(turn.ctx, "search_knowledge", {"query": query, "top_k": UP_FRONT_PASSAGES})
    passages = outcome.result.get("passages", []) if outcome.ok else []
    turn.step(StepKind.TOOL, "search_knowledge (up front)", input={"query": query},
              output=outcome.result, error="" if outcome.ok else str(outcome.result.get("error", "")),
              duration_ms=_ms(started))
    if not passages:
        return []
    text = "\n\n".join(f"[{cite(p['source'])}]\n{p['text']}" for p in passages)
    index = 2 if len(messages) > 1 and messages[1].role == "system" else 1
    messages.insert(index, ChatMessage(
        "system", "Passages of the store's knowledge base for the customer's question (quote what applies "
        "and cite its source in brackets; ignore them if they do not answer it):\n\n" + text,
    ))
    new = [s for s in dict.fromkeys(cite(p["source"]) for p in passages) if s not in turn.sources]
    turn.sources.extend(new)
    return new


def _to_chat(message: ConversationMessage) -> ChatMessage:
    if message.role == "customer":
        return ChatMessage("user", message.text)
    if message.role == "staff":
        return ChatMessage("assistant", f"[store staff] {message.text}")
    return ChatMessage("assistant", message.text)


def _preview(message: ChatMessage) -> str:
    return (message.content or "")[:500]


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


__all__ = [
    "add_model",
    "agent_for_turn",
    "create_agent",
    "delete_agent",
    "rate_reply",
    "update_agent",
    "build_provider",
    "create_agent_from_template",
    "ensure_default_agent",
    "provider_chain",
    "run_turn",
    "set_default_agent",
    "store_facts",
    "stream_turn",
]
