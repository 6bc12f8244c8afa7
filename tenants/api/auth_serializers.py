from __future__ import annotations

from rest_framework import serializers


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, write_only=True, trim_whitespace=False)


class StoreUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_staff = serializers.BooleanField()
    scopes = serializers.ListField(child=serializers.CharField(),
                                   help_text="What this session may do in the API.")
    store = serializers.DictField(child=serializers.CharField(), help_text="slug and name.")


class CsrfSerializer(serializers.Serializer):
    csrf_token = serializers.CharField(help_text="Send it back in the X-CSRFToken header.")


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=4096, write_only=True, trim_whitespace=False)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
