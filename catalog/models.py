"""A store's catalog: categories, products (with variants), stock."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from pgvector.django import HnswIndex, VectorField

from catalog.text import fold


class Category(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        from catalog.search_index import refresh_search_index

        # Category names are in the products' documents (rare change: refresh them all).
        refresh_search_index()


_INDEXED_FIELDS = {"name", "description", "sku", "attributes", "category", "category_id", "parent", "parent_id"}


class Product(models.Model):
    """Something the store sells. A variant (e.g. a size) is a Product with a ``parent``."""

    sku = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="BRL")
    stock_quantity = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    # False when the store does not count units (WooCommerce "manage stock" off, marked
    # "in stock"): the product is available while active and a sale takes nothing out.
    track_stock = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    # e.g. {"size": "36", "colour": "pink"}
    attributes = models.JSONField(default=dict, blank=True)
    image_urls = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="variants"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Search index, derived (catalog.search_index): the full-text document in the store's
    # language and the unaccented lowercase name for trigram matching. Never edit by hand.
    search_vector = SearchVectorField(null=True, editable=False)
    search_title = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0), name="product_stock_not_negative"
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="product_search_vector"),
            GinIndex(
                fields=["search_title"], opclasses=["gin_trgm_ops"], name="product_search_title_trgm"
            ),
            models.Index(
                fields=["id"], name="product_search_stale", condition=models.Q(search_vector=None)
            ),
            # Search compares the query to SKUs case-insensitively.
            models.Index(Lower("sku"), name="product_sku_lower"),
        ]

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not set(update_fields) & _INDEXED_FIELDS:
            return
        from catalog.search_index import refresh_search_index

        # Its variants' documents carry its name, and its own depends on having variants.
        family = [self.pk, *([self.parent_id] if self.parent_id else [])]
        refresh_search_index(family, with_variants=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return not self.track_stock or self.stock_quantity > 0


class Language(models.TextChoices):
    PORTUGUESE = "pt", "Português"
    SPANISH = "es", "Español"
    ENGLISH = "en", "English"


class StoreProfile(models.Model):
    """The facts an agent needs about the store itself. One row per store (``pk`` 1)."""

    SINGLETON_PK = 1

    company_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    opening_hours = models.TextField(blank=True, help_text="e.g. Mon-Fri 9:00-18:00, Sat 9:00-13:00")
    contact_phone = models.CharField(max_length=40, blank=True)
    contact_email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    shipping_policy = models.TextField(blank=True)
    returns_policy = models.TextField(blank=True)
    payment_policy = models.TextField(blank=True)
    # Also picks the full-text search configuration (portuguese, spanish, english).
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.PORTUGUESE)
    currency = models.CharField(max_length=3, default="BRL", help_text="ISO 4217, e.g. BRL, ARS, USD")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "store profile"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="store_profile_is_a_singleton"),
        ]

    def __str__(self) -> str:
        return self.company_name or "Store profile"

    def save(self, *args, **kwargs) -> None:
        before = StoreProfile.objects.filter(pk=self.pk).values_list("language", flat=True).first()
        super().save(*args, **kwargs)
        if before is not None and before != self.language:
            from catalog.search_index import refresh_search_index

            # Documents are stemmed in the store's language: rebuild them in the new one.
            refresh_search_index()


class Synonym(models.Model):
    """A customer's word and the catalog's words for it, applied at search time.

    One way: a query with ``term`` also looks for each of ``equivalents`` (add the reverse
    row when it should work both ways). Terms are kept lowercase and without accents.
    """

    term = models.CharField(max_length=100, unique=True)
    equivalents = ArrayField(models.CharField(max_length=100), help_text="Comma-separated.")

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} → {', '.join(self.equivalents)}"

    def save(self, *args, **kwargs) -> None:
        # Queries are folded the same way before synonyms are looked up.
        self.term = fold(self.term)
        self.equivalents = [e.strip() for e in self.equivalents if e and e.strip()]
        super().save(*args, **kwargs)


# The vector column's width (the knowledge app's default embedder, multilingual-e5-small).
EMBEDDING_DIMENSIONS = 384


class ProductEmbedding(models.Model):
    """A product's meaning as a vector, for the semantic leg of search.

    ``content_hash`` is of the text that was embedded (and the embedder's name), so a
    refresh embeds only products whose text changed.
    """

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
    )
    embedder = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            HnswIndex(
                name="product_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]


class Platform(models.TextChoices):
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    TIENDANUBE = "tiendanube", "Tiendanube / Nuvemshop"


class CatalogConnection(models.Model):
    """The shop platform a store already sells on, whose catalog is pulled into Atendo.

    Secrets live in the credentials vault (category ``other``), named after
    ``credential_name``: WooCommerce ``<name>:consumer_key`` and ``<name>:consumer_secret``,
    Tiendanube ``<name>:access_token``.
    """

    name = models.CharField(max_length=100, unique=True)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    base_url = models.URLField(
        max_length=500,
        help_text="WooCommerce: the shop's address (https://shop.example.com). Tiendanube: "
        "the API's address (https://api.tiendanube.com/v1 or https://api.nuvemshop.com.br/v1).",
    )
    store_id = models.CharField(
        max_length=40, blank=True, help_text="Tiendanube: the store id (user_id) the token belongs to."
    )
    credential_name = models.CharField(
        max_length=100, help_text="Prefix of this connection's secrets in the credentials vault."
    )
    user_agent = models.CharField(
        max_length=200,
        blank=True,
        help_text='Tiendanube requires "App name (contact e-mail)"; WooCommerce ignores it.',
    )
    is_enabled = models.BooleanField(default=True)
    sync_every_minutes = models.PositiveIntegerField(
        default=60, help_text="How often beat pulls the catalog; 0 = only on demand."
    )
    last_sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status = models.CharField(max_length=20, blank=True, editable=False)  # ok | errors | failed
    last_error = models.TextField(blank=True, editable=False)
    last_report = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"


class ProductFile(models.Model):
    """A size chart, manual or other file about a product, indexed into the knowledge base
    (collection "Product files") with the product's SKU, id and name as chunk metadata."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="files")
    title = models.CharField(max_length=300)
    # The knowledge app's document (its own app owns the file and its chunks).
    document_id = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "title"]
        constraints = [
            models.UniqueConstraint(fields=["product", "document_id"], name="product_file_once"),
        ]

    def __str__(self) -> str:
        return self.title
