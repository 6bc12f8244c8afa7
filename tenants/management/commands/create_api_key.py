"""python manage.py create_api_key <store> --scope app [--scope read] [--name ...]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.api_keys import create_api_key
from tenants.errors import TenantError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create an API key for a store (or 'public' for a platform key). Shown once."

    def add_arguments(self, parser):
        parser.add_argument("store", help="the store's slug, or 'public' for the platform")
        parser.add_argument("--scope", action="append", dest="scopes", required=True,
                            help="app, webhook, read (platform for 'public'); repeatable")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["store"], is_spare=False).first()
        if tenant is None:
            raise CommandError(f"store: no store with slug '{options['store']}'.")
        try:
            created = create_api_key(tenant, options["name"], options["scopes"])
        except TenantError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        self.stdout.write(f"API key for {tenant.slug} (scopes: {', '.join(created.scopes)}):")
        self.stdout.write(created.key)
        self.stdout.write("Store it now: it is not shown again.")
