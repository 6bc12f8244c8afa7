"""Rebuild a store's product search index and refresh its product embeddings."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from catalog.embeddings import embed_products
from catalog.errors import EmbeddingsUnavailable
from catalog.search_index import refresh_search_index
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Rebuild the product search index (and embeddings, unless --no-embeddings) of a store."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", help="The store's slug (required).")
        parser.add_argument("--no-embeddings", action="store_true")

    def handle(self, *args, store: str | None, no_embeddings: bool, **options) -> None:
        if not store:
            raise CommandError("Name the store: --store <slug>.")
        tenant = Tenant.objects.stores().filter(slug=store).first()
        if tenant is None:
            raise CommandError(f"No store with slug '{store}'.")
        with tenant_context(tenant):
            indexed = refresh_search_index()
            self.stdout.write(f"{tenant.slug}: {indexed} product(s) indexed for search.")
            if no_embeddings:
                return
            try:
                embedded = embed_products()
            except EmbeddingsUnavailable as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"{tenant.slug}: {embedded} product embedding(s) refreshed.")
