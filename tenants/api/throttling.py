from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.api.authentication import ApiKeyUser


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per key (or per staff user / client IP), counted in Redis through the cache."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyUser):
            ident = f"key:{user.api_key.prefix}"
        elif getattr(user, "is_authenticated", False):
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AuthRateThrottle(SimpleRateThrottle):
    """Sign-in and password-reset calls per client address (``AUTH_RATE_LIMIT``), per store."""

    scope = "auth"

    def get_rate(self) -> str:
        return settings.AUTH_RATE_LIMIT

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
