"""Store provisioning: claim a pre-migrated spare schema (fast path) or replay migrations.

A new store is: a schema holding every tenant app's tables, a ``Tenant`` row, a primary
``Domain`` and a first staff user (the owner). Spare schemas are ``Tenant`` rows with
``is_spare=True`` whose schema was migrated in the background; claiming one is an
``ALTER SCHEMA ... RENAME`` plus a few inserts in one transaction.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, connection, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context, schema_exists, tenant_context

from tenants.errors import DeletionNotConfirmed, DomainTaken, InvalidSlug, SlugTaken
from tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
RESERVED_SLUGS = frozenset(
    {
        "public", "www", "admin", "api", "app", "static", "media", "health", "webhooks",
        "platform", "mail", "email", "smtp", "ftp", "status", "docs", "help", "support",
        "billing", "atendo", "root", "test", "template", "information-schema", "default",
    }
)
SPARE_PREFIX = "spare_"
# Key of the advisory lock that keeps two workers from topping up the pool at once.
SPARE_TOP_UP_LOCK = 0x41544E44


@dataclass(frozen=True)
class ProvisionedStore:
    tenant_id: int
    slug: str
    name: str
    schema_name: str
    domain: str
    owner_email: str
    # Where the owner sets a password, when none was given at creation.
    set_password_path: str | None
    from_spare: bool
    seconds: float


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def validate_slug(slug: str) -> str:
    """Return the normalised slug or raise ``InvalidSlug`` saying why."""
    slug = (slug or "").strip().lower()
    if slug in RESERVED_SLUGS or slug.startswith(("pg-", "spare-")):
        raise InvalidSlug(f"'{slug}' is reserved; choose another store slug.", field="slug")
    if not SLUG_RE.match(slug) or "--" in slug:
        raise InvalidSlug(
            f"'{slug}' is not a valid store slug: use 3-40 lowercase letters, digits and "
            "single hyphens, starting with a letter.",
            field="slug",
        )
    return slug


def validate_domain(domain: str) -> str:
    domain = (domain or "").strip().lower()
    if "_" in domain:
        raise InvalidSlug(f"'{domain}' has an underscore; domains use hyphens.", field="domain")
    if not HOSTNAME_RE.match(domain):
        raise InvalidSlug(f"'{domain}' is not a valid hostname.", field="domain")
    return domain


def default_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def public_url(host: str, path: str = "") -> str:
    """The address people type for ``host`` (a store's domain or the platform's)."""
    scheme, port = settings.PUBLIC_SCHEME, settings.PUBLIC_PORT
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port == default_port else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


def provision_store(
    *,
    slug: str,
    name: str,
    owner_email: str,
    domain: str | None = None,
    owner_password: str | None = None,
) -> ProvisionedStore:
    """Create a ready store: schema, row, primary domain, owner staff user.

    Claims a spare schema when one is ready (milliseconds), else replays migrations.
    Raises ``InvalidSlug``/``SlugTaken``/``DomainTaken`` before creating anything;
    on any later failure nothing is left half-created.
    """
    started = time.perf_counter()
    slug = validate_slug(slug)
    domain = validate_domain(domain or default_domain(slug))
    schema_name = schema_name_for(slug)
    if not name or not name.strip():
        raise InvalidSlug("A store needs a name.", field="name")
    if not owner_email or "@" not in owner_email or len(owner_email) > 150:
        raise InvalidSlug(f"'{owner_email}' is not an e-mail address.", field="owner_email")
    _ensure_free(slug, schema_name, domain)

    owner = (owner_email, owner_password)
    try:
        claimed = _claim_spare(slug=slug, name=name, schema_name=schema_name, domain=domain, owner=owner)
    except IntegrityError as exc:
        raise _taken_error(exc, slug, domain) from exc
    from_spare = claimed is not None
    if claimed is None:
        claimed = _create_by_migration(
            slug=slug, name=name, schema_name=schema_name, domain=domain, owner=owner
        )
    tenant, set_password_path = claimed
    _request_spare_top_up()
    seconds = time.perf_counter() - started
    logger.info(
        "store.provisioned",
        extra={"store": slug, "from_spare": from_spare, "ms": round(seconds * 1000, 1)},
    )
    return ProvisionedStore(
        tenant_id=tenant.pk,
        slug=slug,
        name=name,
        schema_name=schema_name,
        domain=domain,
        owner_email=owner_email,
        set_password_path=set_password_path,
        from_spare=from_spare,
        seconds=seconds,
    )


def _ensure_free(slug: str, schema_name: str, domain: str) -> None:
    if Tenant.objects.filter(slug=slug).exists() or schema_exists(schema_name):
        raise SlugTaken(f"A store with slug '{slug}' already exists.", field="slug")
    if Domain.objects.filter(domain=domain).exists():
        raise DomainTaken(f"The domain '{domain}' already belongs to a store.", field="domain")


def _taken_error(exc: IntegrityError, slug: str, domain: str) -> Exception:
    if "domain" in str(exc):
        return DomainTaken(f"The domain '{domain}' already belongs to a store.", field="domain")
    return SlugTaken(f"A store with slug '{slug}' already exists.", field="slug")


def _claim_spare(
    *, slug: str, name: str, schema_name: str, domain: str, owner: tuple[str, str | None]
) -> tuple[Tenant, str | None] | None:
    """Rename a spare into the store, with its domain and owner, in one transaction."""
    with transaction.atomic():
        spare = (
            Tenant.objects.spares().select_for_update(skip_locked=True).order_by("pk").first()
        )
        if spare is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER SCHEMA "{spare.schema_name}" RENAME TO "{schema_name}"')
        Tenant.objects.filter(pk=spare.pk).update(
            schema_name=schema_name, slug=slug, name=name, is_spare=False
        )
        spare.refresh_from_db()
        Domain.objects.create(domain=domain, tenant=spare, is_primary=True)
        set_password_path = _create_owner(spare, *owner)
    return spare, set_password_path


def _create_by_migration(
    *, slug: str, name: str, schema_name: str, domain: str, owner: tuple[str, str | None]
) -> tuple[Tenant, str | None]:
    try:
        tenant = Tenant.objects.create(schema_name=schema_name, slug=slug, name=name)
    except IntegrityError as exc:
        raise _taken_error(exc, slug, domain) from exc
    try:
        tenant.create_schema(check_if_exists=True, verbosity=0)
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
        set_password_path = _create_owner(tenant, *owner)
    except Exception:
        # Leave nothing half-created: drop the schema and the row, then re-raise.
        tenant.delete(force_drop=True)
        raise
    return tenant, set_password_path


def _create_owner(tenant: Tenant, email: str, password: str | None) -> str | None:
    user_model = get_user_model()
    with tenant_context(tenant):
        owner = user_model(username=email, email=email, is_staff=True, is_superuser=True)
        if password:
            owner.set_password(password)
        else:
            owner.set_unusable_password()
        owner.save()
        if password:
            return None
        uid = urlsafe_base64_encode(force_bytes(owner.pk))
        token = default_token_generator.make_token(owner)
        return f"/admin/password-set/{uid}/{token}/"


def _request_spare_top_up() -> None:
    from tenants.tasks import top_up_spare_schemas

    def enqueue() -> None:
        with schema_context("public"):
            top_up_spare_schemas.delay()

    transaction.on_commit(enqueue)


def top_up_spare_schemas(target: int | None = None) -> int:
    """Create spare schemas until ``target`` (default ``TENANT_SPARE_POOL_SIZE``) are ready.

    Returns how many were created. Single-flight across workers through an advisory
    lock: a second caller returns 0 at once instead of over-filling the pool.
    """
    target = settings.TENANT_SPARE_POOL_SIZE if target is None else target
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SPARE_TOP_UP_LOCK])
        if not cursor.fetchone()[0]:
            return 0
    try:
        created = 0
        while Tenant.objects.spares().count() < target:
            create_spare_schema()
            created += 1
        return created
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SPARE_TOP_UP_LOCK])


def create_spare_schema() -> Tenant:
    """Migrate one spare schema; its row is marked spare only once the schema is complete."""
    token = secrets.token_hex(6)
    spare = Tenant.objects.create(
        schema_name=f"{SPARE_PREFIX}{token}", slug=f"spare-{token}", name="(spare)",
        is_spare=False, is_active=False,
    )
    try:
        spare.create_schema(check_if_exists=True, verbosity=0)
    except Exception:
        spare.delete(force_drop=True)
        raise
    Tenant.objects.filter(pk=spare.pk).update(is_spare=True)
    return spare


def delete_store(slug: str, *, confirm: str) -> None:
    """Delete a store and drop its schema. ``confirm`` must repeat the slug exactly."""
    if confirm != slug:
        raise DeletionNotConfirmed(
            f"Deleting '{slug}' drops all its data; confirm by repeating the slug.",
            field="confirm",
        )
    tenant = Tenant.objects.stores().get(slug=slug)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Deferred FK checks pending on the store's rows would block DROP SCHEMA.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tenant.delete(force_drop=True)
    logger.info("store.deleted", extra={"store": slug})


def ensure_platform(*, operator_email: str | None = None, operator_password: str | None = None) -> Tenant:
    """Idempotently create the public tenant on ``BASE_DOMAIN`` (and an operator user)."""
    public, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Atendo platform"}
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    if operator_email:
        user_model = get_user_model()
        with schema_context("public"):
            operator, created = user_model.objects.get_or_create(
                username=operator_email,
                defaults={"email": operator_email, "is_staff": True, "is_superuser": True},
            )
            if created or operator_password:
                if operator_password:
                    operator.set_password(operator_password)
                else:
                    operator.set_unusable_password()
                operator.save()
    return public


# --- provider account routing (platform-wide webhooks) ---------------------------------


@dataclass(frozen=True)
class ProviderRoute:
    tenant: Tenant
    channel_id: int


def route_cache_key(provider: str, account_id: str) -> str:
    return f"provider-route:{provider}:{account_id}"


# The platform-wide webhook looks its route up on every delivery: a few seconds of this
# process's memory in front of the shared cache (which changes delete at once). A route
# changed by another process is seen here within ``_LOCAL_ROUTE_SECONDS``; the inbox's
# worker checks the channel again before it stores anything.
_LOCAL_ROUTE_SECONDS = 5.0
_local_routes: dict[str, tuple[float, object]] = {}


def forget_local_routes(*keys: str) -> None:
    """Drop this process's copies of ``keys`` (all of them when none is given)."""
    if not keys:
        _local_routes.clear()
    for key in keys:
        _local_routes.pop(key, None)


