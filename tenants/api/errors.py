"""One error body for the whole API: ``{"error": {"code", "message", "fields"}}``.

Domain exceptions of every app carry ``code``, ``message`` and ``field``; this maps them
to an HTTP status. Unknown domain codes are 400 (bad input), never 500.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

STATUS_BY_CODE = {
    "slug_taken": status.HTTP_409_CONFLICT,
    "domain_taken": status.HTTP_409_CONFLICT,
    "out_of_stock": status.HTTP_409_CONFLICT,
    "illegal_transition": status.HTTP_409_CONFLICT,
    "invalid_transition": status.HTTP_409_CONFLICT,
    "identity_taken": status.HTTP_409_CONFLICT,
    "idempotency_conflict": status.HTTP_409_CONFLICT,
    "tenant_required": status.HTTP_400_BAD_REQUEST,
    "email_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def _is_domain_error(exc: Exception) -> bool:
    return hasattr(exc, "code") and hasattr(exc, "message") and not isinstance(
        exc, exceptions.APIException
    )


def _body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    if _is_domain_error(exc):
        field = getattr(exc, "field", None)
        code = str(exc.code)
        http_status = STATUS_BY_CODE.get(code)
        if http_status is None:
            http_status = 404 if code.endswith("not_found") else 400
        return Response(
            _body(code, exc.message, {field: [exc.message]} if field else {}), status=http_status
        )
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        return Response(_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        names = ", ".join(detail)
        response.data = _body("invalid", f"Invalid input: {names}.", detail)
    else:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.NotAuthenticated):
            code = "not_authenticated"
        response.data = _body(code, str(getattr(exc, "detail", exc)))
    return response
