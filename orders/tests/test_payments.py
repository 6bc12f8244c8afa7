import json
from decimal import Decimal

import pytest

from catalog.models import Product
from conftest import shared_fixture
from orders import services
from orders.errors import (
    GatewayRejected,
    GatewayUnavailable,
    IllegalTransition,
    UnknownGateway,
    WebhookRejected,
)
from orders.models import Order, PaymentWebhookEvent
from orders.payments.abacatepay import sign

FIXTURES = shared_fixture("payments", "abacatepay")
SECRET = "whsec-store-a"


@pytest.fixture
def pending_order(lead, make_product, abacatepay):
    shoes = make_product(
        price="60.00", stock=3, sku="PONTA-36", name="Sapatilha de ponta 36"
    )
    order = services.create_order(
        lead.pk, [(shoes.pk, 1)], "whatsapp", shipping_total=Decimal("40.00")
    )
    return services.start_payment(order.pk, "abacatepay", by="agent")


def _deliver(
    payload: dict,
    *,
    secret: str = SECRET,
    signature: str | None = None,
    header_secret: bool = False,
):
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature": signature if signature is not None else sign(body),
    }
    query = {}
    if header_secret:
        headers["X-Webhook-Secret"] = secret
    else:
        query["webhookSecret"] = secret
    return services.handle_payment_webhook("abacatepay", body, headers, query)


def _v2_paid(order: Order, event_id: str = "log_001") -> dict:
    payload = json.loads((FIXTURES / "v2_checkout_completed_pix.json").read_text())
    payload["id"] = event_id
    payload["data"]["checkout"].update(
        id=order.payment_reference, externalId=order.number
    )
    return payload


def _v1_paid(order: Order) -> dict:
    payload = json.loads((FIXTURES / "v1_billing_paid.json").read_text())
    payload["data"]["id"] = order.payment_reference
    return payload


def test_starting_a_payment_creates_an_abacatepay_billing(pending_order, abacatepay):
    assert pending_order.status == "pending_payment"
    assert pending_order.payment_gateway == "abacatepay"
    assert pending_order.payment_reference == "bill_000001"
    assert pending_order.payment_url == "https://pay.abacatepay.com/bill_000001"
    [request] = abacatepay.requests
    assert request["path"] == "/v1/billing/create"
    assert request["authorization"] == "Bearer abc_test_key"
    body = request["body"]
    assert (body["frequency"], body["methods"]) == ("ONE_TIME", ["PIX"])
    assert body["products"] == [
        {
            "externalId": "PONTA-36",
            "name": "Sapatilha de ponta 36",
            "quantity": 1,
            "price": 6000,
        },
        {"externalId": "shipping", "name": "Shipping", "quantity": 1, "price": 4000},
    ]
    assert body["customer"] == {
        "name": "Ana",
        "email": "ana@example.com",
        "cellphone": "+5511988887777",
    }
    assert body["metadata"] == {"orderNumber": pending_order.number}


def test_starting_the_same_payment_again_does_not_create_a_second_billing(
    pending_order, abacatepay
):
    again = services.start_payment(pending_order.pk, "abacatepay")

    assert again.payment_reference == pending_order.payment_reference
    assert len(abacatepay.requests) == 1


def test_a_gateway_error_leaves_the_order_a_draft(lead, make_product, abacatepay):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    abacatepay.fail_with = 503
    with pytest.raises(GatewayUnavailable) as unavailable:
        services.start_payment(order.pk, "abacatepay")
    abacatepay.fail_with = 400
    with pytest.raises(GatewayRejected):
        services.start_payment(order.pk, "abacatepay")

    assert unavailable.value.code == "gateway_unavailable"
    assert Order.objects.get(pk=order.pk).status == "draft"


def test_an_unreachable_gateway_is_a_retryable_error(lead, make_product, abacatepay, settings):
    settings.ABACATEPAY_BASE_URL = (
        "http://127.0.0.1:9"  # discard port: connection refused
    )
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    with pytest.raises(GatewayUnavailable):
        services.start_payment(order.pk, "abacatepay")


