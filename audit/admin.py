"""The audit log in the store's admin console: read-only, filterable."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from audit.models import AuditEntry
from config.admin_base import ModelAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ModelAdmin):
    list_display = ("at", "actor_label", "actor_kind", "source", "action", "object_type", "object_repr")
    list_filter = ("action", "actor_kind", "source", "object_type")
    search_fields = ("actor_label", "object_repr", "object_id", "request_id")
    date_hierarchy = "at"
    readonly_fields = ("at", "actor_kind", "actor_id", "actor_label", "source", "request_id", "action",
                       "object_type", "object_id", "object_repr", "changes_table")
    exclude = ("changes",)

    @admin.display(description="changes")
    def changes_table(self, obj: AuditEntry) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((field, _shown(change.get("before", "")), _shown(change.get("after", "")))
             for field, change in sorted((obj.changes or {}).items())),
        )
        return format_html(
            "<table><thead><tr><th>field</th><th>before</th><th>after</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
