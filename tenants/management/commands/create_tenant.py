"""python manage.py create_tenant <slug> --name ... [--domain ...] --admin-email ..."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.errors import TenantError


class Command(BaseCommand):
    help = "Create a store: its schema, primary domain and first staff user (the owner)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", help="defaults to <slug>.<BASE_DOMAIN>")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="omit to get a set-password link")

    def handle(self, *args, **options):
        try:
            store = services.provision_store(
                slug=options["slug"],
                name=options["name"],
                domain=options["domain"],
                owner_email=options["admin_email"],
                owner_password=options["admin_password"],
            )
        except TenantError as exc:
            raise CommandError(f"{exc.field or 'store'}: {exc.message}") from exc
        how = "from a spare schema" if store.from_spare else "by migration replay"
        self.stdout.write(
            self.style.SUCCESS(
                f"Store '{store.slug}' ready at {services.public_url(store.domain, '/admin/')} "
                f"({how}, {store.seconds * 1000:.0f} ms)"
            )
        )
        if store.set_password_path:
            link = services.public_url(store.domain, store.set_password_path)
            self.stdout.write(f"Owner sets a password at {link}")
