"""Knowledge errors, each with a stable code."""

from __future__ import annotations


class KnowledgeError(Exception):
    code = "knowledge_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class UnknownEmbedder(KnowledgeError):
    code = "unknown_embedder"


class EmbedderUnavailable(KnowledgeError):
    """A remote embedder kept failing (network, 429, 5xx) after the bounded retries."""

    code = "embedder_unavailable"


class EmbedderMismatch(KnowledgeError):
    """The embedder's dimensions do not fit the chunks' vector column."""

    code = "embedder_mismatch"


class UploadTooLarge(KnowledgeError):
    code = "upload_too_large"


class UnsupportedFileType(KnowledgeError):
    code = "unsupported_file_type"


class EmptyDocument(KnowledgeError):
    code = "empty_document"


class UnreadableDocument(KnowledgeError):
    code = "unreadable_document"


class DocumentNotFound(KnowledgeError):
    code = "document_not_found"


class CollectionNotFound(KnowledgeError):
    code = "collection_not_found"


class SourceUnreachable(KnowledgeError):
    """A document's URL could not be fetched (network error, timeout, HTTP error)."""

    code = "source_unreachable"
