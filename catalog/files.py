"""Product files (size charts, manuals, PDFs): attached to a product and indexed into the
store's knowledge base through the knowledge app's ingestion, with the product as each
chunk's metadata (``product_id``, ``product_sku``, ``product_name``), so an agent's
knowledge search can be narrowed to one product and a hit says which product it is about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from catalog.errors import ProductNotFound
from catalog.models import Product, ProductFile
from knowledge import services as knowledge
from knowledge.errors import DocumentNotFound
from knowledge.models import Document

logger = logging.getLogger(__name__)

COLLECTION = "Product files"


@dataclass(frozen=True)
class AttachedFile:
    id: int
    product_id: int
    title: str
    document_id: int
    status: str  # the knowledge document's: pending, processing, ready, failed
    error: str = ""


def attach_product_file(
    product_id: int, *, filename: str, data: bytes, title: str = "", ingest: str = "async"
) -> AttachedFile:
    """Attach a file to a product and index it (``ingest``: ``async`` on commit, ``sync`` now).

    The file is validated by the knowledge app (type by content, size limit): its
    ``UploadTooLarge``/``UnsupportedFileType``/``EmptyDocument`` name the ``file`` field.
    Idempotent: the same bytes attached again to the product return the same attachment.
    Raises ``ProductNotFound``.
    """
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(f"No product with id {product_id}.", field="product_id")
    title = (title or filename.rsplit("/", 1)[-1]).strip()
    with transaction.atomic():
        collection = knowledge.create_collection(
            COLLECTION, description="Size charts, manuals and other files attached to products."
        )
        added = knowledge.upload_document(
            collection.pk,
            filename=filename,
            data=data,
            # The product's name in the title: the knowledge app weighs titles highest.
            title=f"{title} — {product.name}",
            ingest="none" if ingest == "sync" else ingest,
            metadata={"product_id": product.pk, "product_sku": product.sku, "product_name": product.name},
        )
        attached, _ = ProductFile.objects.get_or_create(
            product=product, document_id=added.document.pk, defaults={"title": title[:300]}
        )
    if ingest == "sync" and added.created:
        knowledge.ingest_document(added.document.pk)
    logger.info(
        "catalog.product_file_attached",
        extra={"product_id": product.pk, "document_id": added.document.pk, "new": added.created},
    )
    return _summary(attached)


def detach_product_file(product_file_id: int) -> None:
    """Remove the attachment and, when no other product shares it, its document and chunks."""
    with transaction.atomic():
        attached = ProductFile.objects.select_for_update().filter(pk=product_file_id).first()
        if attached is None:
            raise ProductNotFound(f"No product file with id {product_file_id}.", field="file_id")
        document_id = attached.document_id
        attached.delete()
        if not ProductFile.objects.filter(document_id=document_id).exists():
            try:
                knowledge.delete_document(document_id)
            except DocumentNotFound:
                pass  # deleted from the knowledge base already


def product_files(product_id: int) -> list[AttachedFile]:
    """The product's files with their indexing status."""
    return [_summary(f) for f in ProductFile.objects.filter(product_id=product_id)]


def _summary(attached: ProductFile) -> AttachedFile:
    document = Document.objects.filter(pk=attached.document_id).values("status", "error").first() or {
        "status": "missing",
        "error": "The document was deleted from the knowledge base.",
    }
    return AttachedFile(
        id=attached.pk,
        product_id=attached.product_id,
        title=attached.title,
        document_id=attached.document_id,
        status=document["status"],
        error=document["error"],
    )
