from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Migrate spare schemas until the pool holds --size (default TENANT_SPARE_POOL_SIZE)."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=None)

    def handle(self, *args, **options):
        created = services.top_up_spare_schemas(options["size"])
        self.stdout.write(f"{created} spare schema(s) created.")
