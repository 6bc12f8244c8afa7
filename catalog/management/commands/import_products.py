"""Import a product CSV (WooCommerce export or generic) into one store's catalog."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from catalog.errors import ImportFileInvalid
from catalog.importing import FORMATS, import_products
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Import products from a CSV into a store's catalog (idempotent by SKU)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--store", help="The store's slug (required).")
        parser.add_argument("--format", choices=FORMATS, default="auto")

    def handle(self, *args, file: Path, store: str | None, format: str, **options) -> None:
        if not store:
            raise CommandError("Name the store to import into: --store <slug>.")
        tenant = Tenant.objects.stores().filter(slug=store).first()
        if tenant is None:
            raise CommandError(f"No store with slug '{store}'.")
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        with tenant_context(tenant):
            try:
                report = import_products(content, format=format)
            except ImportFileInvalid as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{tenant.slug}: {report.format} file, {report.created} created, "
            f"{report.updated} updated, {len(report.errors)} error(s)."
        )
        for error in report.errors:
            self.stdout.write(f"  line {error.line} ({error.field}): {error.message}")
