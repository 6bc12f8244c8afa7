"""Leads over HTTP: views validate input and call ``leads.services``."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import services
from leads.api.filters import LeadEventFilter, LeadFilter
from leads.api.serializers import (
    LeadChangesSerializer,
    LeadEventSerializer,
    LeadIdentitySerializer,
    LeadSerializer,
    MergeSerializer,
    NewIdentitySerializer,
    NewLeadSerializer,
    NewNoteSerializer,
)
from leads.models import EventKind, Lead, LeadEvent
from tenants.api.authentication import ApiKeyUser


class LeadHasOrders(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "lead_has_orders"
    default_detail = "The lead has orders and cannot be deleted; merge it into another lead instead."


def actor(request) -> str:
    """Who did it, for timelines: ``api:<key name>`` or ``staff:<username>``."""
    if isinstance(request.user, ApiKeyUser):
        return f"api:{request.user.api_key.name}"
    return f"staff:{request.user.get_username()}"


def _lead(lead_id: int) -> Lead:
    return get_object_or_404(Lead.objects.prefetch_related("identities"), pk=lead_id)


class LeadListView(generics.ListAPIView):
    """The store's leads (most recently touched first), and a new lead by identity."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = LeadSerializer
    queryset = Lead.objects.prefetch_related("identities")
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = LeadFilter
    ordering_fields = ["updated_at", "created_at", "name"]
    ordering = ["-updated_at"]

    @extend_schema(request=NewLeadSerializer, responses={201: LeadSerializer})
    def post(self, request):
        """Find or create the lead of an identity (idempotent: the same identity twice is
        the same lead); blank details of an existing lead are filled, never overwritten."""
        payload = NewLeadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        with transaction.atomic():
            lead = services.ensure_lead(
                data["kind"], data["value"], name=data.get("name") or None,
                email=data.get("email") or None, phone=data.get("phone") or None,
                source_channel=data["kind"],
            )
            if "tags" in data:
                services.set_tags(lead.pk, data["tags"])
            if "stage" in data:
                services.change_stage(lead.pk, data["stage"], by=actor(request))
        return Response(LeadSerializer(_lead(lead.pk)).data, status=status.HTTP_201_CREATED)


class LeadDetailView(APIView):
    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=LeadSerializer)
    def get(self, request, lead_id: int):
        return Response(LeadSerializer(_lead(lead_id)).data)

    @extend_schema(request=LeadChangesSerializer, responses=LeadSerializer)
    def patch(self, request, lead_id: int):
        """Change details; ``stage`` is recorded on the timeline, ``tags`` replace the tags."""
        lead = _lead(lead_id)
        payload = LeadChangesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        if data.get("phone"):
            data["phone"] = services.normalize_phone(data["phone"])
        details = {
            name: data[name]
            for name in ("name", "phone", "email", "consent_marketing", "consent_whatsapp")
            if name in data
        }
        with transaction.atomic():
            if details:
                for name, value in details.items():
                    setattr(lead, name, value)
                lead.save(update_fields=[*details, "updated_at"])
            if "tags" in data:
                services.set_tags(lead.pk, data["tags"])
            if "stage" in data:
                services.change_stage(
                    lead.pk, data["stage"], by=actor(request), reason=data.get("stage_reason", "")
                )
        return Response(LeadSerializer(_lead(lead.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, lead_id: int):
        lead = _lead(lead_id)
        try:
            lead.delete()
        except ProtectedError as exc:
            raise LeadHasOrders() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadIdentityView(APIView):
    required_scope = "app"

    @extend_schema(request=NewIdentitySerializer, responses={201: LeadIdentitySerializer})
    def post(self, request, lead_id: int):
        """Attach another channel's identity (idempotent); one of another lead is a 409:
        merge the two leads instead."""
        payload = NewIdentitySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = _lead(lead_id)
        identity = services.add_identity(
            lead.pk, payload.validated_data["kind"], payload.validated_data["value"]
        )
        return Response(LeadIdentitySerializer(identity).data, status=status.HTTP_201_CREATED)


class LeadEventListView(generics.ListAPIView):
    """The lead's timeline, oldest first; staff add notes to it."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = LeadEventSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = LeadEventFilter
    ordering_fields = ["at"]
    ordering = ["at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return LeadEvent.objects.none()
        return LeadEvent.objects.filter(lead=_lead(self.kwargs["lead_id"]))

    @extend_schema(request=NewNoteSerializer, responses={201: LeadEventSerializer})
    def post(self, request, lead_id: int):
        payload = NewNoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = _lead(lead_id)
        event = services.record_event(
            lead.pk, EventKind.NOTE, {"text": payload.validated_data["text"], "by": actor(request)}
        )
        return Response(LeadEventSerializer(event).data, status=status.HTTP_201_CREATED)


class LeadMergeView(APIView):
    required_scope = "app"

    @extend_schema(request=MergeSerializer, responses=LeadSerializer)
    def post(self, request, lead_id: int):
        """Fold lead ``merge_id`` into this one: identities, timeline, orders and
        conversations move here, blanks are filled, tags united; ``merge_id`` is deleted."""
        payload = MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = _lead(lead_id)
        kept = services.merge_leads(lead.pk, payload.validated_data["merge_id"], by=actor(request))
        return Response(LeadSerializer(_lead(kept.pk)).data)
