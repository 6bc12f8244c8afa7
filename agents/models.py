"""A store's agents, its credentials vault, and what each turn did and cost."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    SALES = "sales", "Sales"
    SUPPORT = "support", "Support"
    LEADS = "leads", "Lead capture"
    CUSTOM = "custom", "Custom"


class ProviderKind(models.TextChoices):
    OFFLINE = "offline", "Offline responder (no generative model)"
    OPENAI = "openai", "OpenAI-compatible (OpenAI, DeepSeek, vLLM, Ollama /v1, ...)"
    OLLAMA = "ollama", "Ollama API"


class KnowledgePolicy(models.TextChoices):
    ON_DEMAND = "on_demand", "On demand: the model calls search_knowledge when it needs to"
    UP_FRONT = "up_front", "Up front: passages for the customer's question go into the prompt"


def _default_handoff_keywords() -> list[str]:
    return ["humano", "atendente", "persona", "human"]


class Agent(models.Model):
    """One configured assistant of the store: its prompt, model, tools and rules."""

    name = models.CharField(max_length=120, unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOM)
    system_prompt = models.TextField(blank=True, help_text="Tone, language, what to do and not to do.")
    provider = models.CharField(max_length=20, choices=ProviderKind.choices, default=ProviderKind.OFFLINE)
    model = models.CharField(max_length=120, blank=True, help_text="e.g. gpt-4o-mini, deepseek-chat, llama3.1")
    base_url = models.URLField(
        max_length=300, blank=True, help_text="Blank: the platform default for the provider."
    )
    credential_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the API key in the credentials vault (category llm); blank: the provider's name.",
    )
    fallbacks = models.JSONField(
        default=list,
        blank=True,
        help_text='Tried in order when the provider is down, e.g. ["ollama:llama3.1"]. '
        "The offline responder always comes last.",
    )
    temperature = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.70"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(2))],
    )
    max_tokens = models.PositiveIntegerField(default=600, validators=[MinValueValidator(16)])
    max_tool_iterations = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    memory_window = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text="How many of the conversation's last messages the model sees.",
    )
    enabled_tools = models.JSONField(default=list, blank=True)
    knowledge_collections = models.ManyToManyField(
        "knowledge.Collection",
        blank=True,
        related_name="agents",
        help_text="Collections its knowledge search may read; none selected: all of them.",
    )
    knowledge_policy = models.CharField(
        max_length=12, choices=KnowledgePolicy.choices, default=KnowledgePolicy.ON_DEMAND,
        help_text="Up front saves a model round trip on knowledge questions; a greeting retrieves nothing.",
    )
    handoff_keywords = models.JSONField(
        default=_default_handoff_keywords,
        blank=True,
        help_text="A customer message with one of these words goes to a person at once.",
    )
    handoff_on_failure = models.BooleanField(
        default=True, help_text="Hand the conversation to a person when the agent cannot answer."
    )
    # The message accumulator: a customer's burst of messages ("oi" ... "preciso de ajuda")
    # becomes one turn. Empty: the channel's own setting, else the platform's default.
    burst_seconds = models.FloatField(
        "quiet seconds before answering", null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(120)],
        help_text="Seconds of quiet that end a burst of the customer's messages (each new message restarts them).",
    )
    burst_max_wait_seconds = models.FloatField(
        "longest wait (seconds)", null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(600)],
        help_text="A burst that never pauses is answered once its first message is this old.",
    )
    burst_max_messages = models.PositiveSmallIntegerField(
        "most messages in one answer", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A burst is answered as soon as it has this many messages.",
    )
    burst_separator = models.CharField(
        "message separator", max_length=20, blank=True, help_text="What joins a burst's messages for the model (empty: a line break).",
    )
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Answers turns that name no agent.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="agent_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from agents.tools import known_tool_names

        known = known_tool_names()
        unknown = [t for t in self.enabled_tools or [] if t not in known]
        if unknown:
            raise ValidationError(
                {"enabled_tools": f"Unknown tool(s): {', '.join(unknown)}. Known: {', '.join(known)}."}
            )
        if not isinstance(self.fallbacks, list) or not all(isinstance(f, str) for f in self.fallbacks):
            raise ValidationError({"fallbacks": 'A list of "provider:model" strings.'})
        if self.provider != ProviderKind.OFFLINE and not self.model:
            raise ValidationError({"model": "Name the model of the provider."})


class CredentialCategory(models.TextChoices):
    LLM = "llm", "LLM provider"
    CHANNEL = "channel", "Channel"
    PAYMENT = "payment", "Payment gateway"
    OTHER = "other", "Other"


class Credential(models.Model):
    """A store secret, encrypted at rest (see ``agents.vault``). Only ``hint`` is ever shown."""

    category = models.CharField(max_length=20, choices=CredentialCategory.choices)
    name = models.CharField(max_length=100)
    ciphertext = models.TextField(editable=False)
    hint = models.CharField(max_length=20, editable=False, help_text="The masked secret.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="credential_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.category}/{self.name}"


class ModelPrice(models.Model):
    """The store's models catalog: a model its agents may use, its context size and prices.

    Costs of models not listed here come from ``agents.pricing.DEFAULT_PRICES``.
    """

    provider = models.CharField(max_length=20, choices=ProviderKind.choices)
    model = models.CharField(max_length=120)
    context_window = models.PositiveIntegerField(default=0, help_text="Tokens; 0 = unknown.")
    prompt_price_per_million = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))
    completion_price_per_million = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))

    class Meta:
        ordering = ["provider", "model"]
        verbose_name = "model price"
        constraints = [
            models.UniqueConstraint(fields=["provider", "model"], name="model_price_unique_model"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    ANSWERED = "answered", "Answered"
    HANDOFF = "handoff", "Handed off"
    FAILED = "failed", "Failed"


class AgentRun(models.Model):
    """One turn of an agent: what it was asked, what it did, what it answered."""

    agent = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL, related_name="runs")
    conversation_id = models.BigIntegerField(db_index=True)
    channel = models.CharField(max_length=40, blank=True)
    turn_key = models.CharField(max_length=200, blank=True, db_index=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    question = models.TextField(blank=True, help_text="The customer's burst this turn answered.")
    reply = models.TextField(blank=True)
    handoff_reason = models.TextField(blank=True)
    provider = models.CharField(max_length=40, blank=True, help_text="The provider that answered.")
    model = models.CharField(max_length=120, blank=True)
    iterations = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))
    side_effects = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "agent run"

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"


class StepKind(models.TextChoices):
    LLM = "llm", "LLM call"
    TOOL = "tool", "Tool call"
    FALLBACK = "fallback", "Provider failed, fallback"
    RULE = "rule", "Handoff rule"


class AgentStep(models.Model):
    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    name = models.CharField(max_length=120, help_text="Provider:model or tool name.")
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="agent_step_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.kind} {self.name}"


class TokenUsage(models.Model):
    """One call to a model (the offline responder included, at zero tokens)."""

    agent = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL, related_name="usage")
    run = models.ForeignKey(AgentRun, null=True, on_delete=models.SET_NULL, related_name="usage")
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=120, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))
    latency_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "token usage"
        verbose_name_plural = "token usage"

    def __str__(self) -> str:
        return f"{self.provider}:{self.model} {self.prompt_tokens}+{self.completion_tokens}"


class Rating(models.TextChoices):
    GOOD = "good", "Good"
    BAD = "bad", "Bad"


class ReplyRating(models.Model):
    """Staff's or an API client's verdict on one reply of an agent (one per rater and run)."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="ratings")
    # Denormalised from the run so ratings per agent are one indexed count.
    agent = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL, related_name="ratings")
    rating = models.CharField(max_length=10, choices=Rating.choices)
    comment = models.TextField(blank=True)
    rated_by = models.CharField(max_length=150, help_text="staff:<user> or api:<key name>")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "rated_by"], name="reply_rating_one_per_rater"),
        ]

    def __str__(self) -> str:
        return f"{self.rating} on run {self.run_id}"


