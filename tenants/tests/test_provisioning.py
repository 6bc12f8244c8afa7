import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenants import services
from tenants.errors import DeletionNotConfirmed, DomainTaken, InvalidSlug, SlugTaken
from tenants.models import Domain, Tenant


def test_new_store_claims_a_spare_schema_and_gets_domain_and_owner(public_schema):
    services.top_up_spare_schemas(target=1)
    spare_schema = Tenant.objects.spares().get().schema_name

    store = services.provision_store(
        slug="bailarina", name="Bailarina Shop", owner_email="ana@bailarina.test",
        owner_password="pointe-shoes-36",
    )

    assert store.from_spare is True
    assert store.schema_name == "bailarina"
    assert not schema_exists(spare_schema)
    assert schema_exists("bailarina")
    assert Tenant.objects.spares().count() == 0
    assert Domain.objects.get(domain="bailarina.localhost").tenant.slug == "bailarina"
    tenant = Tenant.objects.get(slug="bailarina")
    with tenant_context(tenant):
        owner = get_user_model().objects.get()
        assert owner.email == "ana@bailarina.test"
        assert owner.is_staff and owner.check_password("pointe-shoes-36")


def test_without_spares_a_store_is_built_by_migration_replay(public_schema):
    store = services.provision_store(slug="zapatos", name="Zapatos", owner_email="z@z.test")

    assert store.from_spare is False
    assert schema_exists("zapatos")
    with tenant_context(Tenant.objects.get(slug="zapatos")):
        owner = get_user_model().objects.get()
        # No password given: the owner gets a set-password link instead.
        assert not owner.has_usable_password()
    assert store.set_password_path.startswith("/admin/password-set/")


def test_hyphenated_slug_maps_to_an_underscored_schema(public_schema):
    store = services.provision_store(slug="loja-da-ana", name="Loja", owner_email="a@l.test")
    assert store.schema_name == "loja_da_ana"
    assert store.domain == "loja-da-ana.localhost"


def test_a_taken_slug_is_refused_and_nothing_is_half_created(public_schema):
    tenants_before = Tenant.objects.count()
    with pytest.raises(SlugTaken) as error:
        services.provision_store(slug="store-a", name="Again", owner_email="x@x.test")
    assert error.value.field == "slug"
    assert Tenant.objects.count() == tenants_before


def test_a_taken_domain_is_refused(public_schema):
    with pytest.raises(DomainTaken):
        services.provision_store(
            slug="copycat", name="Copy", owner_email="c@c.test", domain="store-a.localhost"
        )
    assert not Tenant.objects.filter(slug="copycat").exists()
    assert not schema_exists("copycat")


@pytest.mark.parametrize(
    "slug", ["public", "www", "admin", "api", "Bad_Slug", "1shop", "ab", "shop-", "pg-x", "spare-1"]
)
def test_invalid_or_reserved_slugs_are_refused(public_schema, slug):
    tenants_before = Tenant.objects.count()
    with pytest.raises(InvalidSlug) as error:
        services.provision_store(slug=slug, name="X", owner_email="x@x.test")
    assert error.value.field == "slug"
    assert Tenant.objects.count() == tenants_before


def test_a_domain_with_an_underscore_is_refused(public_schema):
    with pytest.raises(InvalidSlug) as error:
        services.provision_store(
            slug="under", name="U", owner_email="u@u.test", domain="under_score.localhost"
        )
    assert error.value.field == "domain"


def test_create_tenant_command_reports_bad_input_clearly(public_schema):
    with pytest.raises(CommandError, match="slug: 'public' is reserved"):
        call_command("create_tenant", "public", name="P", admin_email="p@p.test")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "store-a", name="A", admin_email="p@p.test")


def test_create_tenant_command_creates_a_store(public_schema, capsys):
    call_command("create_tenant", "nueva", name="Nueva", admin_email="n@n.test")
    out = capsys.readouterr().out
    assert "Store 'nueva' ready at http://nueva.localhost:8000/admin/" in out
    assert "sets a password at http://nueva.localhost:8000/admin/password-set/" in out


def test_deleting_a_store_needs_the_slug_repeated(public_schema):
    services.provision_store(slug="borrar", name="Borrar", owner_email="b@b.test")
    with pytest.raises(DeletionNotConfirmed):
        services.delete_store("borrar", confirm="")
    assert schema_exists("borrar")

    services.delete_store("borrar", confirm="borrar")
    assert not schema_exists("borrar")
    assert not Tenant.objects.filter(slug="borrar").exists()
    assert not Domain.objects.filter(domain="borrar.localhost").exists()


def test_delete_tenant_command_without_confirmation_keeps_the_schema(public_schema):
    with pytest.raises(CommandError, match="confirm"):
        call_command("delete_tenant", "store-b")
    assert schema_exists("store_b")


def test_ensure_platform_is_idempotent(public_schema):
    services.ensure_platform()
    services.ensure_platform()
    assert Tenant.objects.filter(schema_name="public").count() == 1
    assert connection.schema_name == "public"


def test_an_owner_email_too_long_for_a_login_is_refused_before_anything_is_created(public_schema):
    services.top_up_spare_schemas(target=1)
    with pytest.raises(InvalidSlug) as error:
        services.provision_store(slug="longmail", name="L", owner_email="a" * 150 + "@x.test")
    assert error.value.field == "owner_email"
    assert Tenant.objects.spares().count() == 1
    assert not schema_exists("longmail")


def test_links_carry_the_port_people_use_and_none_for_the_default(settings):
    settings.PUBLIC_SCHEME, settings.PUBLIC_PORT = "http", 8000
    assert services.public_url("loja.localhost", "/admin/") == "http://loja.localhost:8000/admin/"
    settings.PUBLIC_SCHEME, settings.PUBLIC_PORT = "https", 443
    assert services.public_url("loja.atendo.app", "/admin/") == "https://loja.atendo.app/admin/"