def set_provider_route(
    *, provider: str, account_id: str, tenant: Tenant, channel_id: int, verify_token: str = ""
) -> None:
    """Route ``(provider, account_id)`` to a store's channel. Idempotent for the same store;
    raises ``ProviderAccountTaken`` when the account already routes to another store."""
    from django.core.cache import cache

    from tenants.errors import ProviderAccountTaken
    from tenants.models import ProviderAccountRoute

    account_id = str(account_id).strip()
    with schema_context("public"):
        with transaction.atomic():
            route, created = ProviderAccountRoute.objects.select_for_update().get_or_create(
                provider=provider,
                account_id=account_id,
                defaults={"tenant": tenant, "channel_id": channel_id, "verify_token": verify_token},
            )
            if not created:
                if route.tenant_id != tenant.pk:
                    raise ProviderAccountTaken(
                        f"{provider} account {account_id} is already connected to another store.",
                        field="account_id",
                    )
                ProviderAccountRoute.objects.filter(pk=route.pk).update(
                    channel_id=channel_id, verify_token=verify_token
                )
        cache.delete(route_cache_key(provider, account_id))
        forget_local_routes(route_cache_key(provider, account_id))


def remove_provider_routes(*, tenant: Tenant, channel_id: int, keep=None) -> None:
    """Forget every route to a store's channel except ``keep``: one ``(provider,
    account_id)`` or a list of them."""
    from django.core.cache import cache

    from tenants.models import ProviderAccountRoute

    if keep and isinstance(keep[0], str):
        keep = [keep]
    with schema_context("public"):
        routes = ProviderAccountRoute.objects.filter(tenant=tenant, channel_id=channel_id)
        for provider, account in keep or ():
            routes = routes.exclude(provider=provider, account_id=account)
        keys = [route_cache_key(p, a) for p, a in routes.values_list("provider", "account_id")]
        routes.delete()
        if keys:
            cache.delete_many(keys)
            forget_local_routes(*keys)


