"""How big each store's knowledge base is.

    manage.py knowledge_stats --store bailarina
    manage.py knowledge_stats --all-tenants --json
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from knowledge.embedders import get_embedder
from knowledge.management.commands._stores import (
    add_store_arguments,
    stores_from_options,
)
from knowledge.selectors import knowledge_stats


class Command(BaseCommand):
    help = "Collections, documents by status and embedder, chunks and tokens per store."

    def add_arguments(self, parser):
        add_store_arguments(parser)
        parser.add_argument("--json", action="store_true", help="one JSON object per store")

    def handle(self, *args, **options):
        for store in stores_from_options(options):
            with tenant_context(store):
                stats = {"store": store.slug, "embedder": get_embedder().name, **knowledge_stats()}
            if options["json"]:
                self.stdout.write(json.dumps(stats, sort_keys=True))
                continue
            self.stdout.write(
                f"{store.slug}: {stats['collections']} collection(s), {stats['documents']} "
                f"document(s) {stats['documents_by_status']}, {stats['chunks']} chunk(s), "
                f"{stats['tokens']} token(s), {stats['bytes']} byte(s), embedder {stats['embedder']}"
                f", embedded by {stats['documents_by_embedder']}"
            )
            for space in stats["spaces"]:
                self.stdout.write(
                    f"  space {space['embedder']} ({space['dimensions']}-d): {space['chunks']} chunk(s)"
                )
            if stats["switching_to"]:
                self.stdout.write(f"  switching to {stats['switching_to']} (reindex --resume to finish)")