def test_an_unknown_gateway_is_refused(lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    with pytest.raises(UnknownGateway):
        services.start_payment(order.pk, "paypal")


def test_a_valid_v2_webhook_marks_the_order_paid(pending_order):
    outcome = _deliver(_v2_paid(pending_order))

    assert (outcome.outcome, outcome.order_number, outcome.event_id) == (
        "paid",
        pending_order.number,
        "log_001",
    )
    order = Order.objects.get(pk=pending_order.pk)
    assert order.status == "paid" and order.paid_at is not None
    assert order.transitions.last().by == "gateway:abacatepay"
    assert order.lead.stage == "customer"
    stored = PaymentWebhookEvent.objects.get()
    assert (stored.kind, stored.order_id, stored.outcome) == (
        "checkout.completed",
        order.pk,
        "paid",
    )


def test_a_valid_v1_webhook_with_the_secret_in_a_header_marks_the_order_paid(
    pending_order,
):
    outcome = _deliver(_v1_paid(pending_order), header_secret=True)

    assert outcome.outcome == "paid"
    assert Order.objects.get(pk=pending_order.pk).status == "paid"


def test_a_replayed_webhook_changes_nothing(pending_order):
    payload = _v2_paid(pending_order)
    first = _deliver(payload)
    replay = _deliver(payload)

    assert (first.outcome, replay.outcome) == ("paid", "duplicate")
    assert PaymentWebhookEvent.objects.count() == 1
    assert (
        Order.objects.get(pk=pending_order.pk)
        .transitions.filter(to_status="paid")
        .count()
        == 1
    )


def test_a_second_paid_event_for_a_paid_order_moves_it_once(pending_order):
    _deliver(_v2_paid(pending_order, "log_001"))
    second = _deliver(_v1_paid(pending_order))

    assert second.outcome == "already_paid"
    assert (
        Order.objects.get(pk=pending_order.pk)
        .transitions.filter(to_status="paid")
        .count()
        == 1
    )


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong_signature",
        "missing_signature",
        "body_changed",
        "wrong_secret",
        "missing_secret",
    ],
)
def test_a_webhook_with_an_invalid_signature_or_secret_is_rejected(
    pending_order, tamper
):
    payload = _v2_paid(pending_order)
    body = json.dumps(payload).encode()
    headers = {"X-Webhook-Signature": sign(body)}
    query = {"webhookSecret": SECRET}
    if tamper == "wrong_signature":
        headers["X-Webhook-Signature"] = sign(body, key="not-abacatepay")
    elif tamper == "missing_signature":
        del headers["X-Webhook-Signature"]
    elif tamper == "body_changed":
        body = body.replace(b'"paidAmount": 10000', b'"paidAmount": 99999')
    elif tamper == "wrong_secret":
        query["webhookSecret"] = "guess"
    else:
        query = {}

    with pytest.raises(WebhookRejected) as error:
        services.handle_payment_webhook("abacatepay", body, headers, query)

    assert error.value.code == "webhook_rejected"
    assert Order.objects.get(pk=pending_order.pk).status == "pending_payment"
    assert PaymentWebhookEvent.objects.count() == 0


def test_a_payment_smaller_than_the_total_does_not_mark_paid(pending_order):
    payload = _v2_paid(pending_order)
    payload["data"]["checkout"]["paidAmount"] = 5000

    assert _deliver(payload).outcome == "amount_mismatch"
    assert Order.objects.get(pk=pending_order.pk).status == "pending_payment"


def test_a_payment_for_an_expired_order_is_kept_but_does_not_revive_it(pending_order):
    services.transition_order(pending_order.pk, "expired", by="system:expiry")

    assert _deliver(_v2_paid(pending_order)).outcome == "not_payable"
    assert Order.objects.get(pk=pending_order.pk).status == "expired"
    assert PaymentWebhookEvent.objects.get().outcome == "not_payable"


