"""Catalog errors, each with a stable code."""

from __future__ import annotations


class CatalogError(Exception):
    code = "catalog_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class OutOfStock(CatalogError):
    code = "out_of_stock"

    def __init__(self, sku: str, requested: int, available: int):
        super().__init__(
            f"Only {available} unit(s) of {sku} in stock; {requested} requested.", field="quantity"
        )
        self.sku = sku
        self.requested = requested
        self.available = available


class ProductNotFound(CatalogError):
    code = "product_not_found"


class ImportFileInvalid(CatalogError):
    """The file as a whole cannot be read (encoding, no header, unknown format)."""

    code = "import_file_invalid"


class StoreRequired(CatalogError):
    """A store-scoped operation was asked for outside any store (the public schema)."""

    code = "store_required"


class InvalidSearch(CatalogError):
    code = "invalid_search"


class EmbeddingsUnavailable(CatalogError):
    """The store's embedder cannot fill the product vectors (e.g. another width)."""

    code = "embeddings_unavailable"


class CatalogConnectionNotFound(CatalogError):
    code = "catalog_connection_not_found"


class SyncSourceUnavailable(CatalogError):
    """The shop platform could not be reached or answered 5xx/429 (retryable)."""

    code = "sync_source_unavailable"


class SyncRejected(CatalogError):
    """The shop platform refused the request (credentials, store id, URL): not retryable
    until staff fix the connection."""

    code = "sync_rejected"
