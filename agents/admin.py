"""Agents in the store's admin console: agents and templates, the playground, credentials
(masked), the models catalog, token usage, and every turn with its steps."""

from __future__ import annotations

import json
from dataclasses import replace

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from agents import admin_playground as playground
from agents import selectors, services, vault
from agents.agent_templates import TEMPLATES
from agents.errors import AgentError
from agents.models import (
    Agent,
    AgentRun,
    AgentStep,
    CollectedForm,
    ConversationOutcome,
    Credential,
    HttpTool,
    ModelPrice,
    Rating,
    ReplyRating,
    TokenUsage,
)
from agents.tools import TOOLS
from config.admin_base import ModelAdmin, TabularInline


def _tool_choices() -> list[tuple[str, str]]:
    builtin = [(name, f"{name} — {tool.description}") for name, tool in TOOLS.items()]
    own = [(t.name, f"{t.name} — {t.description} ({t.get_kind_display()})") for t in HttpTool.objects.filter(is_active=True)]
    return builtin + own


class CommaListField(forms.CharField):
    """A JSON list of strings edited as comma-separated text."""

    def prepare_value(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return ", ".join(value or [])

    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]


class AgentForm(forms.ModelForm):
    enabled_tools = forms.MultipleChoiceField(choices=_tool_choices, widget=forms.CheckboxSelectMultiple, required=False)
    handoff_keywords = CommaListField(required=False, help_text="Comma-separated, e.g. humano, atendente, human.")
    fallbacks = CommaListField(
        required=False, help_text='Comma-separated "provider:model", tried in order; the offline responder is last.'
    )

    class Meta:
        model = Agent
        fields = "__all__"


