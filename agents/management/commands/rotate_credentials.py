"""Re-encrypt every store's credentials with the first key of CREDENTIALS_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django_tenants.utils import get_tenant_model, tenant_context

from agents.vault import rotate_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt the credentials vault of every store (or --store SLUG) with the first key of "
        "CREDENTIALS_KEYS. Rotate: put the new key first, run this, then drop the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store's slug.")

    def handle(self, *args, store=None, **options):
        stores = get_tenant_model().objects.stores()
        if store:
            stores = stores.filter(slug=store)
        total = 0
        for tenant in stores.order_by("pk"):
            with tenant_context(tenant):
                count = rotate_credentials()
            total += count
            if count:
                self.stdout.write(f"{tenant.slug}: {count} credential(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} credential(s) re-encrypted."))
