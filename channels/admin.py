"""Channels in the store's admin console: connections with their webhook URL and verify
token, conversations as threads, handoff and return-to-bot, failed deliveries."""

from __future__ import annotations

from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest
from django.utils.html import format_html

from channels import events, services
from channels.errors import ChannelError
from channels.models import (
    META_ROUTE_KEYS,
    Channel,
    Conversation,
    ConversationTurn,
    InboundEvent,
    Message,
    MessageTemplate,
    TokenBudget,
    WebhookDelivery,
    WebhookSubscription,
)
from channels.secrets import SECRET_KEYS, secret_hint, store_channel_secret
from config.admin_base import ModelAdmin, TabularInline

# The request being rendered, for fields that show URLs of this very host.
_request: ContextVar[HttpRequest | None] = ContextVar("channels_admin_request", default=None)


def _hosts() -> tuple[str, str, str]:
    """(scheme, store host, platform host) as the staff member reaches the console."""
    request = _request.get()
    if request is None:
        return "https", getattr(connection.tenant, "domain_url", ""), settings.BASE_DOMAIN
    host = request.get_host()
    port = host.rsplit(":", 1)[1] if ":" in host else ""
    platform = settings.BASE_DOMAIN + (f":{port}" if port else "")
    return request.scheme, host, platform


def _rendered_with(request: HttpRequest, view):
    """Run an admin view and render its template while ``request`` is the current one."""
    token = _request.set(request)
    try:
        response = view()
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        return response
    finally:
        _request.reset(token)


def _secret_field(key: str) -> forms.CharField:
    return forms.CharField(
        label=key, required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted in the vault.",
    )


class _ChannelFormBase(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ("kind", "name", "active", "config", "verify_token")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for key in SECRET_KEYS:
                hint = secret_hint(self.instance, key)
                if hint:
                    self.fields[f"secret_{key}"].help_text = f"In the vault: {hint}. Blank keeps it."

    def clean(self):
        from tenants import services as tenant_services

        cleaned = super().clean()
        kind, config = cleaned.get("kind"), cleaned.get("config") or {}
        key = META_ROUTE_KEYS.get(kind)
        account = str(config.get(key, "")) if key else ""
        if account:
            route = tenant_services.route_for_provider_account(kind, account)
            if route is not None and route.tenant.pk != connection.tenant.pk:
                raise forms.ValidationError(f"{key} {account} is already connected to another store.")
        return cleaned


# Write-only fields, one per secret (declared, so the admin's fieldsets may name them).
ChannelForm = type("ChannelForm", (_ChannelFormBase,), {f"secret_{key}": _secret_field(key) for key in SECRET_KEYS})


@admin.action(description="Check the connection (credentials, number/instance connected)")
def check_connection(modeladmin, request, queryset):
    for channel in queryset:
        health = services.check_channel(channel.pk)
        modeladmin.message_user(
            request, f"{channel.name}: {'OK' if health.ok else 'NOT OK'} — {health.detail}",
            messages.SUCCESS if health.ok else messages.ERROR,
        )


@admin.action(description="Sync WhatsApp message templates from Meta")
def sync_templates(modeladmin, request, queryset):
    for channel in queryset:
        try:
            result = services.sync_templates(channel.pk)
        except ChannelError as exc:
            modeladmin.message_user(request, f"{channel.name}: {exc.message}", messages.ERROR)
            continue
        modeladmin.message_user(request, f"{channel.name}: {result.created} new, {result.updated} updated, "
                                         f"{result.removed} removed template(s).")


@admin.register(Channel)
class ChannelAdmin(ModelAdmin):
    form = ChannelForm
    actions = [check_connection, sync_templates]
    list_display = ("name", "kind", "active", "webhook_url", "verify_token", "conversation_count")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    readonly_fields = ("webhook_url", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("kind", "name", "active")}),
        ("Paste into the provider's dashboard", {"fields": ("webhook_url", "verify_token")}),
        ("Secrets (encrypted in the credentials vault, never shown)", {
            "fields": tuple(f"secret_{key}" for key in SECRET_KEYS),
        }),
        ("Provider settings", {
            "fields": ("config",),
            "description": (
                "JSON. WhatsApp: phone_number_id, business_account_id (for templates), graph_base_url, "
                "graph_version. "
                "Chatwoot: base_url, account_id, handoff_team_id. Evolution API: base_url, instance. "
                "WuzAPI: base_url. Messenger: page_id; Instagram: ig_account_id. "
                "Secrets go in the fields above (a secret left in this JSON is used, unencrypted). "
                "Any channel: burst_seconds, burst_max_wait_seconds, burst_max_messages, burst_separator, "
                "reply_spacing_seconds, agent_id."
            ),
        }),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    def changelist_view(self, request, extra_context=None):
        return _rendered_with(request, lambda: super(ChannelAdmin, self).changelist_view(request, extra_context))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _rendered_with(
            request, lambda: super(ChannelAdmin, self).changeform_view(request, object_id, form_url, extra_context)
        )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(conversations_total=Count("conversations"))

    @admin.display(description="Conversations", ordering="conversations_total")
    def conversation_count(self, obj: Channel) -> int:
        return getattr(obj, "conversations_total", 0)

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: Channel) -> str:
        if obj.pk is None:
            return "Shown once the channel is saved."
        scheme, store_host, platform_host = _hosts()
        url = services.webhook_url(obj, store_host=store_host, platform_host=platform_host, scheme=scheme)
        return format_html("<code>{}</code>", url) if url else "— (the API channel needs none)"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for key in SECRET_KEYS:
            value = form.cleaned_data.get(f"secret_{key}")
            if value:
                store_channel_secret(obj, key, value)
        services.sync_channel_routes(obj)

    def delete_model(self, request, obj):
        services.delete_channel(obj.pk)

    def delete_queryset(self, request, queryset):
        for channel_id in list(queryset.values_list("pk", flat=True)):
            services.delete_channel(channel_id)


