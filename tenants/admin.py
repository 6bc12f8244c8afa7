"""The platform admin (public domain): operators create, list and delete stores.

It is a separate AdminSite so that nothing of the public schema (stores, domains) is
ever registered on a store's own admin console.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group, User
from unfold.sites import UnfoldAdminSite

from config.admin_base import ModelAdmin, StaffGroupAdmin, StaffUserAdmin, TabularInline
from tenants import services
from tenants.errors import TenantError
from tenants.models import Domain, Tenant


class PlatformAdminSite(UnfoldAdminSite):
    site_header = "Atendo platform"
    site_title = "Atendo platform"
    index_title = "Stores and operators"


platform_admin_site = PlatformAdminSite(name="platform_admin")


class NewStoreForm(forms.ModelForm):
    owner_email = forms.EmailField(help_text="The store's first staff user (its owner).")
    owner_password = forms.CharField(
        required=False, widget=forms.PasswordInput,
        help_text="Leave empty to get a link where the owner sets it.",
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name"]

    def clean_slug(self) -> str:
        try:
            return services.validate_slug(self.cleaned_data["slug"])
        except TenantError as exc:
            raise forms.ValidationError(exc.message) from exc


class DomainInline(TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant, site=platform_admin_site)
class StoreAdmin(ModelAdmin):
    list_display = ["slug", "name", "schema_name", "primary_domain", "is_active", "created_at"]
    search_fields = ["slug", "name", "domains__domain"]
    list_filter = ["is_active"]
    actions = None  # no bulk delete: each deletion is confirmed on its own page

    def get_queryset(self, request):
        return super().get_queryset(request).stores().prefetch_related("domains")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = NewStoreForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["slug", "name", "owner_email", "owner_password"]
        return ["slug", "name", "schema_name", "is_active", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "schema_name", "created_at"] if obj else []

    def get_inlines(self, request, obj):
        return [DomainInline] if obj else []

    @admin.display(description="Domain")
    def primary_domain(self, obj: Tenant) -> str:
        return next((d.domain for d in obj.domains.all() if d.is_primary), "")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            store = services.provision_store(
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data["name"],
                owner_email=form.cleaned_data["owner_email"],
                owner_password=form.cleaned_data.get("owner_password") or None,
            )
        except TenantError as exc:
            messages.error(request, exc.message)
            raise
        obj.pk = store.tenant_id
        obj.refresh_from_db()
        note = f"Store ready at http://{store.domain}/admin/ in {store.seconds * 1000:.0f} ms."
        if store.set_password_path:
            note += f" The owner sets a password at http://{store.domain}{store.set_password_path}"
        messages.success(request, note)

    def delete_model(self, request, obj):
        services.delete_store(obj.slug, confirm=obj.slug)


platform_admin_site.register(User, StaffUserAdmin)
platform_admin_site.register(Group, StaffGroupAdmin)
