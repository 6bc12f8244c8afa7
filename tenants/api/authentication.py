"""API authentication: ``Authorization: Bearer <key>``; the key decides the store."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from tenants.api_keys import InvalidApiKey, authenticate_api_key
from tenants.models import ApiKey


@dataclass(frozen=True)
class ApiKeyUser:
    """``request.user`` for a request authenticated by an API key."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.api_key.scopes)

    def __str__(self) -> str:
        return f"API key {self.api_key.name} ({self.api_key.prefix})"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        try:
            api_key = authenticate_api_key(raw_key.strip())
        except InvalidApiKey as exc:
            raise AuthenticationFailed(exc.message) from exc
        key_store = api_key.tenant
        routed = getattr(request._request, "tenant", None)
        if routed is not None and routed.schema_name != "public" and routed.pk != key_store.pk:
            # A key of store A never acts on store B, whatever the Host header says.
            raise AuthenticationFailed("This API key belongs to another store.")
        if key_store.schema_name != "public":
            connection.set_tenant(key_store)
            request._request.tenant = key_store
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="atendo"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A store's API key (atd_…)"}