def route_for_provider_account(provider: str, account_id: str) -> ProviderRoute | None:
    """The active store (and channel id) a provider account routes to, or None. Cached."""
    account_id = str(account_id or "").strip()
    if not account_id:
        return None
    key = route_cache_key(provider, account_id)
    local = _local_routes.get(key)
    if local is not None and local[0] > time.monotonic():
        cached = local[1]
    else:
        cached = _shared_route(key, provider, account_id)
        _local_routes[key] = (time.monotonic() + _LOCAL_ROUTE_SECONDS, cached)
    if not cached:
        return None
    tenant, channel_id = cached
    if tenant.is_spare or not tenant.is_active:
        return None
    return ProviderRoute(tenant=tenant, channel_id=channel_id)


def _shared_route(key: str, provider: str, account_id: str):
    from django.core.cache import cache

    from tenants.models import ProviderAccountRoute

    with schema_context("public"):
        cached = cache.get(key)
        if cached is None:
            route = (
                ProviderAccountRoute.objects.select_related("tenant")
                .filter(provider=provider, account_id=account_id)
                .first()
            )
            cached = (route.tenant, route.channel_id) if route else ""
            # Short-lived: a store switched off or deleted stops receiving within a minute.
            cache.set(key, cached, min(settings.TENANT_DOMAIN_CACHE_SECONDS, 60))
        return cached


def provider_verify_token_known(verify_token: str) -> bool:
    """Whether some connected channel uses this verify token (Meta's GET handshake)."""
    from tenants.models import ProviderAccountRoute

    if not verify_token:
        return False
    with schema_context("public"):
        return ProviderAccountRoute.objects.filter(verify_token=verify_token).exists()
