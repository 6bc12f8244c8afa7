"""Stores (tenants) and their domains, in the public schema."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class TenantQuerySet(models.QuerySet):
    def stores(self) -> TenantQuerySet:
        """Real stores: not the public schema, not a spare schema waiting to be claimed."""
        return self.filter(is_spare=False).exclude(schema_name="public").exclude(
            schema_name__startswith="spare_"
        )

    def spares(self) -> TenantQuerySet:
        return self.filter(is_spare=True)


class Tenant(TenantMixin):
    """A store. Its data lives in the PostgreSQL schema named ``schema_name``.

    A spare is a pre-migrated schema with a placeholder row (``is_spare``); provisioning
    claims one by renaming its schema to the store's slug, so ``migrate_schemas`` keeps
    spares current like any store.
    """

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    is_spare = models.BooleanField(default=False, db_index=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Provisioning creates schemas itself (spare claim or migration replay).
    auto_create_schema = False
    auto_drop_schema = False

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        verbose_name = "store"  # what operators call it in the platform admin
        verbose_name_plural = "stores"

    def __str__(self) -> str:
        return self.name or self.slug


class Domain(DomainMixin):
    """A hostname that routes to a store (``<slug>.<BASE_DOMAIN>`` or the store's own)."""

    class Meta:
        ordering = ["domain"]


class ApiKeyScope(models.TextChoices):
    APP = "app", "App (the store's frontend: full CRUD)"
    WEBHOOK = "webhook", "Webhook (inbound integrations: stock sync, payment relays)"
    READ = "read", "Read (dashboards)"
    PLATFORM = "platform", "Platform (operators: manage stores)"


class ApiKey(models.Model):
    """A store's API key. Only a SHA-256 of the secret is kept; the key names its store.

    The full key (``atd_<prefix>_<secret>``) is shown once, at creation.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (atd_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ProviderAccountRoute(models.Model):
    """Which store (and which of its channels) a provider account belongs to.

    Providers that call one platform-wide webhook (Meta: WhatsApp ``phone_number_id``,
    a Page id, an Instagram account id) are routed to the store through this table. The
    channel itself lives in the store's schema; ``channel_id`` names it there.
    """

    provider = models.CharField(max_length=20)  # whatsapp, messenger, instagram
    account_id = models.CharField(max_length=64)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="provider_routes")
    channel_id = models.BigIntegerField()
    # The channel's verify token, so the platform-wide GET handshake can accept it.
    verify_token = models.CharField(max_length=128, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "account_id"], name="provider_account_route_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.account_id} -> {self.tenant_id}"
