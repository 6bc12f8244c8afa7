"""Idempotent: the platform, an operator login and the demo store with its staff login."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from tenants import demo, services
from tenants.models import Tenant

DEMO_SLUG = "demo"
DEMO_OWNER = "demo@atendo.local"
DEMO_PASSWORD = "demo-atendo"
OPERATOR = "ops@atendo.local"
OPERATOR_PASSWORD = "ops-atendo"


class Command(BaseCommand):
    help = "Create (or refresh) the demo store on demo.<BASE_DOMAIN> and print its logins."

    def handle(self, *args, **options):
        services.ensure_platform(operator_email=OPERATOR, operator_password=OPERATOR_PASSWORD)
        tenant = Tenant.objects.stores().filter(slug=DEMO_SLUG).first()
        if tenant is None:
            services.provision_store(
                slug=DEMO_SLUG, name="Atendo Demo Store", owner_email=DEMO_OWNER,
                owner_password=DEMO_PASSWORD,
            )
            tenant = Tenant.objects.get(slug=DEMO_SLUG)
        else:
            with tenant_context(tenant):
                owner = get_user_model().objects.get(username=DEMO_OWNER)
                owner.set_password(DEMO_PASSWORD)
                owner.save(update_fields=["password"])
        with tenant_context(tenant):
            demo.populate(tenant)
        self.stdout.write(self.style.SUCCESS("Atendo is ready."))
        self.stdout.write(
            f"  Demo store admin:  {services.public_url(tenant.get_primary_domain().domain, '/admin/')}  "
            f"login {DEMO_OWNER} / {DEMO_PASSWORD}"
        )
        self.stdout.write(
            f"  Platform admin:    {services.public_url(settings.BASE_DOMAIN, '/admin/')}  "
            f"login {OPERATOR} / {OPERATOR_PASSWORD}"
        )
        self.stdout.write(f"  Health:            {services.public_url(settings.BASE_DOMAIN, '/health')}")