@admin.register(Agent)
class AgentAdmin(ModelAdmin):
    form = AgentForm
    change_list_template = "agents/admin/agent_change_list.html"
    list_display = ("name", "role", "provider", "model", "is_active", "is_default", "ratings", "playground_link")
    list_filter = ("role", "provider", "is_active")
    search_fields = ("name",)
    filter_horizontal = ("knowledge_collections",)
    actions = ("make_default", "activate", "deactivate")
    fieldsets = (
        (None, {"fields": ("name", "role", "is_active", "is_default", "system_prompt")}),
        ("Model", {"fields": ("provider", "model", "base_url", "credential_name", "fallbacks", "temperature", "max_tokens")}),
        ("Behaviour", {"fields": ("max_tool_iterations", "memory_window", "enabled_tools", "knowledge_policy",
                                 "knowledge_collections")}),
        ("Handoff", {"fields": ("handoff_keywords", "handoff_on_failure")}),
        ("Message accumulator", {"fields": ("burst_seconds", "burst_max_wait_seconds", "burst_max_messages",
                                            "burst_separator")}),
    )

    def get_queryset(self, request):
        return selectors.agents_with_ratings()

    @admin.display(description="Ratings (good / bad)")
    def ratings(self, obj: Agent) -> str:
        good, bad = getattr(obj, "good_ratings", 0), getattr(obj, "bad_ratings", 0)
        if not good and not bad:
            return "—"
        url = reverse("admin:agents_replyrating_changelist") + f"?agent__id__exact={obj.pk}"
        return format_html('<a href="{}">👍 {} / 👎 {}</a>', url, good, bad)

    @admin.display(description="Playground")
    def playground_link(self, obj: Agent) -> str:
        return format_html('<a href="{}">Try it</a>', reverse("admin:agents_agent_playground", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            wants_default = obj.is_default
            if wants_default:
                # One default at a time: the previous one steps down first.
                Agent.objects.filter(is_default=True).exclude(pk=obj.pk).update(is_default=False)
            super().save_model(request, obj, form, change)

    @admin.action(description="Make the default agent")
    def make_default(self, request, queryset):
        agent = queryset.order_by("pk").first()
        if agent is not None:
            services.set_default_agent(agent.pk)
            self.message_user(request, f"{agent.name} now answers turns that name no agent.")

    @admin.action(description="Activate")
    def activate(self, request, queryset):
        self.message_user(request, f"{queryset.update(is_active=True)} agent(s) activated.")

    @admin.action(description="Deactivate")
    def deactivate(self, request, queryset):
        self.message_user(request, f"{queryset.update(is_active=False)} agent(s) deactivated.")

    def get_urls(self):
        own = [
            path("from-template/<str:template>/", self.admin_site.admin_view(self.from_template_view),
                 name="agents_agent_from_template"),
            path("<int:agent_id>/playground/", self.admin_site.admin_view(self.playground_view),
                 name="agents_agent_playground"),
            path("<int:agent_id>/playground/stream/", self.admin_site.admin_view(self.playground_stream_view),
                 name="agents_agent_playground_stream"),
        ]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "agent_templates": TEMPLATES.values()}
        return super().changelist_view(request, extra_context)

    def from_template_view(self, request: HttpRequest, template: str) -> HttpResponse:
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:agents_agent_changelist"))
        try:
            agent = services.create_agent_from_template(template, make_default=not Agent.objects.exists())
        except AgentError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:agents_agent_changelist"))
        self.message_user(request, f"Agent {agent.name} created from the {template} template. Review it below.")
        return HttpResponseRedirect(reverse("admin:agents_agent_change", args=[agent.pk]))

    def playground_view(self, request: HttpRequest, agent_id: int) -> HttpResponse:
        """Staff write as a customer would and see the reply and every step; dry run unless
        unticked. The page streams each turn from ``playground_stream_view``; this POST is
        the same form without JavaScript (see ``agents.admin_playground``)."""
        agent = get_object_or_404(Agent, pk=agent_id)
        thread = playground.new_thread()
        run = result = metadata = None
        error = "" if agent.is_active else _("The agent %(name)s is disabled: activate it to try it here.") % {
            "name": agent.name}
        if request.method == "POST":
            thread = playground.read_thread(request.POST)
            text = (request.POST.get("message") or "").strip()
            try:
                result, metadata = playground.run_once(agent, thread, text)
            except (playground.PlaygroundInputError, AgentError) as exc:
                error = exc.message
            else:
                history = [*thread.history, {"role": "customer", "text": text}]
                if result.reply:
                    history.append({"role": "agent", "text": result.reply})
                thread = replace(thread, history=tuple(history), lead_id=metadata["lead_id"])
                run = AgentRun.objects.filter(pk=result.run_id).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Playground — {agent.name}",
            "agent": agent,
            "thread": thread,
            "history": thread.history,
            "history_json": thread.history_json,
            "result": result,
            "metadata": metadata,
            "run": run,
            "steps": list(run.steps.all()) if run else [],
            "dry_run": thread.dry_run,
            "error": error,
        }
        return TemplateResponse(request, "agents/playground.html", context)

    def playground_stream_view(self, request: HttpRequest, agent_id: int) -> HttpResponse:
        """The playground's turn as Server-Sent Events (POST from the page, with its CSRF
        token); this store's agents only."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        agent = get_object_or_404(Agent, pk=agent_id)
        return playground.stream_response(request, agent)


class CredentialForm(forms.ModelForm):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Write-only: it is stored encrypted and never shown again. Leave blank to keep the current one.",
    )

    class Meta:
        model = Credential
        fields = ("category", "name")

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("secret"):
            self.add_error("secret", "A new credential needs its secret.")
        return data


@admin.register(Credential)
class CredentialAdmin(ModelAdmin):
    form = CredentialForm
    list_display = ("category", "name", "hint", "updated_at")
    list_filter = ("category",)
    search_fields = ("name",)
    readonly_fields = ("hint", "updated_at")
    fields = ("category", "name", "secret", "hint", "updated_at")

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("secret")
        if change and not secret:
            # Renamed or recategorised only; the ciphertext stays as it is.
            obj.save()
            return
        if change:
            Credential.objects.filter(pk=obj.pk).delete()
        saved = vault.set_credential(obj.category, obj.name, secret)
        obj.pk = saved.pk
        obj.hint = saved.hint


@admin.register(ModelPrice)
class ModelPriceAdmin(ModelAdmin):
    list_display = ("provider", "model", "context_window", "prompt_price_per_million", "completion_price_per_million")
    list_filter = ("provider",)


@admin.register(TokenUsage)
class TokenUsageAdmin(ModelAdmin):
    list_display = ("at", "agent", "provider", "model", "prompt_tokens", "completion_tokens", "cost", "latency_ms")
    list_filter = ("provider", "model", "agent")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if hasattr(response, "context_data") and "cl" in response.context_data:
            totals = response.context_data["cl"].queryset.aggregate(
                prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), cost=Sum("cost")
            )
            self.message_user(
                request,
                f"Shown: {totals['prompt'] or 0} prompt + {totals['completion'] or 0} completion tokens, "
                f"cost {totals['cost'] or 0} USD.",
                messages.INFO,
            )
        return response


class AgentStepInline(TabularInline):
    model = AgentStep
    extra = 0
    can_delete = False
    fields = ("position", "kind", "name", "input", "output", "error", "duration_ms", "prompt_tokens", "completion_tokens")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReplyRatingInline(TabularInline):
    model = ReplyRating
    extra = 0
    can_delete = False
    fields = ("rating", "comment", "rated_by", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AgentRun)
class AgentRunAdmin(ModelAdmin):
    change_form_template = "agents/admin/agentrun_change_form.html"
    list_display = ("started_at", "agent", "channel", "status", "provider", "iterations", "cost", "duration_ms", "short_question")
    list_filter = ("status", "provider", "channel", "dry_run", "agent")
    search_fields = ("question", "reply", "turn_key")
    date_hierarchy = "started_at"
    inlines = [AgentStepInline, ReplyRatingInline]
    readonly_fields = [f.name for f in AgentRun._meta.fields]
    actions = ("rate_good", "rate_bad")

    def get_urls(self):
        own = [path("<int:run_id>/rate/", self.admin_site.admin_view(self.rate_view), name="agents_agentrun_rate")]
        return own + super().get_urls()

    def rate_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """Staff rate the run's reply good or bad, with a comment (their earlier rating is replaced)."""
        target = reverse("admin:agents_agentrun_change", args=[run_id])
        if request.method == "POST" and self.has_view_permission(request):
            try:
                services.rate_reply(run_id, request.POST.get("rating", ""), comment=request.POST.get("comment", "").strip(),
                                    by=f"staff:{request.user.get_username()}")
            except AgentError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, "Thanks: the rating is saved and counted for the agent.")
        return HttpResponseRedirect(target)

    def _rate(self, request, queryset, rating: str) -> None:
        for run in queryset:
            services.rate_reply(run.pk, rating, by=f"staff:{request.user.get_username()}")
        self.message_user(request, f"{queryset.count()} reply(ies) rated {rating}.")

    @admin.action(description="Rate the replies good")
    def rate_good(self, request, queryset):
        self._rate(request, queryset, Rating.GOOD)

    @admin.action(description="Rate the replies bad")
    def rate_bad(self, request, queryset):
        self._rate(request, queryset, Rating.BAD)

    @admin.display(description="Question")
    def short_question(self, obj: AgentRun) -> str:
        return (obj.question or "")[:80]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False



