"""The agents API's shapes: agents, tools, templates, the models catalog, usage, ratings."""

from __future__ import annotations

from rest_framework import serializers

from agents.models import Agent, AgentRun, AgentStep, ModelPrice, ProviderKind, Rating, Role, TokenUsage
from agents.selectors import USAGE_GROUPS


class AgentSerializer(serializers.ModelSerializer):
    good_ratings = serializers.IntegerField(read_only=True, default=0)
    bad_ratings = serializers.IntegerField(read_only=True, default=0)
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id", "name", "role", "system_prompt", "provider", "model", "base_url", "credential_name",
            "fallbacks", "temperature", "max_tokens", "max_tool_iterations", "memory_window", "enabled_tools",
            "knowledge_policy", "knowledge_collections", "handoff_keywords", "handoff_on_failure", "is_active",
            "is_default", "burst_seconds", "burst_max_wait_seconds", "burst_max_messages", "burst_separator",
            "good_ratings", "bad_ratings", "has_credentials", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness and the tool names are checked by the service (one message, the field named).
        extra_kwargs = {"name": {"validators": []}, "is_default": {"validators": []}}
        # One default agent at a time is the service's job (the old default steps down).
        validators: list = []

    def get_has_credentials(self, obj: Agent) -> bool:
        """Whether the vault holds the API key its provider needs (the key itself is never shown)."""
        if obj.provider != ProviderKind.OPENAI:
            return True
        names = self.context.get("llm_credentials")
        if names is None:
            from agents.models import Credential

            names = set(Credential.objects.filter(category="llm").values_list("name", flat=True))
            self.context["llm_credentials"] = names
        return (obj.credential_name or obj.provider) in names


class AgentChangesSerializer(AgentSerializer):
    class Meta(AgentSerializer.Meta):
        extra_kwargs = {name: {"required": False} for name in AgentSerializer.Meta.fields} | {
            "name": {"validators": [], "required": False}, "is_default": {"validators": [], "required": False},
        }


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.ChoiceField(choices=["builtin", "http", "webhook"])
    writes = serializers.BooleanField(help_text="Has side effects (simulated in a dry run).")
    parameters = serializers.JSONField(help_text="JSON schema of the arguments.")


class TemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    temperature = serializers.DecimalField(max_digits=3, decimal_places=2)
    tools = serializers.ListField(child=serializers.CharField())
    system_prompt = serializers.CharField()


class FromTemplateSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="sales, support or leads")
    name = serializers.CharField(max_length=120, required=False)
    provider = serializers.ChoiceField(choices=ProviderKind.choices, default=ProviderKind.OFFLINE)
    model = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    make_default = serializers.BooleanField(default=False)


class ModelPriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelPrice
        fields = ["id", "provider", "model", "context_window", "prompt_price_per_million",
                  "completion_price_per_million"]
        # Adding an existing provider/model updates it (idempotent), so no uniqueness error.
        validators: list = []


class TokenUsageSerializer(serializers.ModelSerializer):
    class Meta:
        model = TokenUsage
        fields = ["id", "at", "agent", "run", "provider", "model", "prompt_tokens", "completion_tokens", "cost",
                  "latency_ms"]


class UsageLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    agent_id = serializers.IntegerField(allow_null=True)
    provider = serializers.CharField()
    model = serializers.CharField()
    day = serializers.DateField(allow_null=True)
    calls = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)


class UsageSummarySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=USAGE_GROUPS)
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)
    lines = UsageLineSerializer(many=True)
    calls = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)


class UsageQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=USAGE_GROUPS, default="agent")
    start = serializers.DateTimeField(required=False, help_text="Inclusive (ISO 8601).")
    end = serializers.DateTimeField(required=False, help_text="Exclusive (ISO 8601).")
    agent = serializers.IntegerField(required=False, min_value=1)

    def validate(self, data: dict) -> dict:
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return data


class RateSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class RatingSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    agent_id = serializers.IntegerField(allow_null=True)
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField()
    rated_by = serializers.CharField()
    updated_at = serializers.DateTimeField()


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentStep
        fields = ["position", "kind", "name", "input", "output", "error", "duration_ms", "prompt_tokens",
                  "completion_tokens", "at"]


class RunSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = AgentRun
        fields = ["id", "agent", "conversation_id", "channel", "lead_id", "dry_run", "status", "question", "reply",
                  "handoff_reason", "provider", "model", "iterations", "prompt_tokens", "completion_tokens", "cost",
                  "side_effects", "error", "duration_ms", "started_at", "finished_at", "steps"]
