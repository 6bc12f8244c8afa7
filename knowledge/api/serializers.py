"""The knowledge API's shapes: collections, documents (upload, URL, pasted text), search."""

from __future__ import annotations

from rest_framework import serializers

from knowledge.models import Collection, Document
from knowledge.search import MODES


class CollectionSerializer(serializers.ModelSerializer):
    document_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "chunk_tokens", "chunk_overlap", "document_count", "created_at"]
        # Creating is find-or-create by name; a rename is checked below.
        extra_kwargs = {"name": {"validators": []}}

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if self.instance is not None and Collection.objects.filter(name=value).exclude(pk=self.instance.pk).exists():
            raise serializers.ValidationError(f"The store already has a collection named {value!r}.")
        return value

    def validate(self, data: dict) -> dict:
        # A field left out keeps the collection's value, or takes the default of a new one.
        fields = Collection._meta
        tokens = data.get("chunk_tokens", getattr(self.instance, "chunk_tokens",
                                                  fields.get_field("chunk_tokens").get_default()))
        overlap = data.get("chunk_overlap", getattr(self.instance, "chunk_overlap",
                                                    fields.get_field("chunk_overlap").get_default()))
        if tokens is not None and tokens < 16:
            raise serializers.ValidationError({"chunk_tokens": ["At least 16 tokens."]})
        if tokens is not None and overlap is not None and overlap >= tokens:
            raise serializers.ValidationError({"chunk_overlap": ["Must be below chunk_tokens."]})
        return data


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = [
            "id", "collection", "title", "source_kind", "format", "source_url", "size_bytes",
            "content_hash", "status", "error", "progress", "chunk_count", "embedder",
            "created_at", "updated_at", "ingested_at",
        ]


class NewDocumentSerializer(serializers.Serializer):
    """Exactly one source: ``file`` (multipart), ``url`` or ``text``."""

    collection = serializers.IntegerField()
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    file = serializers.FileField(required=False, help_text="PDF, CSV, TXT, Markdown or HTML.")
    url = serializers.URLField(max_length=1000, required=False)
    text = serializers.CharField(required=False, trim_whitespace=False)
    text_format = serializers.ChoiceField(choices=["txt", "md"], default="txt",
                                          help_text="With text: plain or Markdown.")

    def validate(self, data: dict) -> dict:
        given = [name for name in ("file", "url", "text") if data.get(name) is not None]
        if len(given) != 1:
            field = given[1] if len(given) > 1 else "file"
            raise serializers.ValidationError({field: ["Give exactly one of file, url or text."]})
        if "text" in given and not data.get("title", "").strip():
            raise serializers.ValidationError({"title": ["Pasted text needs a title."]})
        return data


class AddedDocumentSerializer(DocumentSerializer):
    created = serializers.BooleanField(help_text="False: the same content was already in the collection.")

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "created"]


class ReindexSerializer(serializers.Serializer):
    queued = serializers.IntegerField()


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=2000, help_text="The question.")
    top_k = serializers.IntegerField(min_value=1, max_value=50, default=5)
    collection = serializers.ListField(child=serializers.IntegerField(), required=False,
                                       help_text="Only these collections (repeat the parameter).")
    mode = serializers.ChoiceField(choices=list(MODES), default="hybrid")
    min_score = serializers.FloatField(min_value=0, max_value=1, default=0)


class SearchHitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_title = serializers.CharField()
    collection_id = serializers.IntegerField()
    collection_name = serializers.CharField()
    text = serializers.CharField()
    source = serializers.CharField(help_text='How to cite it: "Returns policy, page 2".')
    page = serializers.IntegerField(allow_null=True)
    row = serializers.IntegerField(allow_null=True)
    heading = serializers.CharField(allow_blank=True)
    score = serializers.FloatField()
    similarity = serializers.FloatField(allow_null=True)
    text_rank = serializers.FloatField(allow_null=True)


class SearchResultSerializer(serializers.Serializer):
    results = SearchHitSerializer(many=True)
