"""Reading the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEntry


def audit_entries() -> QuerySet[AuditEntry]:
    """The store's audit log, newest first (the current schema's: a store sees only its own)."""
    return AuditEntry.objects.order_by("-id")


def history_of(object_type: str, object_id: str | int) -> QuerySet[AuditEntry]:
    """Every recorded change of one object, newest first."""
    return audit_entries().filter(object_type=object_type, object_id=str(object_id))
