from __future__ import annotations

from rest_framework import serializers

from tenants.models import ApiKey, ApiKeyScope


class NewStoreSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    owner_email = serializers.EmailField()
    domain = serializers.CharField(max_length=253, required=False)
    owner_password = serializers.CharField(required=False, write_only=True, min_length=8)


class StoreSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    schema_name = serializers.CharField()
    domain = serializers.CharField(allow_null=True)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ProvisionedStoreSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    schema_name = serializers.CharField()
    domain = serializers.CharField()
    owner_email = serializers.EmailField()
    set_password_url = serializers.CharField(allow_null=True)
    from_spare = serializers.BooleanField()
    milliseconds = serializers.FloatField()


class ApiKeySerializer(serializers.ModelSerializer):
    key_preview = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "key_preview", "scopes", "created_at", "last_used_at",
                  "revoked_at", "is_active"]

    def get_key_preview(self, obj: ApiKey) -> str:
        return f"atd_{obj.prefix}_…"


class NewApiKeySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=[ApiKeyScope.APP, ApiKeyScope.WEBHOOK, ApiKeyScope.READ]),
        allow_empty=False,
    )


class CreatedApiKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    key = serializers.CharField(help_text="The full key. Shown only in this response.")
