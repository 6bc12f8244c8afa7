"""Scopes: a view names the scope it needs; staff sessions hold every scope of their store."""

from __future__ import annotations

from django.db import connection
from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.api.authentication import ApiKeyUser


def request_scopes(request) -> frozenset[str]:
    user = request.user
    if isinstance(user, ApiKeyUser):
        return user.scopes
    if getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False):
        if connection.schema_name == "public":
            return frozenset({"platform"})
        return frozenset({"app", "read", "webhook"})
    return frozenset()


class HasScope(BasePermission):
    """Allows the view's ``required_scope``; ``read`` also opens safe methods on views that
    set ``read_scope_can_list = True``."""

    message = "This key does not have the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        scopes = request_scopes(request)
        required = getattr(view, "required_scope", "app")
        if required in scopes:
            return True
        return (
            request.method in SAFE_METHODS
            and getattr(view, "read_scope_can_list", False)
            and "read" in scopes
        )


class StoreOnly(BasePermission):
    """Store endpoints answer only inside a store's schema, never on the public schema."""

    message = "This endpoint belongs to a store; use the store's domain or a store API key."

    def has_permission(self, request, view) -> bool:
        return connection.schema_name != "public"
