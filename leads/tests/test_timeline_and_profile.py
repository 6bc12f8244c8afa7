import pytest
from pgvector.django import CosineDistance

from leads import services, tasks
from leads.errors import CannotMergeLeadIntoItself, InvalidStage
from leads.models import Lead, LeadEvent, LeadIdentity


def test_changing_stage_records_an_event(store):
    lead = services.ensure_lead("whatsapp", "5511988887777")

    services.change_stage(lead.pk, "qualified", by="agent", reason="asked for sizes")

    lead.refresh_from_db()
    assert lead.stage == "qualified"
    event = lead.events.get()
    assert event.kind == "stage_changed"
    assert event.payload == {
        "from": "new",
        "to": "qualified",
        "by": "agent",
        "reason": "asked for sizes",
    }


def test_changing_to_the_same_stage_records_nothing(store):
    lead = services.ensure_lead("whatsapp", "5511988887777")
    services.change_stage(lead.pk, "engaged")
    services.change_stage(lead.pk, "engaged")

    assert lead.events.count() == 1


def test_an_unknown_stage_is_refused(store):
    lead = services.ensure_lead("whatsapp", "5511988887777")
    with pytest.raises(InvalidStage) as error:
        services.change_stage(lead.pk, "vip")
    assert error.value.code == "invalid_stage"


def test_the_profile_summary_describes_the_timeline(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    services.add_identity(lead.pk, "email", "ana@example.com")
    services.set_tags(lead.pk, ["Ballet", "ballet", " vip "])
    services.record_event(
        lead.pk, "message", {"direction": "in", "text": "Tem sapatilha de ponta 36?"}
    )
    services.record_event(
        lead.pk, "message", {"direction": "out", "text": "Temos sim!"}
    )
    services.record_event(
        lead.pk,
        "order_created",
        {
            "number": "1001",
            "products": ["1× Sapatilha de ponta 36"],
            "total": "199.90",
            "currency": "BRL",
        },
    )
    services.record_event(lead.pk, "order_paid", {"number": "1001"})
    services.record_event(lead.pk, "handoff", {"reason": "asked for a human"})
    services.record_event(lead.pk, "note", {"text": "Prefers deliveries after 18h"})

    lead = services.refresh_profile(lead.pk)

    summary = lead.profile_summary
    assert summary.startswith(
        "Name: Ana. Stage: new. Channels: email, whatsapp. Tags: ballet, vip."
    )
    assert "Orders: 1 created, 1 paid. Last order #1001" in summary
    assert "(1× Sapatilha de ponta 36), total 199.90 BRL." in summary
    assert "Handed to a human 1 time(s)." in summary
    assert "Notes: Prefers deliveries after 18h." in summary
    assert summary.endswith("Messages: 1; recent: Tem sapatilha de ponta 36?")
    assert lead.profile_refreshed_at is not None
    assert len(summary) <= services.PROFILE_MAX_CHARS


def test_the_profile_summary_stays_compact(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    for i in range(200):
        services.record_event(
            lead.pk, "message", {"text": f"message number {i} " + "x" * 300}
        )

    summary = services.refresh_profile(lead.pk).profile_summary

    assert len(summary) <= services.PROFILE_MAX_CHARS
    assert "Messages: 200" in summary


def test_refreshing_the_profile_is_deterministic(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    services.record_event(lead.pk, "message", {"text": "Oi"})

    first = services.refresh_profile(lead.pk).profile_summary
    assert services.refresh_profile(lead.pk).profile_summary == first


def test_the_profile_task_refreshes_the_lead_and_ignores_a_vanished_one(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")

    tasks.refresh_profile(lead.pk)
    tasks.refresh_profile(10**9)  # merged away since it was enqueued: no error

    assert Lead.objects.get(pk=lead.pk).profile_summary.startswith("Name: Ana.")


def test_merging_two_leads_keeps_every_identity_and_event(store):
    ana = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    services.record_event(ana.pk, "message", {"text": "Oi pelo WhatsApp"})
    services.set_tags(ana.pk, ["ballet"])
    other = services.ensure_lead("email", "ana@example.com")
    services.add_identity(other.pk, "chatwoot", "contact-9")
    services.record_event(other.pk, "message", {"text": "Hola por e-mail"})
    services.set_tags(other.pk, ["jazz", "ballet"])

    kept = services.merge_leads(ana.pk, other.pk, by="staff:ops")

    assert not Lead.objects.filter(pk=other.pk).exists()
    assert kept.email == "ana@example.com"
    assert kept.tags == ["ballet", "jazz"]
    assert sorted(
        LeadIdentity.objects.filter(lead=kept).values_list("kind", flat=True)
    ) == [
        "chatwoot",
        "email",
        "whatsapp",
    ]
    texts = [
        e.payload.get("text")
        for e in LeadEvent.objects.filter(lead=kept).order_by("pk")
    ]
    assert texts[:2] == ["Oi pelo WhatsApp", "Hola por e-mail"]
    assert texts[-1] == f"Merged lead {other.pk} (ana@example.com)."
    assert services.ensure_lead("chatwoot", "contact-9").pk == kept.pk


def test_a_lead_cannot_be_merged_into_itself(store):
    lead = services.ensure_lead("whatsapp", "5511988887777")
    with pytest.raises(CannotMergeLeadIntoItself):
        services.merge_leads(lead.pk, lead.pk)


def test_the_profile_is_embedded_with_the_knowledge_embedder(store):
    from knowledge.embedders import get_embedder

    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    services.record_event(
        lead.pk, "message", {"text": "Quero sapatilhas de ponta para ballet"}
    )

    lead = services.refresh_profile(lead.pk)

    assert len(lead.profile_embedding) == 384
    query = get_embedder().embed_query("cliente de ballet")
    closest = Lead.objects.order_by(CosineDistance("profile_embedding", query)).first()
    assert closest.pk == lead.pk


def test_a_requested_profile_refresh_runs_on_a_real_worker_in_the_store(
    celery_worker, committed_store_a
):
    import time

    from django.db import transaction

    lead = services.ensure_lead("whatsapp", "5511966665555", name="Worker Ana")
    services.record_event(lead.pk, "message", {"text": "Quero um collant preto"})

    with transaction.atomic():
        services.request_profile_refresh(lead.pk)
        # Enqueued only on commit: the worker must see the lead it is asked about.

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        lead.refresh_from_db()
        if lead.profile_summary:
            break
        time.sleep(0.2)
    assert lead.profile_summary.startswith("Name: Worker Ana. Stage: new.")
    assert lead.profile_summary.endswith("recent: Quero um collant preto")
    assert len(lead.profile_embedding) == 384
