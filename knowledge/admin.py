"""The store console (``django.contrib.admin.site``): collections, documents, uploads,
re-index, and a "try a search" page. Every change goes through ``knowledge.services``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from config.admin_base import ModelAdmin
from knowledge import curated, services
from knowledge.errors import KnowledgeError
from knowledge.models import Collection, CuratedAnswer, Document, KnowledgeSettings
from knowledge.search import MODES, search


@admin.register(KnowledgeSettings)
class KnowledgeSettingsAdmin(ModelAdmin):
    list_display = ["__str__", "embedder", "search_language", "curated_threshold"]

    def has_add_permission(self, request):
        return not KnowledgeSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        super().save_model(request, obj, form, change)
        if "embedder" in form.changed_data or "search_language" in form.changed_data:
            messages.warning(
                request,
                "Existing documents keep their vectors and full-text index until re-indexed "
                "(Documents → select → Re-index, or `manage.py reindex`).",
            )


@admin.register(Collection)
class CollectionAdmin(ModelAdmin):
    list_display = ["name", "documents", "chunk_tokens", "chunk_overlap", "created_at"]
    search_fields = ["name"]
    actions = ["reindex_collections"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_documents=Count("documents"))

    @admin.display(ordering="n_documents")
    def documents(self, obj):
        return obj.n_documents

    @admin.action(description="Re-index the selected collections")
    def reindex_collections(self, request, queryset):
        ids = list(Document.objects.filter(collection__in=queryset).values_list("pk", flat=True))
        count = services.reindex_documents(ids)
        messages.success(request, f"{count} document(s) queued for re-indexing.")

    def get_urls(self):
        return [
            path("search/", self.admin_site.admin_view(self.search_view), name="knowledge_search"),
            *super().get_urls(),
        ]

    def search_view(self, request):
        form = TrySearchForm(request.GET or None)
        hits = None
        if form.is_valid():
            data = form.cleaned_data
            hits = search(
                data["query"],
                top_k=data["top_k"] or 5,
                collection_ids=[data["collection"].pk] if data["collection"] else (),
                mode=data["mode"] or "hybrid",
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Try a search",
            "opts": self.model._meta,
            "form": form,
            "hits": hits,
        }
        return TemplateResponse(request, "admin/knowledge/search.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "try_search_url": "search/"}
        return super().changelist_view(request, extra_context)


class TrySearchForm(forms.Form):
    query = forms.CharField(max_length=500)
    collection = forms.ModelChoiceField(Collection.objects.all(), required=False)
    mode = forms.ChoiceField(choices=[(m, m) for m in MODES], required=False)
    top_k = forms.IntegerField(min_value=1, max_value=50, required=False, initial=5)


class DocumentUploadForm(forms.ModelForm):
    """Add a document: a file, or pasted text."""

    upload = forms.FileField(required=False, help_text="PDF, CSV, TXT, Markdown or HTML.")
    pasted_text = forms.CharField(
        required=False, widget=forms.Textarea, help_text="Or paste the text here."
    )

    class Meta:
        model = Document
        fields = ["collection", "title"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False

    def clean(self):
        data = super().clean()
        upload, text = data.get("upload"), data.get("pasted_text")
        if bool(upload) == bool((text or "").strip()):
            raise forms.ValidationError("Upload a file or paste text (one of the two).")
        if upload:
            self.upload_bytes = upload.read()
            try:
                services.validate_upload(upload.name, self.upload_bytes, field_name="upload")
            except KnowledgeError as exc:
                self.add_error("upload", exc.message)
        elif not data.get("title"):
            self.add_error("title", "A title is required for pasted text.")
        return data


@admin.register(Document)
class DocumentAdmin(ModelAdmin):
    list_display = [
        "title", "collection", "format", "status_badge", "progress_bar", "chunk_count",
        "embedder", "short_error", "updated_at",
    ]
    list_filter = ["status", "collection", "format", "embedder"]
    search_fields = ["title"]
    actions = ["reindex"]
    readonly_fields = [
        "source_kind", "format", "file", "size_bytes", "content_hash", "status", "progress",
        "error", "chunk_count", "embedder", "created_at", "updated_at", "ingested_at",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DocumentUploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["collection", "title", "upload", "pasted_text"]
        return ["collection", "title", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        if data.get("upload"):
            added = services.upload_document(
                data["collection"].pk, filename=data["upload"].name, data=form.upload_bytes,
                title=data.get("title") or "",
            )
        else:
            added = services.add_text_document(
                data["collection"].pk, title=data["title"], text=data["pasted_text"]
            )
        obj.pk = added.document.pk
        obj.refresh_from_db()
        if not added.created:
            messages.info(request, f"This content is already in the collection as “{obj.title}”.")

    def delete_model(self, request, obj):
        services.delete_document(obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.delete_document(pk)

    @admin.action(description="Re-index the selected documents")
    def reindex(self, request, queryset):
        count = services.reindex_documents(list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} document(s) queued for re-indexing.")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        colour = {"ready": "#2e7d32", "failed": "#c62828", "processing": "#1565c0"}.get(
            obj.status, "#666"
        )
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, obj):
        return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error




@admin.register(CuratedAnswer)
class CuratedAnswerAdmin(ModelAdmin):
    list_display = ["question", "is_approved", "source", "times_used", "last_used_at"]
    list_filter = ["is_approved", "source"]
    search_fields = ["question", "answer"]
    fields = ["question", "answer", "is_approved", "source", "times_used", "last_used_at"]
    readonly_fields = ["times_used", "last_used_at"]
    actions = ["approve"]

    def save_model(self, request, obj, form, change):
        saved = curated.save_curated_answer(
            form.cleaned_data["question"], form.cleaned_data["answer"],
            approved=form.cleaned_data["is_approved"], source=form.cleaned_data["source"],
            curated_answer_id=obj.pk if change else None,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Approve the selected answers")
    def approve(self, request, queryset):
        count = curated.approve_curated_answers(list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} curated answer(s) approved.")
