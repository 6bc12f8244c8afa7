"""Base classes of every admin page of the console: django-unfold's look, and the
admin's own words (fieldset titles, actions, column headers) in the staff member's
language. Each app's ``admin.py`` imports them from here:

    from config.admin_base import ModelAdmin, StackedInline, TabularInline
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.forms.widgets import Input
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import INPUT_CLASSES, SELECT_CLASSES, TEXTAREA_CLASSES

__all__ = ["ModelAdmin", "StackedInline", "StaffGroupAdmin", "StaffUserAdmin", "TabularInline"]


def _translate_descriptions(admin_class: type, names) -> None:
    """``@admin.display(description="...")`` on the admin's methods: lazily translated."""
    for name in names:
        if not isinstance(name, str):
            continue
        method = getattr(admin_class, name, None)
        description = getattr(method, "short_description", None)
        if isinstance(description, str) and not isinstance(description, Promise):
            try:
                method.short_description = gettext_lazy(description)
            except AttributeError:  # a bound or built-in callable that refuses attributes
                pass


# Plain widgets of fields a form declares itself (unfold restyles only the model's own).
_PLAIN_WIDGET_CLASSES = (
    (forms.Textarea, TEXTAREA_CLASSES),
    (forms.Select, SELECT_CLASSES),
    (forms.FileInput, INPUT_CLASSES),
    (Input, INPUT_CLASSES),
)


def _style_plain_widgets(form_class) -> None:
    for field in form_class.base_fields.values():
        widget = field.widget
        if widget.attrs.get("class") or isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple,
                                                            forms.RadioSelect, forms.HiddenInput)):
            continue
        for widget_type, classes in _PLAIN_WIDGET_CLASSES:
            if isinstance(widget, widget_type):
                widget.attrs["class"] = " ".join(classes)
                break


class _ConsoleWords:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _translate_descriptions(type(self), [*getattr(self, "list_display", ()), *self.readonly_fields])

    def get_fieldsets(self, request, obj=None):
        return [
            (gettext(name) if isinstance(name, str) and name else name, options)
            for name, options in super().get_fieldsets(request, obj)
        ]


class ModelAdmin(_ConsoleWords, UnfoldModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        _style_plain_widgets(form)
        return form
    @staticmethod
    def _get_action_description(func, name):
        description = getattr(func, "short_description", None)
        if isinstance(description, str) and not isinstance(description, Promise):
            return gettext(description)
        return UnfoldModelAdmin._get_action_description(func, name)


class TabularInline(_ConsoleWords, UnfoldTabularInline):
    pass


class StackedInline(_ConsoleWords, UnfoldStackedInline):
    pass


class StaffUserAdmin(DjangoUserAdmin, ModelAdmin):
    """Staff users (a store's, or the platform's operators) with unfold's forms."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


class StaffGroupAdmin(DjangoGroupAdmin, ModelAdmin):
    pass
