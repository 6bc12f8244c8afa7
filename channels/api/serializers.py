from __future__ import annotations

from rest_framework import serializers


class TemplateCallSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=512, help_text="The approved template's name, e.g. order_ready.")
    language = serializers.CharField(max_length=20, help_text="Its language code, e.g. pt_BR.")
    components = serializers.ListField(
        child=serializers.DictField(), required=False, default=list,
        help_text='Meta\'s components filling its variables, e.g. [{"type": "body", "parameters": '
                  '[{"type": "text", "text": "Ana"}]}].')


class SendMessageSerializer(serializers.Serializer):
    channel_id = serializers.IntegerField()
    to = serializers.CharField(max_length=128, help_text="The contact: a phone number (WhatsApp), a Chatwoot contact id...")
    text = serializers.CharField(max_length=20000, required=False, allow_blank=True,
                                 help_text="Free text: within WhatsApp's 24-hour customer-service window only.")
    template = TemplateCallSerializer(required=False, help_text="An approved WhatsApp template (any time).")
    idempotency_key = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                            help_text="Repeat it on a retry: the message is sent once.")

    def validate(self, attrs):
        has_text, has_template = bool((attrs.get("text") or "").strip()), "template" in attrs
        if has_text == has_template:
            field = "template" if has_text else "text"
            raise serializers.ValidationError({field: ["Send either a text or a template, not both or neither."]})
        return attrs


class MessageTemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    language = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    body = serializers.CharField()
    synced_at = serializers.DateTimeField()


class TemplateSyncSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    removed = serializers.IntegerField()
    templates = MessageTemplateSerializer(many=True)


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
