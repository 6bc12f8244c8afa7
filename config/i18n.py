"""The language of each request: a store's console speaks the store's language.

Order, on a store's admin console (``/admin/`` on a store's domain):

1. the staff member's own choice (the language switch in the console's header sets the
   language cookie);
2. the store's language (``catalog.StoreProfile.language``: pt, es or en).

Everywhere else (the platform admin, the API, webhooks) Django's usual order applies:
the language cookie, then ``Accept-Language``, then ``LANGUAGE_CODE``. An API client that
sends ``Accept-Language: pt-BR`` gets its error messages in Portuguese; one that sends
nothing gets English, whatever its store speaks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django_tenants.utils import get_public_schema_name

# catalog.Language codes -> Django language codes (settings.LANGUAGES).
STORE_LANGUAGES = {"pt": "pt-br", "es": "es", "en": "en"}
_CACHE_KEY = "console:store-language"
_CACHE_SECONDS = 300


def store_language() -> str:
    """The current store's console language as a Django code (``pt-br``, ``es``, ``en``).

    Read from the store profile and cached per store (keys carry the schema); a store that
    never saved its profile speaks the profile's default language. Forgotten on save.
    """
    cached = cache.get(_CACHE_KEY)
    if cached:
        return cached
    from catalog.models import StoreProfile

    code = (
        StoreProfile.objects.filter(pk=StoreProfile.SINGLETON_PK).values_list("language", flat=True).first()
        or StoreProfile._meta.get_field("language").default
    )
    language = STORE_LANGUAGES.get(code, settings.LANGUAGE_CODE)
    cache.set(_CACHE_KEY, language, _CACHE_SECONDS)
    return language


def forget_store_language(**kwargs) -> None:
    """post_save of the store profile: the next request reads the new language."""
    cache.delete(_CACHE_KEY)


def _is_store_console(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return (
        tenant is not None
        and tenant.schema_name != get_public_schema_name()
        and request.path_info.startswith("/admin/")
    )


def language_for_request(request: HttpRequest) -> str:
    """The language a request is answered in (see the module's docstring for the order)."""
    if _is_store_console(request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen and translation.check_for_language(chosen):
            return translation.get_supported_language_variant(chosen)
        return store_language()
    return translation.get_language_from_request(request)


class StoreLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware with the store's language on its console.

    Sits after the store routing (it needs ``request.tenant``) and the sessions.
    """

    def process_request(self, request: HttpRequest) -> None:
        language = language_for_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
