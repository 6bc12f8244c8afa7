"""Hostname -> store routing with a shared cache and a plain 404 for unknown hosts."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Domain, Tenant

_MISSING = "__unknown_host__"


def domain_cache_key(hostname: str) -> str:
    return f"store-by-host:{hostname}"


def forget_hostnames(hostnames: list[str]) -> None:
    with schema_context(get_public_schema_name()):
        cache.delete_many([domain_cache_key(h) for h in hostnames])


def store_for_hostname(hostname: str) -> Tenant | None:
    """The store (or the public tenant) a hostname routes to, cached in Redis.

    django-tenants queries the domain table on every request; this caches the answer
    (and the misses) for ``TENANT_DOMAIN_CACHE_SECONDS``; any change to a domain or a
    store deletes the entries it affects (see ``tenants.signals``).
    """
    with schema_context(get_public_schema_name()):
        key = domain_cache_key(hostname)
        cached = cache.get(key)
        if cached == _MISSING:
            return None
        if cached is not None:
            return cached
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        tenant = domain.tenant if domain and not domain.tenant.is_spare else None
        if tenant is not None and not tenant.is_active:
            tenant = None
        cache.set(key, tenant if tenant is not None else _MISSING,
                  settings.TENANT_DOMAIN_CACHE_SECONDS)
        return tenant


class StoreRoutingMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        connection.set_schema_to_public()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound("Unknown host.", content_type="text/plain")
        tenant = store_for_hostname(hostname)
        if tenant is None:
            return HttpResponseNotFound(
                f"No store is served at '{hostname}'.", content_type="text/plain"
            )
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(request.tenant)
        self.setup_url_routing(request)
        return None