def test_a_refund_webhook_refunds_the_order_and_restores_stock(pending_order):
    _deliver(_v2_paid(pending_order))
    refund = {
        "id": "log_002",
        "event": "checkout.refunded",
        "apiVersion": 2,
        "devMode": False,
        "data": {
            "checkout": {
                "id": pending_order.payment_reference,
                "externalId": pending_order.number,
            }
        },
    }

    assert _deliver(refund).outcome == "refunded"
    assert _deliver(refund).outcome == "duplicate"
    assert Order.objects.get(pk=pending_order.pk).status == "refunded"
    assert Product.objects.get(sku="PONTA-36").stock_quantity == 3


def test_a_webhook_for_an_unknown_billing_is_recorded(pending_order):
    payload = _v2_paid(pending_order)
    payload["data"]["checkout"].update(id="bill_other", externalId="999999")

    assert _deliver(payload).outcome == "order_not_found"
    assert PaymentWebhookEvent.objects.get().order is None


def test_the_manual_gateway_waits_for_staff(lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    order = services.start_payment(order.pk, "manual")

    assert (order.status, order.payment_reference, order.payment_url) == (
        "pending_payment",
        f"manual-{order.number}",
        "",
    )
    with pytest.raises(WebhookRejected):
        services.handle_payment_webhook("manual", b"{}", {}, {})
    assert services.mark_paid(order.pk, by="staff:ana").status == "paid"
    with pytest.raises(IllegalTransition):
        services.mark_paid(order.pk, by="staff:ana")


def test_the_webhook_endpoint_answers_200_for_a_valid_and_401_for_a_forged_delivery(
    client, pending_order
):
    from django_tenants.utils import tenant_context

    body = json.dumps(_v2_paid(pending_order)).encode()
    url = f"/webhooks/abacatepay/?webhookSecret={SECRET}"

    forged = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_HOST="store-a.localhost",
        HTTP_X_WEBHOOK_SIGNATURE=sign(b"something else"),
    )
    valid = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_HOST="store-a.localhost",
        HTTP_X_WEBHOOK_SIGNATURE=sign(body),
    )
    replay = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_HOST="store-a.localhost",
        HTTP_X_WEBHOOK_SIGNATURE=sign(body),
    )

    assert (
        forged.status_code == 401
        and forged.json()["error"]["code"] == "webhook_rejected"
    )
    assert (valid.status_code, valid.json()["outcome"]) == (200, "paid")
    assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate")
    from tenants.models import Tenant

    with tenant_context(Tenant.objects.get(slug="store-a")):
        assert Order.objects.get(pk=pending_order.pk).status == "paid"


def _paid(order: Order) -> Order:
    assert _deliver(_v2_paid(order)).outcome == "paid"
    return Order.objects.get(pk=order.pk)


def test_the_gateway_key_comes_from_the_stores_vault_not_the_environment(
    lead, make_product, abacatepay, monkeypatch
):
    from agents import vault
    from orders.errors import PaymentCredentialsMissing

    monkeypatch.setenv("ABACATEPAY_API_KEY", "abc_test_key")
    vault.delete_credential("payment", "abacatepay")
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")

    with pytest.raises(PaymentCredentialsMissing, match="payment/abacatepay") as missing:
        services.start_payment(order.pk, "abacatepay")

    assert missing.value.field == "gateway"
    assert abacatepay.requests == []
    assert Order.objects.get(pk=order.pk).status == "draft"


def test_a_webhook_is_refused_when_the_store_has_no_webhook_secret(pending_order):
    from agents import vault

    vault.delete_credential("payment", "abacatepay_webhook_secret")
    with pytest.raises(WebhookRejected, match="abacatepay_webhook_secret"):
        _deliver(_v2_paid(pending_order))
    assert Order.objects.get(pk=pending_order.pk).status == "pending_payment"


