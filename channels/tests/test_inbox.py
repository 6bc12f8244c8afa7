"""The inbox: a webhook stores the delivery and answers; a worker processes it in order."""

from __future__ import annotations

import copy
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from channels import services, tasks
from channels.models import Conversation, InboundEvent, Message
from channels.services import inbox
from channels.tests.conftest import bursts, drain, enqueued, post_meta
from channels.tests.fake_providers import fixture


def _text(wamid: str, text: str, contact: str = "972987654321") -> dict:
    payload = copy.deepcopy(fixture("whatsapp/inbound_text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = contact
    value["messages"][0].update(id=wamid, text={"body": text}, **{"from": contact})
    return payload


def test_the_webhook_answers_with_the_delivery_stored_and_nothing_else_done_yet(client, store, whatsapp_channel):
    response = post_meta(client, store, _text("wamid.I1", "oi"), process=False)

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.provider, event.channel_id, event.processed, event.attempts) == (
        "whatsapp", whatsapp_channel.pk, False, 0)
    assert event.payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == "wamid.I1"
    assert not Message.objects.exists() and not Conversation.objects.exists()

    assert drain(store) == 1
    event.refresh_from_db()
    assert event.processed and event.processed_at is not None and event.attempts == 1
    assert Message.objects.get().text == "oi"


def test_a_burst_is_processed_in_the_order_it_arrived(client, store, whatsapp_channel):
    for wamid, text in (("wamid.O1", "oi"), ("wamid.O2", "preciso de ajuda"), ("wamid.O3", "com a API")):
        post_meta(client, store, _text(wamid, text), process=False)

    assert drain(store) == 3
    assert list(Message.objects.order_by("pk").values_list("text", flat=True)) == [
        "oi", "preciso de ajuda", "com a API"]


def test_a_redelivery_is_kept_as_received_but_answered_once(
    client, store, whatsapp_channel, django_capture_on_commit_callbacks
):
    post_meta(client, store, _text("wamid.D1", "oi"), process=False)
    post_meta(client, store, _text("wamid.D1", "oi"), process=False)

    with django_capture_on_commit_callbacks() as scheduled:
        assert drain(store) == 2

    assert InboundEvent.objects.filter(processed=True).count() == 2
    assert Message.objects.count() == 1
    assert len(bursts(scheduled)) == 1


def test_a_delivery_that_fails_is_retried_with_backoff_then_kept_for_staff(
    client, store, whatsapp_channel, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CHANNELS_INBOX_MAX_ATTEMPTS = 2
    settings.CHANNELS_INBOX_RETRY_SECONDS = 5.0
    real = inbox.ingest_meta_batch

    def flaky(channel, batch):
        if any(m.text == "boom" for m in batch.messages):
            raise RuntimeError("the lead service is down")
        return real(channel, batch)

    monkeypatch.setattr(inbox, "ingest_meta_batch", flaky)
    post_meta(client, store, _text("wamid.F1", "boom"), process=False)
    post_meta(client, store, _text("wamid.F2", "next customer", contact="5511911112222"), process=False)

    with django_capture_on_commit_callbacks() as scheduled:
        assert drain(store) == 2
    failing = InboundEvent.objects.get(payload__entry__0__changes__0__value__messages__0__id="wamid.F1")
    assert (failing.processed, failing.attempts, failing.failed_at) == (False, 1, None)
    assert "RuntimeError: the lead service is down" in failing.error
    assert 4 < (failing.next_attempt_at - timezone.now()).total_seconds() <= 5
    # The next delivery was not held up behind it, and a drain is scheduled for the retry.
    assert list(Message.objects.values_list("text", flat=True)) == ["next customer"]
    (retry,) = enqueued(scheduled, "channels.drain_inbox")
    assert retry.countdown == pytest.approx(5.1)

    assert drain(store) == 0  # not due yet
    InboundEvent.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert drain(store) == 1
    failing.refresh_from_db()
    assert failing.attempts == 2 and failing.failed_at is not None and failing.next_attempt_at is None
    assert drain(store) == 0  # kept for staff, not retried on its own

    monkeypatch.setattr(inbox, "ingest_meta_batch", real)
    assert services.process_again([failing.pk]) == 1
    assert drain(store) == 1
    failing.refresh_from_db()
    assert failing.processed and failing.failed_at is None
    assert sorted(Message.objects.values_list("text", flat=True)) == ["boom", "next customer"]


def test_a_store_has_one_drain_at_a_time(client, store, whatsapp_channel):
    post_meta(client, store, _text("wamid.L1", "oi"), process=False)
    db = connection.settings_dict
    other = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"atendo.inbox:{store.schema_name}"])
        assert drain(store) is None  # the task retries shortly
        assert not Message.objects.exists()
        other.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"atendo.inbox:{store.schema_name}"])
    finally:
        other.close()
    assert drain(store) == 1
    assert Message.objects.count() == 1


def test_a_flood_enqueues_one_drain_until_it_runs(store):
    schema = store.schema_name
    assert inbox.wake(schema) is True
    assert inbox.wake(schema) is False  # the first one will see this delivery too
    assert inbox.wake(schema) is False
    drain(store)  # clears the flag before looking
    assert inbox.wake(schema) is True
    assert inbox.wake(schema, force=True) is True


def test_a_delivery_for_a_channel_removed_meanwhile_is_kept_with_a_note(client, store, whatsapp_channel):
    post_meta(client, store, _text("wamid.R1", "oi"), process=False)
    services.delete_channel(whatsapp_channel.pk)

    assert drain(store) == 1
    event = InboundEvent.objects.get()
    assert event.processed and event.channel_id is None
    assert "removed or switched off" in event.error
    assert not Message.objects.exists()


def test_the_sweep_wakes_a_store_whose_deliveries_were_left_behind(client, store, whatsapp_channel):
    post_meta(client, store, _text("wamid.S1", "oi"), process=False)
    assert not inbox.has_due_deliveries()  # just arrived: its own wake-up is on the way
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    assert inbox.has_due_deliveries()

    connection.set_schema_to_public()
    assert tasks.drain_inboxes_in_all_stores() >= 1
    connection.set_tenant(store)
