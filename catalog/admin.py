"""The store console's catalog: products (with variants inline), categories, synonyms,
the store profile, and CSV import. Registered on the store admin only (``admin.site``);
business rules live in services, which these pages call.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from catalog import services, sync
from catalog.embeddings import refresh_embeddings_on_commit
from catalog.errors import ImportFileInvalid
from catalog.files import attach_product_file, detach_product_file, product_files
from catalog.importing import import_products
from catalog.models import CatalogConnection, Category, Platform, Product, ProductFile, StoreProfile, Synonym
from catalog.selectors import get_store_profile
from config.admin_base import ModelAdmin, TabularInline
from knowledge.errors import KnowledgeError


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("in", "In stock"), ("out", "Out of stock"), ("untracked", "Not counted")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "in":
            return queryset.filter(Q(track_stock=False) | Q(stock_quantity__gt=0))
        if self.value() == "out":
            return queryset.filter(track_stock=True, stock_quantity=0)
        if self.value() == "untracked":
            return queryset.filter(track_stock=False)
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("products", "Products (no variants)"), ("variants", "Variants only")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "products":
            return queryset.filter(parent__isnull=True)
        if self.value() == "variants":
            return queryset.filter(parent__isnull=False)
        return queryset


class VariantInline(TabularInline):
    model = Product
    fk_name = "parent"
    extra = 0
    fields = ["sku", "name", "attributes", "price", "stock_quantity", "track_stock", "is_active"]
    verbose_name = "variant"
    verbose_name_plural = "variants (sizes, colours...)"
    show_change_link = True


class ProductFileForm(forms.ModelForm):
    file = forms.FileField(help_text="A size chart, manual... (PDF, TXT, Markdown, HTML, CSV).")

    class Meta:
        model = ProductFile
        fields = ["product", "title"]

    def clean_file(self):
        from knowledge.services import validate_upload

        upload = self.cleaned_data["file"]
        data = upload.read()
        try:
            validate_upload(upload.name, data)
        except KnowledgeError as exc:
            raise forms.ValidationError(exc.message) from exc
        self.cleaned_data["data"] = data
        return upload


class ProductFileInline(TabularInline):
    """Files already attached; new ones are attached with their own page (they are
    indexed into the knowledge base, which a plain inline save would skip)."""

    model = ProductFile
    extra = 0
    fields = ["title", "document_id", "indexing", "created_at"]
    readonly_fields = ["title", "document_id", "indexing", "created_at"]
    verbose_name_plural = "files (indexed into the knowledge base)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="indexing")
    def indexing(self, obj: ProductFile) -> str:
        found = next((f for f in product_files(obj.product_id) if f.id == obj.pk), None)
        return f"{found.status} {found.error}".strip() if found else "-"


@admin.register(ProductFile)
class ProductFileAdmin(ModelAdmin):
    """Attach a file to a product: it is indexed into the knowledge base ("Product files")."""

    form = ProductFileForm
    list_display = ["title", "product", "document_id", "created_at"]
    search_fields = ["title", "product__sku", "product__name"]
    autocomplete_fields = ["product"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # replace a file by deleting it and attaching the new one

    def save_model(self, request, obj: ProductFile, form, change: bool) -> None:
        attached = attach_product_file(
            form.cleaned_data["product"].pk,
            filename=form.cleaned_data["file"].name,
            data=form.cleaned_data["data"],
            title=form.cleaned_data.get("title", ""),
        )
        obj.pk, obj.document_id = attached.id, attached.document_id

    def delete_model(self, request, obj: ProductFile) -> None:
        detach_product_file(obj.pk)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        for pk in queryset.values_list("pk", flat=True):
            detach_product_file(pk)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A WooCommerce product export or a CSV with sku, name, price...")
    format = forms.ChoiceField(
        choices=[("auto", "Detect"), ("woocommerce", "WooCommerce export"), ("generic", "Generic CSV")],
        initial="auto",
    )


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = ["sku", "name", "price", "currency", "stock", "in_stock_flag", "is_active", "category"]
    list_display_links = ["sku", "name"]
    list_filter = ["is_active", StockFilter, KindFilter, "category"]
    search_fields = ["sku", "name", "parent__name", "category__name"]
    list_select_related = ["category"]
    list_per_page = 50
    autocomplete_fields = ["parent", "category"]
    readonly_fields = ["images", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["sku", "name", "description", "category", "parent", "is_active"]}),
        ("Price", {"fields": ["price", "compare_at_price", "currency"]}),
        ("Stock", {"fields": ["stock_quantity", "track_stock"]}),
        ("Details", {"fields": ["attributes", "image_urls", "images", "created_at", "updated_at"]}),
    ]
    inlines = [VariantInline, ProductFileInline]
    actions = ["activate", "deactivate"]
    change_list_template = "admin/catalog/product/change_list.html"

    @admin.display(description="stock", ordering="stock_quantity")
    def stock(self, obj: Product) -> str:
        return str(obj.stock_quantity) if obj.track_stock else "not counted"

    @admin.display(description="in stock", boolean=True)
    def in_stock_flag(self, obj: Product) -> bool:
        return obj.in_stock

    @admin.display(description="images")
    def images(self, obj: Product) -> str:
        if not obj.image_urls:
            return "-"
        return format_html_join(
            " ", '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="" '
            'style="height:80px;border-radius:4px"></a>', ((url,) for url in obj.image_urls)
        )

    @admin.action(description="Activate selected products")
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(is_active=True)
        self.message_user(request, f"{count} product(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected products (hidden from customers)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(is_active=False)
        self.message_user(request, f"{count} product(s) deactivated.", messages.SUCCESS)

    def save_model(self, request, obj: Product, form, change: bool) -> None:
        before = form.initial.get("stock_quantity") if change else None
        super().save_model(request, obj, form, change)
        if change and "stock_quantity" in form.changed_data and before is not None:
            services.announce_stock_change(obj, int(before), obj.stock_quantity)
        refresh_embeddings_on_commit()

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_product_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        report = None
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = import_products(form.cleaned_data["file"].read(), format=form.cleaned_data["format"])
            except ImportFileInvalid as exc:
                form.add_error("file", exc.message)
            else:
                level = messages.WARNING if report.errors else messages.SUCCESS
                self.message_user(
                    request,
                    f"Imported: {report.created} created, {report.updated} updated, "
                    f"{len(report.errors)} row(s) with errors.",
                    level,
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import products from CSV",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/catalog/product/import.html", context)


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ["name", "slug", "parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(Synonym)
class SynonymAdmin(ModelAdmin):
    list_display = ["term", "equivalent_words"]
    search_fields = ["term"]

    @admin.display(description="equivalents")
    def equivalent_words(self, obj: Synonym) -> str:
        return ", ".join(obj.equivalents)


@admin.register(StoreProfile)
class StoreProfileAdmin(ModelAdmin):
    """One profile per store: the list page opens it directly."""

    fieldsets = [
        (None, {"fields": ["company_name", "language", "currency"]}),
        ("Contact", {"fields": ["address", "opening_hours", "contact_phone", "contact_email", "website"]}),
        ("Policies", {"fields": ["shipping_policy", "returns_policy", "payment_policy"]}),
    ]

    def changelist_view(self, request, extra_context=None):
        profile = get_store_profile()
        return HttpResponseRedirect(reverse("admin:catalog_storeprofile_change", args=[profile.pk]))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CatalogConnectionForm(forms.ModelForm):
    """The connection, with its secrets written to the credentials vault (never shown)."""

    consumer_key = forms.CharField(required=False, widget=forms.PasswordInput, help_text="WooCommerce.")
    consumer_secret = forms.CharField(required=False, widget=forms.PasswordInput, help_text="WooCommerce.")
    access_token = forms.CharField(required=False, widget=forms.PasswordInput, help_text="Tiendanube.")

    class Meta:
        model = CatalogConnection
        fields = [
            "name", "platform", "base_url", "store_id", "credential_name", "user_agent",
            "is_enabled", "sync_every_minutes",
        ]


@admin.register(CatalogConnection)
class CatalogConnectionAdmin(ModelAdmin):
    form = CatalogConnectionForm
    list_display = ["name", "platform", "is_enabled", "sync_every_minutes", "last_synced_at", "last_status"]
    list_filter = ["platform", "is_enabled", "last_status"]
    readonly_fields = ["last_sync_started_at", "last_synced_at", "last_status", "last_error", "last_report"]
    fieldsets = [
        (None, {"fields": ["name", "platform", "base_url", "store_id", "user_agent"]}),
        ("Schedule", {"fields": ["is_enabled", "sync_every_minutes"]}),
        ("Secrets (kept in the credentials vault; leave empty to keep the current ones)",
         {"fields": ["credential_name", "consumer_key", "consumer_secret", "access_token"]}),
        ("Last sync", {"fields": readonly_fields}),
    ]
    actions = ["sync_now"]

    def save_model(self, request, obj: CatalogConnection, form, change: bool) -> None:
        from agents.vault import set_credential

        super().save_model(request, obj, form, change)
        woo = obj.platform == Platform.WOOCOMMERCE
        keys = ["consumer_key", "consumer_secret"] if woo else ["access_token"]
        for key in keys:
            if form.cleaned_data.get(key):
                set_credential("other", f"{obj.credential_name}:{key}", form.cleaned_data[key])

    @admin.action(description="Sync now (in the background)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        for connection in queryset:
            sync.request_sync(connection.pk)
        self.message_user(
            request, f"Sync of {queryset.count()} connection(s) queued; see 'Last sync' for the outcome.",
            messages.SUCCESS,
        )
