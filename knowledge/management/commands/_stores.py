"""Which stores a knowledge command runs on: it must name them, never falls back."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, get_tenant_model


def add_store_arguments(parser: CommandParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--store", help="slug of the store to work on")
    group.add_argument("--all-tenants", action="store_true", help="every store, one by one")


def stores_from_options(options: dict) -> list:
    Tenant = get_tenant_model()
    if options.get("store"):
        store = Tenant.objects.filter(slug=options["store"], is_spare=False).first()
        if store is None or store.schema_name == get_public_schema_name():
            raise CommandError(f"No store with slug {options['store']!r}.")
        return [store]
    if options.get("all_tenants"):
        return list(Tenant.objects.stores().order_by("slug"))
    raise CommandError("Name the store: --store <slug>, or --all-tenants for every store.")
