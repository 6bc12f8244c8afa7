"""API keys: create (shown once), authenticate in constant time, revoke.

Keys live in the public schema because the key, not the Host header, decides the store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tenants.errors import TenantError
from tenants.models import ApiKey, ApiKeyScope, Tenant

KEY_PREFIX = "atd_"
# last_used_at is written at most this often per key (not on every request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class InvalidApiKey(TenantError):
    code = "invalid_api_key"


class InvalidScope(TenantError):
    code = "invalid_scope"


@dataclass(frozen=True)
class CreatedApiKey:
    id: int
    name: str
    scopes: tuple[str, ...]
    key: str  # the only time the full key is available


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(tenant: Tenant, name: str, scopes: list[str]) -> CreatedApiKey:
    """Create a key for ``tenant`` with ``scopes``; the returned ``key`` is never stored."""
    valid = set(ApiKeyScope.values)
    if not scopes or any(s not in valid for s in scopes):
        raise InvalidScope(
            f"scopes must be a non-empty subset of {sorted(valid)}; got {scopes}.", field="scopes"
        )
    if "platform" in scopes and tenant.schema_name != "public":
        raise InvalidScope("Only the platform may hold the 'platform' scope.", field="scopes")
    if not name or not name.strip():
        raise InvalidScope("A key needs a name.", field="name")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        tenant=tenant, name=name.strip(), prefix=prefix, secret_hash=_digest(secret),
        scopes=sorted(set(scopes)),
    )
    return CreatedApiKey(
        id=api_key.pk, name=api_key.name, scopes=tuple(api_key.scopes),
        key=f"{KEY_PREFIX}{prefix}_{secret}",
    )


def authenticate_api_key(raw_key: str) -> ApiKey:
    """The active key matching ``raw_key`` (with its tenant), or ``InvalidApiKey``."""
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        raise InvalidApiKey("Malformed API key.")
    prefix, _, secret = raw_key[len(KEY_PREFIX):].partition("_")
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
    # Compare even when no key matched, so timing does not reveal which prefixes exist.
    expected = api_key.secret_hash if api_key else _digest("no-such-key")
    if not hmac.compare_digest(expected, _digest(secret)) or api_key is None:
        raise InvalidApiKey("Unknown API key.")
    if not api_key.is_active:
        raise InvalidApiKey("This API key was revoked.")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


def revoke_api_key(tenant: Tenant, key_id: int) -> None:
    """Revoke a key of ``tenant`` (idempotent). Saved, not updated in bulk, so the store's
    audit log records who revoked it. Raises ``ApiKey.DoesNotExist`` for another store's id."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(tenant=tenant, pk=key_id).first()
        if api_key is None:
            raise ApiKey.DoesNotExist(f"No API key {key_id} in this store.")
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
