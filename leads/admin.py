"""Leads in the store's admin console: identities and timeline inline."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count

from config.admin_base import ModelAdmin, TabularInline
from leads import services
from leads.errors import LeadError
from leads.models import Lead, LeadEvent, LeadIdentity, Stage


class LeadIdentityInline(TabularInline):
    model = LeadIdentity
    extra = 0
    fields = ("kind", "value", "created_at")
    readonly_fields = ("created_at",)


class LeadEventInline(TabularInline):
    model = LeadEvent
    extra = 0
    fields = ("at", "kind", "payload")
    readonly_fields = fields
    ordering = ("-at", "-pk")
    can_delete = False
    verbose_name_plural = "timeline"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _stage_action(stage: str):
    def action(modeladmin, request, queryset):
        for lead in queryset:
            services.change_stage(
                lead.pk, stage, by=f"staff:{request.user.get_username()}"
            )
        modeladmin.message_user(
            request, f"{queryset.count()} lead(s) moved to {stage}."
        )

    action.__name__ = f"move_to_{stage}"
    action.short_description = f"Move to stage: {stage}"
    return action


@admin.action(description="Rebuild the long-term profile")
def refresh_profiles(modeladmin, request, queryset):
    for lead in queryset:
        services.refresh_profile(lead.pk)
    modeladmin.message_user(request, f"{queryset.count()} profile(s) rebuilt.")


@admin.action(description="Merge the selected leads into the oldest one")
def merge_selected(modeladmin, request, queryset):
    leads = list(queryset.order_by("created_at", "pk"))
    if len(leads) < 2:
        modeladmin.message_user(
            request, "Select at least two leads to merge.", messages.WARNING
        )
        return
    keep = leads[0]
    try:
        for other in leads[1:]:
            keep = services.merge_leads(
                keep.pk, other.pk, by=f"staff:{request.user.get_username()}"
            )
    except LeadError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    modeladmin.message_user(request, f"Merged {len(leads) - 1} lead(s) into {keep}.")


@admin.register(Lead)
class LeadAdmin(ModelAdmin):
    list_display = (
        "__str__",
        "phone",
        "email",
        "stage",
        "source_channel",
        "identity_count",
        "updated_at",
    )
    list_filter = ("stage", "source_channel", "consent_marketing", "consent_whatsapp")
    search_fields = ("name", "phone", "email", "identities__value")
    readonly_fields = (
        "stage",
        "profile_summary",
        "profile_refreshed_at",
        "created_at",
        "updated_at",
    )
    exclude = ("profile_embedding",)
    inlines = [LeadIdentityInline, LeadEventInline]
    actions = [
        *(_stage_action(stage) for stage in Stage.values),
        refresh_profiles,
        merge_selected,
    ]

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(identity_total=Count("identities"))
        )

    @admin.display(description="identities", ordering="identity_total")
    def identity_count(self, obj: Lead) -> int:
        return obj.identity_total
