"""python manage.py delete_tenant <slug> --confirm <slug>: drops the store's schema."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.errors import TenantError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Delete a store and DROP its schema (all its data). Needs --confirm <slug>."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--confirm", default="", help="repeat the slug to confirm")

    def handle(self, *args, **options):
        try:
            services.delete_store(options["slug"], confirm=options["confirm"])
        except TenantError as exc:
            raise CommandError(exc.message) from exc
        except Tenant.DoesNotExist as exc:
            raise CommandError(f"No store with slug '{options['slug']}'.") from exc
        self.stdout.write(self.style.SUCCESS(f"Store '{options['slug']}' deleted."))