class Outcome(models.TextChoices):
    SALE = "sale", "Sale"
    SUPPORT = "support", "Support"
    LEAD = "lead", "Lead"
    LOST = "lost", "Lost"


class ConversationOutcome(models.Model):
    """How the agent labelled a conversation (``report_outcome``); the latest label wins."""

    conversation_id = models.BigIntegerField(unique=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    confidence = models.DecimalField(
        max_digits=3, decimal_places=2, validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]
    )
    note = models.TextField(blank=True)
    agent = models.ForeignKey(Agent, null=True, on_delete=models.SET_NULL, related_name="outcomes")
    run = models.ForeignKey(AgentRun, null=True, on_delete=models.SET_NULL, related_name="outcomes")
    channel = models.CharField(max_length=40, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id}: {self.outcome} ({self.confidence})"


class CollectedForm(models.Model):
    """The fields ``collect_form`` gathered from a lead for one named form (e.g. checkout)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="collected_forms")
    form = models.CharField(max_length=60)
    data = models.JSONField(default=dict, blank=True)
    complete = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["lead", "form"], name="collected_form_one_per_lead")]

    def __str__(self) -> str:
        return f"{self.form} of lead {self.lead_id}"


class HttpToolKind(models.TextChoices):
    HTTP = "http", "HTTP call (the response goes back to the model)"
    WEBHOOK = "webhook", "Webhook (POST the arguments and the conversation, signed)"


TOOL_NAME_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]{1,63}$", "Lowercase letters, digits and underscores, starting with a letter."
)


class HttpTool(models.Model):
    """A tool the store defines: its agents call the store's own systems through it.

    Requests to private, loopback or link-local addresses are refused unless the host is
    listed in ``allowed_private_hosts``.
    """

    name = models.CharField(max_length=64, unique=True, validators=[TOOL_NAME_VALIDATOR])
    description = models.TextField(help_text="What the tool does and when the agent should call it.")
    kind = models.CharField(max_length=10, choices=HttpToolKind.choices, default=HttpToolKind.HTTP)
    method = models.CharField(
        max_length=6, default="POST",
        choices=[(m, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")],
        help_text="GET sends the arguments as query parameters, the others as a JSON body.",
    )
    url = models.URLField(max_length=500)
    headers = models.JSONField(default=dict, blank=True, help_text="Plain headers, e.g. {\"Accept\": \"application/json\"}.")
    secret_headers = models.JSONField(
        default=dict, blank=True,
        help_text='Headers read from the credentials vault (category "other"): {"X-Api-Key": "<credential name>"}.',
    )
    parameters = models.JSONField(
        default=dict, blank=True, help_text="JSON schema of the arguments (an object schema)."
    )
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.1), MaxValueValidator(60)])
    allowed_private_hosts = models.JSONField(
        default=list, blank=True,
        help_text="Hosts on private, loopback or link-local addresses this tool may reach (refused otherwise).",
    )
    writes = models.BooleanField(default=True, help_text="Has side effects: simulated in a dry run.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "store tool (HTTP/webhook)"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        from agents.tools import BUILTIN_TOOL_NAMES

        if self.name in BUILTIN_TOOL_NAMES:
            raise ValidationError({"name": f"{self.name!r} is a built-in tool."})
        schema = self.parameters or {"type": "object", "properties": {}}
        if schema.get("type") != "object":
            raise ValidationError({"parameters": 'An object schema: {"type": "object", "properties": {...}}.'})
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ValidationError({"parameters": f"Not a valid JSON schema: {exc.message}"}) from exc
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in (self.headers or {}).items()):
            raise ValidationError({"headers": "An object of header names to text values."})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in (self.secret_headers or {}).items()):
            raise ValidationError({"secret_headers": "An object of header names to credential names."})
        if not isinstance(self.allowed_private_hosts, list):
            raise ValidationError({"allowed_private_hosts": "A list of host names."})
