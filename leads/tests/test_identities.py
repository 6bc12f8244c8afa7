import pytest
from django_tenants.utils import tenant_context

from leads import services
from leads.errors import IdentityTaken, InvalidIdentity, InvalidPhone
from leads.models import Lead, LeadIdentity
from leads.tests.conftest import run_in_threads


def test_ensure_lead_creates_a_lead_with_its_identity(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")

    assert lead.name == "Ana"
    assert lead.phone == "+5511988887777"
    assert lead.stage == "new"
    assert lead.source_channel == "whatsapp"
    assert list(lead.identities.values_list("kind", "value")) == [
        ("whatsapp", "+5511988887777")
    ]


def test_ensure_lead_is_idempotent(store):
    first = services.ensure_lead("whatsapp", "+55 11 98888-7777")
    again = services.ensure_lead(
        "whatsapp", "5511988887777", name="Ana", email="ana@example.com"
    )

    assert again.pk == first.pk
    assert Lead.objects.count() == 1
    assert (again.name, again.email) == ("Ana", "ana@example.com")  # blanks filled


def test_ensure_lead_never_overwrites_known_details(store):
    services.ensure_lead("email", "Ana@Example.com", name="Ana Souza")
    lead = services.ensure_lead("email", "ana@example.com", name="Someone Else")

    assert lead.name == "Ana Souza"
    assert lead.email == "ana@example.com"


def test_one_person_on_two_channels_is_one_lead(store):
    lead = services.ensure_lead("whatsapp", "5511988887777", name="Ana")
    services.add_identity(lead.pk, "chatwoot", "contact-42")

    assert services.ensure_lead("chatwoot", "contact-42").pk == lead.pk
    assert services.find_lead("whatsapp", "+5511988887777").pk == lead.pk
    assert Lead.objects.count() == 1


def test_an_identity_of_another_lead_cannot_be_added(store):
    ana = services.ensure_lead("whatsapp", "5511988887777")
    bruno = services.ensure_lead("chatwoot", "contact-7")

    with pytest.raises(IdentityTaken) as error:
        services.add_identity(bruno.pk, "whatsapp", "5511988887777")
    assert error.value.code == "identity_taken"
    assert LeadIdentity.objects.get(kind="whatsapp").lead_id == ana.pk


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 (11) 98888-7777", "+5511988887777"),
        ("0034 612 345 678", "+34612345678"),
        ("5491155556666", "+5491155556666"),
    ],
)
def test_phones_are_stored_in_e164(store, raw, expected):
    assert services.ensure_lead("phone", raw).phone == expected


@pytest.mark.parametrize(
    "raw", ["", "12", "+0123456789", "call me", "+55119888877776666"]
)
def test_a_phone_that_is_not_e164_is_refused(store, raw):
    with pytest.raises((InvalidPhone, InvalidIdentity)):
        services.ensure_lead("whatsapp", raw)
    assert Lead.objects.count() == 0


def test_an_unknown_identity_kind_is_refused(store):
    with pytest.raises(InvalidIdentity) as error:
        services.ensure_lead("telegram", "123")
    assert error.value.code == "invalid_identity"


def test_the_same_identity_in_two_stores_is_two_leads(store, other_store):
    in_a = services.ensure_lead("whatsapp", "5511988887777", name="Ana in A")
    with tenant_context(other_store):
        in_b = services.ensure_lead("whatsapp", "5511988887777", name="Ana in B")
        assert Lead.objects.get().name == "Ana in B"
    assert Lead.objects.get().pk == in_a.pk
    assert Lead.objects.get().name == "Ana in A"
    assert in_b.name == "Ana in B"


def test_concurrent_ensure_lead_for_one_identity_creates_one_lead(committed_store_a):
    results = run_in_threads(
        committed_store_a,
        8,
        lambda i: services.ensure_lead("whatsapp", "5511977770000", name=f"T{i}").pk,
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Lead.objects.filter(identities__value="+5511977770000").count() == 1
    assert LeadIdentity.objects.filter(value="+5511977770000").count() == 1
