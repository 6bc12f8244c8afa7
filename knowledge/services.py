"""State changes of the knowledge base: collections, documents, ingestion, deletion.

Everything here runs in the current store's schema; nothing names a schema.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from knowledge import spaces
from knowledge.chunking import ChunkDraft, chunk_sections, token_counter_for
from knowledge.embedders import Embedder, get_embedder
from knowledge.errors import (
    CollectionNotFound,
    DocumentNotFound,
    EmbedderMismatch,
    EmbedderUnavailable,
    EmptyDocument,
    KnowledgeError,
    SourceUnreachable,
    UploadTooLarge,
)
from knowledge.models import (
    Chunk,
    Collection,
    Document,
    EmbeddingSpace,
    KnowledgeSettings,
)
from knowledge.parsing import Section, detect_format, parse
from knowledge.selectors import search_language
from knowledge.spaces import (  # noqa: F401 - part of this module's public surface
    begin_embedder_switch,
    cancel_embedder_switch,
    complete_embedder_switch,
    store_settings,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddedDocument:
    document: Document
    # False when the same content was already in the collection (nothing new was stored).
    created: bool


def set_store_embedder(name: str) -> KnowledgeSettings:
    """Point the store's search at another embedder at once ("" = platform default).
    Raises ``UnknownEmbedder``.

    Search then reads that embedder's space, empty until documents are embedded into it:
    to move a store that has documents without a gap, use ``begin_embedder_switch`` /
    ``complete_embedder_switch`` (``reindex --embedder``).
    """
    if name:
        get_embedder(name)
    obj = store_settings()
    obj.embedder = name
    obj.save(update_fields=["embedder"])
    return obj


def create_collection(
    name: str, *, description: str = "", chunk_tokens: int | None = None,
    chunk_overlap: int | None = None,
) -> Collection:
    """A collection, or the existing one of that name (idempotent)."""
    defaults = {"description": description}
    if chunk_tokens is not None:
        defaults["chunk_tokens"] = chunk_tokens
    if chunk_overlap is not None:
        defaults["chunk_overlap"] = chunk_overlap
    collection, _ = Collection.objects.get_or_create(name=name, defaults=defaults)
    return collection


def _collection(collection_id: int) -> Collection:
    try:
        return Collection.objects.get(pk=collection_id)
    except Collection.DoesNotExist as exc:
        raise CollectionNotFound(f"No collection {collection_id}.", field="collection") from exc


def validate_upload(filename: str, data: bytes, field_name: str = "file") -> str:
    """The format of an acceptable upload; raises ``UploadTooLarge``, ``EmptyDocument`` or
    ``UnsupportedFileType``, each naming ``field_name``."""
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise UploadTooLarge(
            f"{field_name}: {filename} is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{limit / 1_048_576:.0f} MB.",
            field=field_name,
        )
    if not data.strip():
        raise EmptyDocument(f"{field_name}: {filename} is empty.", field=field_name)
    return detect_format(data, filename, field_name=field_name)


def upload_document(
    collection_id: int, *, filename: str, data: bytes, title: str = "", ingest: str = "async",
    metadata: dict | None = None,
) -> AddedDocument:
    """Store an uploaded file and ingest it.

    Validates size (``KNOWLEDGE_MAX_UPLOAD_BYTES``) and type by content; raises
    ``UploadTooLarge`` / ``UnsupportedFileType`` naming the ``file`` field. The same bytes
    uploaded again into the collection return the existing document (``created=False``).
    ``ingest``: ``"async"`` enqueues the task on commit, ``"sync"`` ingests now, ``"none"``.
    ``metadata`` (e.g. ``{"product_sku": ...}``) is kept on the document and copied into
    each of its chunks' metadata (a chunk's own keys, such as ``page``, win).
    """
    fmt = validate_upload(filename, data)
    collection = _collection(collection_id)
    return _add(
        collection,
        title=title or filename.rsplit("/", 1)[-1],
        source_kind=Document.SourceKind.FILE,
        fmt=fmt,
        data=data,
        filename=filename,
        ingest=ingest,
        metadata=metadata,
    )


_FORMAT_BY_CONTENT_TYPE = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/csv": ".csv",
    "text/markdown": ".md",
    "text/plain": ".txt",
}


def add_url_document(
    collection_id: int, *, url: str, title: str = "", ingest: str = "async"
) -> AddedDocument:
    """Fetch a page or file by URL (timeout, size limit) and add it like an upload.

    The type comes from the response's Content-Type (else the URL's extension) and is
    checked against the content. Raises ``SourceUnreachable`` (field ``url``) when the
    fetch fails, and the upload errors otherwise.
    """
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceUnreachable(f"url: {url!r} is not an http(s) URL.", field="url")
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    request = urllib.request.Request(url, headers={"User-Agent": "Atendo-knowledge/1.0"})
    try:
        with urllib.request.urlopen(request, timeout=settings.KNOWLEDGE_FETCH_TIMEOUT) as response:
            data = response.read(limit + 1)
            content_type = response.headers.get_content_type()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnreachable(f"url: could not fetch {url}: {reason}", field="url") from exc
    name = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
    suffix = _FORMAT_BY_CONTENT_TYPE.get(content_type)
    if suffix and not name.lower().endswith(suffix):
        name = f"{name}{suffix}"
    fmt = validate_upload(name, data, field_name="url")
    collection = _collection(collection_id)
    added = _add(
        collection, title=title or name, source_kind=Document.SourceKind.URL, fmt=fmt,
        data=data, filename=name, ingest="none",
    )
    if added.created:
        Document.objects.filter(pk=added.document.pk).update(source_url=url)
        added.document.source_url = url
        _schedule_ingestion(added.document, ingest)
    return added


def add_text_document(
    collection_id: int, *, title: str, text: str, fmt: str = "txt", ingest: str = "async"
) -> AddedDocument:
    """Pasted text (plain or Markdown with ``fmt="md"``) as a document; same rules as uploads."""
    data = text.encode()
    if not text.strip():
        raise EmptyDocument("text: the text is empty.", field="text")
    if len(data) > settings.KNOWLEDGE_MAX_UPLOAD_BYTES:
        raise UploadTooLarge("text: the text is larger than the upload limit.", field="text")
    collection = _collection(collection_id)
    return _add(
        collection, title=title, source_kind=Document.SourceKind.TEXT, fmt=fmt, data=data,
        filename="", ingest=ingest,
    )


def _add(
    collection: Collection, *, title: str, source_kind: str, fmt: str, data: bytes,
    filename: str, ingest: str, metadata: dict | None = None,
) -> AddedDocument:
    content_hash = hashlib.sha256(data).hexdigest()
    existing = Document.objects.filter(collection=collection, content_hash=content_hash).first()
    if existing is not None:
        return AddedDocument(existing, created=False)
    document = Document(
        collection=collection, title=title[:300], source_kind=source_kind, format=fmt,
        size_bytes=len(data), content_hash=content_hash, metadata=dict(metadata or {}),
    )
    if source_kind == Document.SourceKind.TEXT:
        document.text = data.decode()
    try:
        with transaction.atomic():
            if source_kind in (Document.SourceKind.FILE, Document.SourceKind.URL):
                document.file.save(filename.rsplit("/", 1)[-1], ContentFile(data), save=False)
            document.save()
    except IntegrityError:
        # A concurrent upload of the same content won the unique constraint.
        if document.file:
            document.file.delete(save=False)
        return AddedDocument(
            Document.objects.get(collection=collection, content_hash=content_hash), created=False
        )
    logger.info(
        "knowledge.document.added",
        extra={"document_id": document.pk, "collection_id": collection.pk, "format": fmt},
    )
    _schedule_ingestion(document, ingest)
    return AddedDocument(document, created=True)


def _schedule_ingestion(document: Document, ingest: str) -> None:
    if ingest == "sync":
        ingest_document(document.pk)
        document.refresh_from_db()
    elif ingest == "async":
        from knowledge.tasks import ingest_document_task

        transaction.on_commit(lambda: ingest_document_task.delay(document.pk))


def _source_bytes(document: Document) -> bytes:
    if document.source_kind == Document.SourceKind.TEXT:
        return document.text.encode()
    with document.file.open("rb") as fh:
        return fh.read()


def ingest_document(document_id: int, *, embedder_name: str | None = None) -> Document:
    """Parse, chunk, embed and index a document; idempotent (re-running rebuilds its chunks).

    Without ``embedder_name`` the chunks are embedded by the store's embedder (and by the
    embedder being switched to, during a switch); with it, into that embedder's space only
    (plus the store's, if the document has no chunks there yet) — how a switch re-embeds.

    The old chunks stay searchable until the new ones replace them in one transaction, so
    re-indexing never leaves a gap, and a failed re-index leaves the old chunks in place
    (the document stays ``ready``, the error is recorded). A first ingestion that fails ends
    ``failed`` with the error (returned, not raised); ``EmbedderUnavailable`` is re-raised
    after recording so the task can retry. Raises ``DocumentNotFound``.
    """
    with transaction.atomic():
        try:
            document = (
                Document.objects.select_for_update().select_related("collection").get(pk=document_id)
            )
        except Document.DoesNotExist as exc:
            raise DocumentNotFound(f"No document {document_id}.", field="document") from exc
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.PROCESSING, progress=0, error=""
        )
    was_ready = _has_serving_chunks(document_id)
    try:
        target = get_embedder(embedder_name).name if embedder_name else None
        sections = parse(_source_bytes(document), document.format, document.title)
        _progress(document_id, 5)
        _embed_and_write(document, sections, target)
    except EmbedderUnavailable as exc:
        _fail(document_id, exc, keep_ready=was_ready)
        raise
    except (KnowledgeError, OSError) as exc:
        _fail(document_id, exc, keep_ready=was_ready)
    document.refresh_from_db()
    return document


def _has_serving_chunks(document_id: int) -> bool:
    return Chunk.objects.filter(
        document_id=document_id, space__embedder=spaces.active_embedder_name()
    ).exists()


def _progress(document_id: int, percent: int) -> None:
    Document.objects.filter(pk=document_id).update(progress=percent)


def _fail(document_id: int, exc: Exception, *, keep_ready: bool = False) -> None:
    """Record a failure. A re-index that fails keeps the document ready on its old chunks."""
    message = getattr(exc, "message", None) or str(exc)
    if keep_ready:
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.READY, progress=100, error=f"Re-index failed: {message}"
        )
    else:
        Document.objects.filter(pk=document_id).update(status=Document.Status.FAILED, error=message)
    logger.warning(
        "knowledge.document.failed",
        extra={"document_id": document_id, "error": message, "code": getattr(exc, "code", "")},
    )


@dataclass(frozen=True)
class _Embedded:
    space: EmbeddingSpace
    drafts: list[ChunkDraft]
    vectors: list[list[float]]


def _spaces_wanted(document_id: int, target: str | None, active: str, switching_to: str) -> set[str]:
    if target is None:
        return {active, switching_to} - {""}
    wanted = {target}
    if target != active and not Chunk.objects.filter(
        document_id=document_id, space__embedder=active
    ).exists():
        wanted.add(active)  # never ingested yet: it must become searchable too
    return wanted


def _embed_and_write(document: Document, sections: list[Section], target: str | None) -> None:
    embedded: dict[str, _Embedded] = {}
    # The embedders to write are read again under the settings lock right before writing:
    # a switch that began or completed while we were embedding sends us round once more.
    for _ in range(3):
        active, switching_to = spaces.active_embedder_name(), store_settings().switching_to
        for name in sorted(_spaces_wanted(document.pk, target, active, switching_to) - embedded.keys()):
            embedded[name] = _embed(document, sections, get_embedder(name))
        with transaction.atomic():
            active, switching_to = spaces.lock_store_embedders()
            wanted = _spaces_wanted(document.pk, target, active, switching_to)
            if not wanted <= embedded.keys():
                continue
            for name in sorted(wanted):
                _write_chunks(document, embedded[name])
            serving = Chunk.objects.filter(document=document, space__embedder=active).count()
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.READY, progress=100, error="", chunk_count=serving,
                embedder=active, ingested_at=timezone.now(),
            )
        logger.info(
            "knowledge.document.ingested",
            extra={"document_id": document.pk, "embedders": sorted(wanted), "active": active},
        )
        return
    raise EmbedderUnavailable("The store's embedder kept changing during ingestion; retry.")


def _embed(document: Document, sections: list[Section], embedder: Embedder) -> _Embedded:
    space = spaces.ensure_space(embedder)
    collection = document.collection
    drafts = chunk_sections(
        sections,
        max_tokens=collection.chunk_tokens,
        overlap=collection.chunk_overlap,
        count_tokens=token_counter_for(embedder),
    )
    # The title and heading travel with each chunk's vector: a chunk alone ("Up to 30
    # days.") rarely says what it is about.
    inputs = [_embedding_input(document.title, d.context, d.text) for d in drafts]
    vectors: list[list[float]] = []
    batch = max(1, settings.KNOWLEDGE_EMBED_BATCH_SIZE)
    for start in range(0, len(inputs), batch):
        vectors.extend(embedder.embed_passages(inputs[start : start + batch]))
        _progress(document.pk, 5 + int(90 * min(len(inputs), start + batch) / max(1, len(inputs))))
    wrong = next((len(v) for v in vectors if len(v) != space.dimensions), None)
    if wrong is not None:
        raise EmbedderMismatch(
            f"Embedder {embedder.name} returned a {wrong}-d vector; it is configured for "
            f"{space.dimensions}-d.", field="embedder"
        )
    return _Embedded(space, drafts, vectors)


def _write_chunks(document: Document, embedded: _Embedded) -> None:
    """Replace the document's chunks in one space (inside the caller's transaction)."""
    language = search_language()
    mine = Chunk.objects.filter(document=document, space=embedded.space)
    mine.delete()
    Chunk.objects.bulk_create(
        [
            Chunk(
                document=document, collection=document.collection, space=embedded.space,
                position=i, text=d.text, token_count=d.token_count,
                metadata={**document.metadata, **d.metadata}, embedding=vector,
            )
            for i, (d, vector) in enumerate(zip(embedded.drafts, embedded.vectors, strict=True))
        ],
        batch_size=500,
    )
    mine.update(
        search_vector=SearchVector(Value(document.title), config=language, weight="A")
        + SearchVector(KeyTextTransform("heading", "metadata"), config=language, weight="A")
        + SearchVector("text", config=language, weight="B")
    )


def _embedding_input(title: str, context: str, text: str) -> str:
    head = " — ".join(part for part in (title, context) if part)
    return f"{head}\n{text}" if head else text


def delete_document(document_id: int) -> None:
    """Delete a document and its chunks in one transaction; its file goes after commit."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            raise DocumentNotFound(f"No document {document_id}.", field="document")
        stored = document.file.name if document.file else ""
        storage = document.file.storage
        Chunk.objects.filter(document_id=document_id).delete()
        document.delete()
        if stored:
            transaction.on_commit(lambda: storage.delete(stored))
    logger.info("knowledge.document.deleted", extra={"document_id": document_id})


def reindex_documents(
    document_ids: list[int], *, embedder_name: str | None = None, sync: bool = False
) -> int:
    """Re-ingest documents (e.g. after a chunking or embedder change); returns how many.

    Each keeps its current chunks searchable until its new ones are written.
    ``sync=False`` enqueues one task per document after commit.
    """
    ids = list(Document.objects.filter(pk__in=document_ids).values_list("pk", flat=True))
    if sync:
        for pk in ids:
            ingest_document(pk, embedder_name=embedder_name)
        return len(ids)
    from knowledge.tasks import ingest_document_task

    Document.objects.filter(pk__in=ids).update(status=Document.Status.PENDING, progress=0)
    for pk in ids:
        transaction.on_commit(
            lambda pk=pk: ingest_document_task.delay(pk, embedder_name=embedder_name)
        )
    return len(ids)
