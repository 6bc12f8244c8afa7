"""Payment webhooks over HTTP: verification and the work live in ``services``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import services
from orders.errors import WebhookRejected


@csrf_exempt
@require_POST
def abacatepay_webhook(request: HttpRequest) -> JsonResponse:
    """AbacatePay's webhook for the store whose domain received it. Applying a payment is
    one short transaction, so it runs inline: the 200 means it is recorded. A rejected
    delivery answers 401, which AbacatePay does not retry."""
    try:
        outcome = services.handle_payment_webhook(
            "abacatepay", request.body, request.headers, request.GET
        )
    except WebhookRejected as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=401
        )
    return JsonResponse({"event_id": outcome.event_id, "outcome": outcome.outcome})
