"""The catalog's API shapes: products, categories, synonyms, the store profile, CSV import
and the ERP's stock sync."""

from __future__ import annotations

from rest_framework import serializers

from catalog.importing import FORMATS
from catalog.models import Category, Product, StoreProfile, Synonym
from catalog.text import fold

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_SYNC_SKUS = 10_000


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]

    def validate_parent(self, parent: Category | None) -> Category | None:
        current = self.instance
        ancestor = parent
        while current is not None and ancestor is not None:
            if ancestor.pk == current.pk:
                raise serializers.ValidationError("A category cannot sit under itself.")
            ancestor = ancestor.parent
        return parent


class ProductSerializer(serializers.ModelSerializer):
    in_stock = serializers.BooleanField(read_only=True, help_text="False only when stock is counted and zero.")
    attributes = serializers.DictField(
        required=False, help_text='e.g. {"size": "36", "colour": "pink"}; a parent lists options: {"size": ["34", "36"]}'
    )
    image_urls = serializers.ListField(child=serializers.URLField(max_length=2000), required=False)

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "description", "price", "compare_at_price", "currency",
            "stock_quantity", "track_stock", "in_stock", "is_active", "category", "parent",
            "attributes", "image_urls", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use an ISO 4217 code such as BRL or USD.")
        return value.upper()

    def validate_parent(self, parent: Product | None) -> Product | None:
        if parent is None:
            return None
        if self.instance is not None and parent.pk == self.instance.pk:
            raise serializers.ValidationError("A product cannot be its own variant.")
        if parent.parent_id is not None:
            raise serializers.ValidationError("A variant cannot have variants; name its parent.")
        if self.instance is not None and self.instance.variants.exists():
            raise serializers.ValidationError("This product has variants; it cannot become one.")
        return parent


class SynonymSerializer(serializers.ModelSerializer):
    equivalents = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False,
        help_text="The catalog's words for the term.",
    )

    class Meta:
        model = Synonym
        fields = ["id", "term", "equivalents"]
        # Terms are stored folded; uniqueness is checked on the folded term below.
        extra_kwargs = {"term": {"validators": []}}

    def validate_term(self, value: str) -> str:
        term = fold(value)
        if not term:
            raise serializers.ValidationError("The term cannot be blank.")
        taken = Synonym.objects.filter(term=term)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"The store already has a synonym for {term!r}.")
        return term

    def validate_equivalents(self, value: list[str]) -> list[str]:
        words = [w.strip() for w in value if w.strip()]
        if not words:
            raise serializers.ValidationError("Give at least one word.")
        return words


class StoreProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = StoreProfile
        fields = [
            "company_name", "address", "opening_hours", "contact_phone", "contact_email",
            "website", "shipping_policy", "returns_policy", "payment_policy", "language",
            "currency", "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def validate_currency(self, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise serializers.ValidationError("Use an ISO 4217 code such as BRL or USD.")
        return value.upper()


class ProductImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A WooCommerce product export or a generic CSV (sku, name, price...).")
    format = serializers.ChoiceField(choices=list(FORMATS), default="auto")

    def validate_file(self, value):
        if value.size > MAX_IMPORT_BYTES:
            raise serializers.ValidationError(f"The file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return value


class ImportRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The file's line (the header is line 1).")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    format = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    imported = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)


class StockSyncSerializer(serializers.Serializer):
    levels = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        allow_empty=False,
        help_text='Absolute quantities by SKU, e.g. {"SAP-36": 4, "SAP-37": "0"}.',
    )

    def validate_levels(self, value: dict) -> dict:
        if len(value) > MAX_SYNC_SKUS:
            raise serializers.ValidationError(f"Send at most {MAX_SYNC_SKUS} SKUs per request.")
        return value


class InvalidStockLevelSerializer(serializers.Serializer):
    sku = serializers.CharField()
    message = serializers.CharField()


class StockSyncReportSerializer(serializers.Serializer):
    updated = serializers.ListField(child=serializers.CharField(), help_text="SKUs whose quantity was set.")
    unchanged = serializers.ListField(child=serializers.CharField())
    unknown_skus = serializers.ListField(child=serializers.CharField(),
                                         help_text="Not in the store's catalog; nothing was done for them.")
    invalid = InvalidStockLevelSerializer(many=True)


class ProductFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A size chart, manual... (PDF, TXT, Markdown, HTML, CSV).")
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ProductFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    document_id = serializers.IntegerField(help_text="The knowledge base document holding its chunks.")
    status = serializers.CharField(help_text="Indexing: pending, processing, ready, failed.")
    error = serializers.CharField()


class CatalogConnectionSerializer(serializers.Serializer):
    """A shop platform connection (its secrets stay in the vault and are never shown)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    platform = serializers.CharField()
    base_url = serializers.CharField()
    store_id = serializers.CharField()
    is_enabled = serializers.BooleanField()
    sync_every_minutes = serializers.IntegerField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_status = serializers.CharField()
    last_error = serializers.CharField()
    last_report = serializers.DictField()
