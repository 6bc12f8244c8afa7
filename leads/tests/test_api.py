"""The leads API: list, find-or-create by identity, details, stage and tags, identities,
the timeline (with notes), merges; with auth, scope and tenant rules."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from leads import services
from leads.models import EventKind, Lead, LeadEvent
from tenants.tests.api_helpers import api_as, error


@pytest.fixture
def app(client, store):
    return api_as(client, "store-a", ["app"])


@pytest.fixture
def reader(client, store):
    return api_as(client, "store-a", ["read"])


@pytest.fixture
def store_b(client, store, other_store):
    return api_as(client, "store-b", ["app"])


@pytest.fixture
def ana(store):
    return services.ensure_lead("whatsapp", "5511988887777", name="Ana")


ENDPOINTS = [
    ("get", "leads"), ("post", "leads"), ("get", "leads/1"), ("patch", "leads/1"),
    ("delete", "leads/1"), ("post", "leads/1/identities"), ("get", "leads/1/events"),
    ("post", "leads/1/events"), ("post", "leads/1/merge"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_every_leads_endpoint_needs_a_key(client, store, method, path):
    response = getattr(api_as(client, "store-a", None), method)(path)
    assert response.status_code == 401
    assert error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("method, path", [m for m in ENDPOINTS if m[0] != "get"])
def test_a_read_key_cannot_change_leads(reader, ana, method, path):
    response = getattr(reader, method)(path.replace("/1", f"/{ana.pk}"))
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["leads", "leads/{id}", "leads/{id}/events"])
def test_a_read_key_can_read_leads(reader, ana, path):
    assert reader.get(path.format(id=ana.pk)).status_code == 200


def test_a_webhook_key_cannot_read_leads(client, ana):
    assert api_as(client, "store-a", ["webhook"]).get("leads").status_code == 403


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "leads/{id}", None),
        ("patch", "leads/{id}", {"name": "Mallory"}),
        ("delete", "leads/{id}", None),
        ("get", "leads/{id}/events", None),
        ("post", "leads/{id}/events", {"text": "hi"}),
        ("post", "leads/{id}/identities", {"kind": "email", "value": "x@y.test"}),
        ("post", "leads/{id}/merge", {"merge_id": 1}),
    ],
)
def test_store_b_gets_404_for_store_a_leads(store_b, ana, method, path, body):
    call = getattr(store_b, method)
    url = path.format(id=ana.pk)
    response = call(url, body) if body is not None else call(url)
    assert response.status_code == 404
    ana.refresh_from_db()
    assert ana.name == "Ana"
    assert not LeadEvent.objects.filter(lead=ana, kind=EventKind.NOTE).exists()


def test_store_a_cannot_merge_store_b_lead_into_its_own(app, ana, other_store):
    with tenant_context(other_store):
        bob = services.ensure_lead("whatsapp", "5511977776666", name="Bob")
    response = app.post(f"leads/{ana.pk}/merge", {"merge_id": bob.pk})
    assert response.status_code == 404
    with tenant_context(other_store):
        assert Lead.objects.filter(pk=bob.pk).exists()


def test_store_b_list_never_shows_store_a_leads(store_b, ana, other_store):
    with tenant_context(other_store):
        services.ensure_lead("email", "bob@b.test", name="Bob")
    names = [lead["name"] for lead in store_b.get("leads").json()["results"]]
    assert names == ["Bob"]


def test_create_a_lead_by_phone_and_find_it_again(app):
    created = app.post("leads", {"name": "Ana", "phone": "+55 11 98888-7777", "tags": ["VIP"],
                                 "stage": "engaged"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["phone"], body["stage"], body["tags"]) == ("+5511988887777", "engaged", ["vip"])
    assert body["identities"][0]["kind"] == "phone"
    again = app.post("leads", {"phone": "+5511988887777", "email": "ana@example.com"})
    assert again.json()["id"] == body["id"]
    assert again.json()["email"] == "ana@example.com"  # a blank filled, nothing overwritten
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "Nobody"}, "value"),
        ({"kind": "whatsapp"}, "value"),
        ({"kind": "fax", "value": "123"}, "kind"),
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "+5511988887777", "stage": "vip"}, "stage"),
    ],
)
def test_bad_lead_input_names_the_field(app, payload, field):
    response = app.post("leads", payload)
    assert response.status_code == 400, response.content
    assert field in error(response)["fields"]


def test_list_filters_by_stage_tag_and_text(app):
    a = services.ensure_lead("email", "ana@example.com", name="Ana")
    services.ensure_lead("email", "bia@example.com", name="Bia")
    services.change_stage(a.pk, "qualified")
    services.set_tags(a.pk, ["vip"])

    def names(**params):
        response = app.get("leads", params)
        assert response.status_code == 200, response.content
        return sorted(lead["name"] for lead in response.json()["results"])

    assert names(stage="qualified") == ["Ana"]
    assert names(tag="VIP") == ["Ana"]
    assert names(q="bia@") == ["Bia"]
    assert names() == ["Ana", "Bia"]
    assert error(app.get("leads", {"stage": "vip"}))["fields"].keys() == {"stage"}


def test_change_details_stage_and_tags(app, ana):
    response = app.patch(f"leads/{ana.pk}", {
        "email": "ana@example.com", "phone": "5511911112222", "stage": "qualified",
        "stage_reason": "asked for a quote", "tags": ["Ballet", "ballet"], "consent_whatsapp": True,
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["phone"], body["stage"], body["tags"], body["consent_whatsapp"]) == (
        "ana@example.com", "+5511911112222", "qualified", ["ballet"], True,
    )
    change = LeadEvent.objects.get(lead=ana, kind=EventKind.STAGE_CHANGED)
    assert change.payload["by"].startswith("api:") and change.payload["reason"] == "asked for a quote"


@pytest.mark.parametrize("payload, field", [({"phone": "abc"}, "phone"), ({"stage": "x"}, "stage"),
                                            ({"tags": "vip"}, "tags")])
def test_bad_changes_name_the_field(app, ana, payload, field):
    response = app.patch(f"leads/{ana.pk}", payload)
    assert response.status_code == 400
    assert field in error(response)["fields"]


def test_identities_attach_once_and_conflict_across_leads(app, ana):
    added = app.post(f"leads/{ana.pk}/identities", {"kind": "email", "value": "Ana@Example.com"})
    assert added.status_code == 201
    assert added.json()["value"] == "ana@example.com"
    bia = services.ensure_lead("email", "bia@example.com")
    taken = app.post(f"leads/{bia.pk}/identities", {"kind": "whatsapp", "value": "5511988887777"})
    assert taken.status_code == 409
    assert error(taken)["code"] == "identity_taken"


def test_timeline_lists_events_and_takes_notes(app, ana):
    services.record_event(ana.pk, EventKind.MESSAGE, {"text": "Oi", "direction": "in"})
    note = app.post(f"leads/{ana.pk}/events", {"text": "Prefers pink."})
    assert note.status_code == 201
    events = app.get(f"leads/{ana.pk}/events").json()["results"]
    assert [(e["kind"], e["payload"].get("text")) for e in events] == [("message", "Oi"), ("note", "Prefers pink.")]
    notes = app.get(f"leads/{ana.pk}/events", {"kind": "note"}).json()["results"]
    assert len(notes) == 1
    empty = app.post(f"leads/{ana.pk}/events", {"text": ""})
    assert empty.status_code == 400 and "text" in error(empty)["fields"]


def test_merge_folds_the_other_lead_in(app, ana):
    other = services.ensure_lead("email", "ana@example.com", name="Ana S.")
    services.set_tags(other.pk, ["ballet"])
    merged = app.post(f"leads/{ana.pk}/merge", {"merge_id": other.pk})
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert sorted(i["kind"] for i in body["identities"]) == ["email", "whatsapp"]
    assert body["tags"] == ["ballet"] and body["email"] == "ana@example.com"
    assert not Lead.objects.filter(pk=other.pk).exists()
    itself = app.post(f"leads/{ana.pk}/merge", {"merge_id": ana.pk})
    assert itself.status_code == 400 and "merge_id" in error(itself)["fields"]
    missing = app.post(f"leads/{ana.pk}/merge", {})
    assert missing.status_code == 400 and "merge_id" in error(missing)["fields"]


def test_delete_a_lead_unless_it_has_orders(app, ana):
    from catalog.tests.factories import product
    from orders.services import create_order

    bia = services.ensure_lead("email", "bia@example.com")
    assert app.delete(f"leads/{bia.pk}").status_code == 204
    create_order(ana.pk, [(product("SAP-1", "Sapatilha").pk, 1)])
    response = app.delete(f"leads/{ana.pk}")
    assert response.status_code == 409
    assert error(response)["code"] == "lead_has_orders"


def test_created_filters_take_any_offset_python_accepts(app, ana):
    # PostgreSQL refuses offsets beyond ±15:59; the filter compares in UTC instead.
    response = app.get("leads", {"created_after": "2000-01-01T00:00:00+20:03"})
    assert response.status_code == 200, response.content
    assert [lead["id"] for lead in response.json()["results"]] == [ana.pk]
    assert app.get("leads", {"created_before": "2000-01-01T00:00:00Z"}).json()["results"] == []
    bad = app.get("leads", {"created_after": "yesterday"})
    assert bad.status_code == 400 and "created_after" in error(bad)["fields"]
