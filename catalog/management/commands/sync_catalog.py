"""Pull a store's catalog from the platform it sells on (WooCommerce, Tiendanube) now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from catalog import sync
from catalog.errors import SyncRejected, SyncSourceUnavailable
from catalog.models import CatalogConnection
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Sync a store's catalog from its WooCommerce/Tiendanube connection(s) now (idempotent by SKU)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", help="The store's slug (required).")
        parser.add_argument("--connection", help="The connection's name (default: every enabled one).")

    def handle(self, *args, store: str | None, connection: str | None, **options) -> None:
        if not store:
            raise CommandError("Name the store to sync: --store <slug>.")
        tenant = Tenant.objects.stores().filter(slug=store).first()
        if tenant is None:
            raise CommandError(f"No store with slug '{store}'.")
        with tenant_context(tenant):
            connections = CatalogConnection.objects.all()
            if connection:
                connections = connections.filter(name=connection)
                if not connections.exists():
                    raise CommandError(f"No catalog connection {connection!r} in store '{store}'.")
            else:
                connections = connections.filter(is_enabled=True)
            failed = False
            for item in connections:
                try:
                    result = sync.sync_catalog(item.pk)
                except (SyncRejected, SyncSourceUnavailable) as exc:
                    self.stderr.write(f"{tenant.slug}/{item.name}: failed: {exc.message}")
                    failed = True
                    continue
                report = result.report
                self.stdout.write(
                    f"{tenant.slug}/{item.name}: {result.fetched} read, {report.created} created, "
                    f"{report.updated} updated, {len(report.errors)} error(s)."
                )
                for error in report.errors:
                    self.stdout.write(f"  #{error.line} ({error.field}): {error.message}")
        if failed:
            raise CommandError("At least one connection could not be synced.")