class MessageInline(TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "direction", "author", "text", "attachment", "status", "error")
    readonly_fields = fields
    ordering = ("created_at", "pk")
    can_delete = False
    show_change_link = True
    verbose_name_plural = "thread"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Media")
    def attachment(self, obj: Message) -> str:
        if not obj.media_type:
            return ""
        return f"{obj.media_type}: {obj.media_ref}" + (f" ({obj.media_mime})" if obj.media_mime else "")


class TurnInline(TabularInline):
    model = ConversationTurn
    extra = 0
    fields = ("turn_key", "status", "attempts", "provider", "model", "reply", "error", "started_at", "finished_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "agent turns"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ConversationForm(forms.ModelForm):
    staff_message = forms.CharField(
        label="Send a message", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the contact through the channel as the store's team.",
    )

    class Meta:
        model = Conversation
        fields = ()


@admin.action(description="Hand off to a human (the bot goes silent)")
def hand_off(modeladmin, request, queryset):
    for conversation in queryset:
        services.handoff(conversation.pk, f"staff:{request.user.get_username()} took over", by="staff")
    modeladmin.message_user(request, f"{queryset.count()} conversation(s) are now with your team.")


@admin.action(description="Return to the bot")
def return_to_bot(modeladmin, request, queryset):
    for conversation in queryset:
        services.return_to_bot(conversation.pk, by=f"staff:{request.user.get_username()}")
    modeladmin.message_user(request, f"{queryset.count()} conversation(s) are back with the bot.")


@admin.register(Conversation)
class ConversationAdmin(ModelAdmin):
    form = ConversationForm
    list_display = ("__str__", "channel", "status", "lead", "message_count", "handoff_reason", "last_activity_at")
    list_filter = ("status", "channel")
    search_fields = ("contact_id", "contact_name", "lead__name", "lead__phone")
    list_select_related = ("channel", "lead")
    actions = [hand_off, return_to_bot]
    readonly_fields = ("channel", "contact_id", "contact_name", "external_id", "lead", "status",
                       "handoff_reason", "handoff_at", "last_activity_at", "created_at")
    fieldsets = (
        (None, {"fields": ("channel", "contact_name", "contact_id", "external_id", "lead")}),
        ("Who answers", {"fields": ("status", "handoff_reason", "handoff_at")}),
        (None, {"fields": ("staff_message",)}),
        (None, {"fields": ("last_activity_at", "created_at")}),
    )
    inlines = [MessageInline, TurnInline]

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        state = services.budget_state()
        if state.exceeded:
            self.message_user(request, _budget_notice(state), messages.WARNING)
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(messages_total=Count("messages"))

    @admin.display(description="Messages", ordering="messages_total")
    def message_count(self, obj: Conversation) -> int:
        return getattr(obj, "messages_total", 0)

    def save_model(self, request, obj, form, change):
        text = (form.cleaned_data.get("staff_message") or "").strip()
        if text:
            try:
                services.send_message(obj.pk, text, author="staff")
            except ChannelError as exc:
                self.message_user(request, exc.message, messages.ERROR)

    def response_change(self, request, obj):
        if "_handoff" in request.POST:
            services.handoff(obj.pk, f"staff:{request.user.get_username()} took over", by="staff")
            self.message_user(request, "The conversation is now with your team; the bot is silent.")
        elif "_return_to_bot" in request.POST:
            services.return_to_bot(obj.pk, by=f"staff:{request.user.get_username()}")
            self.message_user(request, "The conversation is back with the bot.")
        return super().response_change(request, obj)


@admin.action(description="Retry delivery of failed messages")
def retry_delivery(modeladmin, request, queryset):
    retried = sum(services.retry_message(m.pk) for m in queryset)
    modeladmin.message_user(request, f"{retried} message(s) queued again.")


@admin.register(Message)
class MessageAdmin(ModelAdmin):
    list_display = ("created_at", "conversation", "direction", "author", "short_text", "status", "error")
    list_filter = ("status", "direction", "channel")
    search_fields = ("text", "provider_message_id", "conversation__contact_id")
    list_select_related = ("conversation__channel",)
    actions = [retry_delivery]
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Text")
    def short_text(self, obj: Message) -> str:
        return (obj.text[:80] + "…") if len(obj.text) > 80 else obj.text


def _budget_notice(state) -> str:
    return (f"This month's token budget is used up ({state.used_tokens:,} of {state.monthly_tokens:,} tokens): "
            "the agents answer with the offline responder until the month ends or the budget is raised "
            "(Channels › Token budget).")


@admin.register(TokenBudget)
class TokenBudgetAdmin(ModelAdmin):
    """The store's monthly token budget (one row). Raising it lets the agents use their
    models again at once."""

    list_display = ("monthly_tokens", "used_this_month", "state", "exceeded_at")
    fields = ("monthly_tokens", "used_this_month", "state", "exceeded_at")
    readonly_fields = ("used_this_month", "state", "exceeded_at")

    def get_queryset(self, request):
        services.store_budget()  # the row exists from the first visit
        return super().get_queryset(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Used this month (tokens)")
    def used_this_month(self, obj: TokenBudget) -> str:
        return f"{services.budget_state().used_tokens:,}"

    @admin.display(description="State")
    def state(self, obj: TokenBudget) -> str:
        state = services.budget_state()
        if not state.monthly_tokens:
            return "No budget"
        return "Used up: offline responder" if state.exceeded else "Within budget"

    def save_model(self, request, obj, form, change):
        services.set_monthly_tokens(obj.monthly_tokens)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    """Read-only: templates are created and approved in Meta's WhatsApp Manager, then synced."""

    list_display = ("name", "language", "category", "status", "channel", "synced_at")
    list_filter = ("status", "category", "channel")
    search_fields = ("name",)
    readonly_fields = ("channel", "name", "language", "category", "status", "status_reason", "components",
                       "provider_template_id", "synced_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Process again")
def process_deliveries_again(modeladmin, request, queryset):
    count = services.process_again(queryset.values_list("pk", flat=True))
    modeladmin.message_user(request, f"{count} delivery(ies) queued to be processed again.")


@admin.register(InboundEvent)
class InboundEventAdmin(ModelAdmin):
    """The store's inbox: every webhook delivery as received, and whether the worker has
    processed it (a failed one shows its error and can be processed again)."""

    list_display = ("received_at", "provider", "channel", "processed", "attempts", "failed_at", "error")
    list_filter = ("provider", "processed", ("failed_at", admin.EmptyFieldListFilter))
    actions = [process_deliveries_again]
    readonly_fields = ("received_at", "provider", "channel", "payload", "processed", "processed_at", "attempts",
                       "next_attempt_at", "failed_at", "error")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False



@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ModelAdmin):
    list_display = ("url", "events", "active", "created_at")
    list_filter = ("active",)
    fields = ("url", "events", "active", "secret")
    readonly_fields = ("created_at",)


@admin.action(description="Replay (send the event again)")
def replay_deliveries(modeladmin, request, queryset):
    for delivery in queryset:
        events.replay(delivery.pk)
    modeladmin.message_user(request, f"{queryset.count()} event(s) queued again.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ModelAdmin):
    list_display = ("created_at", "event", "subscription", "status", "attempts", "response_status",
                    "response_ms", "error")
    list_filter = ("status", "event", "subscription")
    search_fields = ("event_id",)
    actions = [replay_deliveries]
    readonly_fields = ("subscription", "event_id", "event", "payload", "status", "attempts", "response_status",
                       "response_ms", "error", "log", "created_at", "delivered_at")

    def has_add_permission(self, request) -> bool:
        return False