def test_refunding_an_abacatepay_order_sends_the_refund_to_abacatepay(
    pending_order, abacatepay, django_capture_on_commit_callbacks
):
    order = _paid(pending_order)

    with django_capture_on_commit_callbacks() as callbacks:
        order = services.refund_order(order.pk, by="staff:ana", reason="Cliente desistiu")
    assert (order.status, order.gateway_refund) == ("refunded", "pending")
    assert Product.objects.get(sku="PONTA-36").stock_quantity == 3
    # The refund task is enqueued after commit.
    assert [c for c in callbacks if "_enqueue_gateway_refund" in c.__qualname__]

    order = services.send_refund_to_gateway(order.pk)

    refund_call = abacatepay.requests[-1]
    assert refund_call["path"] == "/v2/checkouts/refund"
    assert refund_call["authorization"] == "Bearer abc_test_key"
    assert refund_call["body"] == {"id": order.payment_reference, "reason": "Cliente desistiu"}
    assert (order.gateway_refund, order.gateway_refund_reference) == (
        "done",
        f"tran_refund_{order.payment_reference}",
    )
    # Sending again is a no-op: nothing is pending.
    services.send_refund_to_gateway(order.pk)
    assert len([r for r in abacatepay.requests if r["path"] == "/v2/checkouts/refund"]) == 1


def test_a_gateway_down_during_a_refund_is_retried_then_reported(pending_order, abacatepay):
    order = services.refund_order(_paid(pending_order).pk, by="staff:ana")
    abacatepay.fail_with = 503

    with pytest.raises(GatewayUnavailable):
        services.send_refund_to_gateway(order.pk)  # the task retries this
    assert Order.objects.get(pk=order.pk).gateway_refund == "pending"

    order = services.send_refund_to_gateway(order.pk, last_attempt=True)
    assert (order.status, order.gateway_refund) == ("refunded", "failed")
    assert "503" in order.gateway_refund_error
    # Stock came back once, whatever the gateway did.
    assert Product.objects.get(sku="PONTA-36").stock_quantity == 3

    abacatepay.fail_with = None
    services.retry_gateway_refund(order.pk, by="staff:ana")
    order = services.send_refund_to_gateway(order.pk)
    assert (order.gateway_refund, order.gateway_refund_error) == ("done", "")


def test_a_refund_the_gateway_refuses_is_reported_at_once(pending_order, abacatepay):
    order = services.refund_order(_paid(pending_order).pk, by="staff:ana")
    abacatepay.fail_with = 400

    order = services.send_refund_to_gateway(order.pk)

    assert order.gateway_refund == "failed"
    assert "400" in order.gateway_refund_error


def test_the_refund_task_retries_while_abacatepay_is_down_then_reports(pending_order, abacatepay):
    from orders.tasks import refund_at_gateway

    order = services.refund_order(_paid(pending_order).pk, by="staff:ana")
    abacatepay.fail_with = 502

    # Eagerly applied, each retry runs at once: 1 try + max_retries, then the failure is kept.
    result = refund_at_gateway.apply(args=(order.pk,))

    assert result.get() == "failed"
    calls = [r for r in abacatepay.requests if r["path"] == "/v2/checkouts/refund"]
    assert len(calls) == 1 + refund_at_gateway.max_retries
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.gateway_refund) == ("refunded", "failed")
    assert "502" in order.gateway_refund_error


def test_a_refund_webhook_settles_a_pending_gateway_refund(pending_order, abacatepay):
    order = services.refund_order(_paid(pending_order).pk, by="staff:ana")
    refund = {
        "id": "log_r1",
        "event": "checkout.refunded",
        "apiVersion": 2,
        "data": {"checkout": {"id": order.payment_reference, "externalId": order.number}},
    }

    assert _deliver(refund).outcome == "already_refunded"
    order = services.send_refund_to_gateway(order.pk)
    assert order.gateway_refund == "done"
    assert not any(r["path"] == "/v2/checkouts/refund" for r in abacatepay.requests)


def test_a_manual_order_is_refunded_without_a_gateway_call(lead, make_product):
    order = services.create_order(lead.pk, [(make_product().pk, 1)], "api")
    services.start_payment(order.pk, "manual")
    services.mark_paid(order.pk, by="staff:ana")

    order = services.refund_order(order.pk, by="staff:ana")

    assert (order.status, order.gateway_refund) == ("refunded", "")
