"""The admin console's look and words: django-unfold settings callbacks and labels that
follow the staff member's language.

The store apps name their models, fields and choices in plain English strings (no
``gettext`` in each ``models.py``, and no migration churn from changing them); at start-up
``translate_labels`` wraps each of those strings in ``gettext_lazy`` so the console shows
them in the request's language. The words themselves live in ``config/labels.py``
(regenerate it with ``manage.py console_labels``) and their translations in ``locale/``.
"""

from __future__ import annotations

from django.apps import apps
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

# Apps whose words Django (or a third party) already translates.
_TRANSLATED_ELSEWHERE = {"admin", "auth", "contenttypes", "sessions", "django_tenants"}


def _lazy(text):
    if isinstance(text, str) and text and not isinstance(text, Promise):
        return _(text)
    return text


def console_app_configs():
    """The apps whose labels the console translates (Atendo's own)."""
    return [
        config
        for config in apps.get_app_configs()
        if config.label not in _TRANSLATED_ELSEWHERE and not config.name.startswith(("django.", "rest_framework",
                                                                                     "drf_", "django_filters", "unfold"))
    ]


def translate_labels() -> None:
    """Make the store apps' verbose names, field labels and choice labels translatable.

    Idempotent (an already lazy string is left alone). Only the admin-facing attributes
    change: migrations read the names a model was declared with, so none is generated.
    """
    for config in console_app_configs():
        config.verbose_name = _lazy(config.verbose_name)
        for model in config.get_models():
            opts = model._meta
            if not isinstance(opts.verbose_name, Promise):
                # Django's default plural is a lazy "<name>s": spell it out to translate it.
                plural = opts.original_attrs.get("verbose_name_plural") or f"{opts.verbose_name}s"
                opts.verbose_name = _lazy(opts.verbose_name)
                opts.verbose_name_plural = _lazy(str(plural))
            for field in [*opts.fields, *opts.many_to_many]:
                field.verbose_name = _lazy(field.verbose_name)
                if field.choices and all(isinstance(choice, (list, tuple)) and len(choice) == 2
                                         and not isinstance(choice[1], (list, tuple)) for choice in field.choices):
                    field.choices = [(value, _lazy(label)) for value, label in field.choices]


def _is_platform(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == get_public_schema_name()


# --- django-unfold callbacks (settings.UNFOLD) ---


def site_title(request: HttpRequest) -> str:
    return "Atendo platform" if _is_platform(request) else "Atendo"


def site_header(request: HttpRequest) -> str:
    """The store's name on its console; the platform's on the operators' admin."""
    if _is_platform(request):
        return "Atendo platform"
    return request.tenant.name or request.tenant.slug


def site_subheader(request: HttpRequest) -> str:
    if _is_platform(request):
        return _("Stores and operators")
    return _("Store console")


def environment(request: HttpRequest) -> list[str] | None:
    """A badge in the header: which console this is."""
    if _is_platform(request):
        return [_("Platform"), "warning"]
    return None
