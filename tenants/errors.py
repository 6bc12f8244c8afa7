"""Errors of store provisioning and routing, each with a stable code."""

from __future__ import annotations


class TenantError(Exception):
    code = "tenant_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidSlug(TenantError):
    code = "invalid_slug"


class SlugTaken(TenantError):
    code = "slug_taken"


class DomainTaken(TenantError):
    code = "domain_taken"


class DeletionNotConfirmed(TenantError):
    code = "deletion_not_confirmed"


class TenantRequired(TenantError):
    """Work that belongs to a store ran without naming one."""

    code = "tenant_required"


class ProviderAccountTaken(TenantError):
    """A provider account (e.g. a WhatsApp phone_number_id) already routes to another store."""

    code = "provider_account_taken"
