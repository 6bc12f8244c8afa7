from __future__ import annotations

from rest_framework import serializers


class SendMessageSerializer(serializers.Serializer):
    channel_id = serializers.IntegerField()
    to = serializers.CharField(max_length=128, help_text="The contact: a phone number (WhatsApp), a Chatwoot contact id...")
    text = serializers.CharField(max_length=20000)
    idempotency_key = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                            help_text="Repeat it on a retry: the message is sent once.")


class QueuedMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class ChannelStatusSerializer(serializers.Serializer):
    channel_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class MetaSignupSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=2000)
    redirect_uri = serializers.CharField(max_length=500, required=False, allow_blank=True)


class MetaSignupResultSerializer(serializers.Serializer):
    channel_id = serializers.IntegerField()
    connected = serializers.BooleanField()
    expires_in = serializers.IntegerField(allow_null=True)


class HandoffSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ConversationStateSerializer(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    status = serializers.CharField()
    handoff_reason = serializers.CharField(allow_blank=True)
