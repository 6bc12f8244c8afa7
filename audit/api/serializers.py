from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    changes = serializers.JSONField(
        help_text='Each changed field: {"before": ..., "after": ...}; secrets are "***".'
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor_kind", "actor_id", "actor_label", "source", "request_id", "action",
                  "object_type", "object_id", "object_repr", "changes"]
