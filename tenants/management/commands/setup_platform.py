"""Idempotent: the public tenant on BASE_DOMAIN, and an operator login if asked."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Ensure the public tenant and its domain exist (and optionally an operator user)."

    def add_arguments(self, parser):
        parser.add_argument("--operator-email")
        parser.add_argument("--operator-password")

    def handle(self, *args, **options):
        services.ensure_platform(
            operator_email=options["operator_email"], operator_password=options["operator_password"]
        )
        self.stdout.write("Platform ready.")