@admin.register(ReplyRating)
class ReplyRatingAdmin(ModelAdmin):
    list_display = ("updated_at", "agent", "rating", "short_comment", "rated_by", "run_link")
    list_filter = ("rating", "agent")
    search_fields = ("comment", "rated_by")
    date_hierarchy = "updated_at"
    readonly_fields = ("run", "agent", "rating", "comment", "rated_by", "created_at", "updated_at")

    @admin.display(description="Comment")
    def short_comment(self, obj: ReplyRating) -> str:
        return (obj.comment or "")[:100]

    @admin.display(description="Run")
    def run_link(self, obj: ReplyRating) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:agents_agentrun_change", args=[obj.run_id]), obj.run_id)

    def has_add_permission(self, request) -> bool:
        return False


class HttpToolForm(forms.ModelForm):
    class Meta:
        model = HttpTool
        fields = "__all__"
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


@admin.register(HttpTool)
class HttpToolAdmin(ModelAdmin):
    form = HttpToolForm
    list_display = ("name", "kind", "method", "url", "writes", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "url")
    fieldsets = (
        (None, {"fields": ("name", "description", "kind", "is_active", "writes")}),
        ("Request", {"fields": ("method", "url", "headers", "secret_headers", "timeout_seconds",
                                "allowed_private_hosts")}),
        ("Arguments", {"fields": ("parameters",)}),
    )


@admin.register(ConversationOutcome)
class ConversationOutcomeAdmin(ModelAdmin):
    list_display = ("updated_at", "conversation_id", "outcome", "confidence", "agent", "channel", "note")
    list_filter = ("outcome", "agent", "channel")
    date_hierarchy = "updated_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CollectedForm)
class CollectedFormAdmin(ModelAdmin):
    list_display = ("updated_at", "lead", "form", "complete")
    list_filter = ("form", "complete")
    readonly_fields = ("lead", "form", "data", "complete", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False
