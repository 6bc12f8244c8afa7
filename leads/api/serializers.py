"""The leads API's shapes: leads with their identities, the timeline, merges."""

from __future__ import annotations

from rest_framework import serializers

from leads.models import IdentityKind, Lead, LeadEvent, LeadIdentity, Stage


class LeadIdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadIdentity
        fields = ["id", "kind", "value", "created_at"]

class LeadSerializer(serializers.ModelSerializer):
    identities = LeadIdentitySerializer(many=True, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=60))

    class Meta:
        model = Lead
        fields = [
            "id", "name", "phone", "email", "stage", "tags", "consent_marketing",
            "consent_whatsapp", "source_channel", "profile_summary", "profile_refreshed_at",
            "identities", "created_at", "updated_at",
        ]

class NewLeadSerializer(serializers.Serializer):
    """A lead is found or created by one identity: ``kind`` + ``value``, else its phone
    (kind ``phone``), else its e-mail (kind ``email``)."""

    kind = serializers.ChoiceField(choices=IdentityKind.choices, required=False)
    value = serializers.CharField(max_length=255, required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)

    def validate(self, data: dict) -> dict:
        if ("kind" in data) != ("value" in data):
            missing = "value" if "kind" in data else "kind"
            raise serializers.ValidationError({missing: ["Give both kind and value."]})
        if "kind" not in data:
            if data.get("phone"):
                data["kind"], data["value"] = IdentityKind.PHONE, data["phone"]
            elif data.get("email"):
                data["kind"], data["value"] = IdentityKind.EMAIL, data["email"]
            else:
                raise serializers.ValidationError(
                    {"value": ["Give an identity (kind and value), a phone or an e-mail."]}
                )
        return data

class LeadChangesSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    stage_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)
    consent_marketing = serializers.BooleanField(required=False)
    consent_whatsapp = serializers.BooleanField(required=False)

class NewIdentitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=255)

class LeadEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "payload", "at"]

class NewNoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)

class MergeSerializer(serializers.Serializer):
    merge_id = serializers.IntegerField(help_text="The lead folded into this one, then deleted.")
