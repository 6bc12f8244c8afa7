from __future__ import annotations

from audit.context import serving


class AuditContextMiddleware:
    """Makes the request (and so its user or API key) the actor of the changes it causes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving(request):
            return self.get_response(request)
