"""Agents over HTTP: views validate input and call ``agents.services`` / ``agents.selectors``."""

from __future__ import annotations

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services, tools
from agents.agent_templates import TEMPLATES
from agents.api.filters import AgentFilter, TokenUsageFilter
from agents.api.serializers import (
    AgentChangesSerializer,
    AgentSerializer,
    FromTemplateSerializer,
    ModelPriceSerializer,
    RateSerializer,
    RatingSerializer,
    RunSerializer,
    TemplateSerializer,
    TokenUsageSerializer,
    ToolSerializer,
    UsageQuerySerializer,
    UsageSummarySerializer,
)
from agents.models import AgentRun, HttpTool, ModelPrice, TokenUsage
from tenants.api.authentication import ApiKeyUser


def rater(request) -> str:
    """Who rates: ``api:<key name>#<key prefix>`` or ``staff:<username>``."""
    if isinstance(request.user, ApiKeyUser):
        return f"api:{request.user.api_key.name}#{request.user.api_key.prefix}"
    return f"staff:{request.user.get_username()}"


def _agent_body(agent_id: int) -> dict:
    return AgentSerializer(get_object_or_404(selectors.agents_with_ratings(), pk=agent_id)).data


class AgentListView(generics.ListAPIView):
    """The store's agents (the default first), with their ratings; and a new agent."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = AgentSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = AgentFilter
    ordering_fields = ["name", "created_at"]
    ordering = ["-is_default", "name", "id"]

    def get_queryset(self):
        return selectors.agents_with_ratings().prefetch_related("knowledge_collections")

    @extend_schema(request=AgentSerializer, responses={201: AgentSerializer})
    def post(self, request):
        """A new agent from explicit settings; unset ones take the defaults (offline
        responder, temperature 0.7, 5 tool iterations, 20 messages of memory)."""
        payload = AgentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agent = services.create_agent(**payload.validated_data)
        return Response(_agent_body(agent.pk), status=status.HTTP_201_CREATED)


class AgentDetailView(APIView):
    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=AgentSerializer)
    def get(self, request, agent_id: int):
        return Response(_agent_body(agent_id))

    @extend_schema(request=AgentChangesSerializer, responses=AgentSerializer)
    def patch(self, request, agent_id: int):
        """Change some settings; ``is_default: true`` makes it the store's default agent."""
        agent = get_object_or_404(selectors.agents_with_ratings(), pk=agent_id)
        payload = AgentChangesSerializer(agent, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.update_agent(agent.pk, **payload.validated_data)
        return Response(_agent_body(agent.pk))

    @extend_schema(responses={204: None})
    def delete(self, request, agent_id: int):
        """Delete the agent; its runs, token usage and ratings stay."""
        services.delete_agent(get_object_or_404(selectors.agents_with_ratings(), pk=agent_id).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ToolListView(APIView):
    """Every tool an agent may enable: the built-in ones and the store's HTTP/webhook tools."""

    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=ToolSerializer(many=True))
    def get(self, request):
        rows = [
            {"name": t.name, "description": t.description, "kind": "builtin", "writes": t.writes,
             "parameters": t.parameters}
            for t in tools.TOOLS.values()
        ]
        rows += [
            {"name": t.name, "description": t.description, "kind": t.kind, "writes": t.writes,
             "parameters": t.parameters or {"type": "object", "properties": {}}}
            for t in HttpTool.objects.filter(is_active=True)
        ]
        return Response(ToolSerializer(rows, many=True).data)


class TemplateListView(APIView):
    """The templates an agent can start from."""

    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=TemplateSerializer(many=True))
    def get(self, request):
        return Response(TemplateSerializer(TEMPLATES.values(), many=True).data)


class FromTemplateView(APIView):
    """A new agent from a template (its name gets " 2", " 3"... when taken)."""

    required_scope = "app"

    @extend_schema(request=FromTemplateSerializer, responses={201: AgentSerializer})
    def post(self, request):
        payload = FromTemplateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        agent = services.create_agent_from_template(
            data["template"], name=data.get("name"), provider=data["provider"], model=data["model"],
            make_default=data["make_default"],
        )
        return Response(_agent_body(agent.pk), status=status.HTTP_201_CREATED)


class ModelCatalogView(generics.ListAPIView):
    """The store's models catalog: which provider/models its agents use, with context size
    and prices per million tokens (costs of token usage are computed from it)."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = ModelPriceSerializer
    queryset = ModelPrice.objects.all()
    filter_backends = [OrderingFilter]
    ordering = ["provider", "model", "id"]

    @extend_schema(request=ModelPriceSerializer, responses={201: ModelPriceSerializer, 200: ModelPriceSerializer})
    def post(self, request):
        """Add a model (201), or update the context size and prices of one already listed (200)."""
        payload = ModelPriceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        row, created = services.add_model(data.pop("provider"), data.pop("model"), **data)
        return Response(ModelPriceSerializer(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TokenUsageListView(generics.ListAPIView):
    """Every model call: agent, provider, model, tokens, cost and latency, newest first."""

    required_scope = "read"
    read_scope_can_list = True
    serializer_class = TokenUsageSerializer
    queryset = TokenUsage.objects.all()
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = TokenUsageFilter
    ordering = ["-at", "-id"]


class TokenUsageSummaryView(APIView):
    """Calls, tokens and cost grouped by agent, by model or by day, with the totals."""

    required_scope = "read"
    read_scope_can_list = True

    @extend_schema(parameters=[UsageQuerySerializer], responses=UsageSummarySerializer)
    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        lines = selectors.usage_summary(
            data["group_by"], since=data.get("start"), until=data.get("end"), agent_id=data.get("agent"),
        )
        body = {
            "group_by": data["group_by"], "start": data.get("start"), "end": data.get("end"), "lines": lines,
            "calls": sum(line.calls for line in lines),
            "prompt_tokens": sum(line.prompt_tokens for line in lines),
            "completion_tokens": sum(line.completion_tokens for line in lines),
            "cost": sum((line.cost for line in lines), Decimal(0)),
        }
        return Response(UsageSummarySerializer(body).data)


class RunDetailView(APIView):
    """One turn of an agent with its steps (model calls and tool calls)."""

    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=RunSerializer)
    def get(self, request, run_id: int):
        return Response(RunSerializer(get_object_or_404(AgentRun.objects.prefetch_related("steps"), pk=run_id)).data)


class RateRunView(APIView):
    """Rate the reply of one run good or bad, with a comment; rating again replaces yours."""

    required_scope = "app"

    @extend_schema(request=RateSerializer, responses={200: RatingSerializer})
    def post(self, request, run_id: int):
        payload = RateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rated = services.rate_reply(run_id, payload.validated_data["rating"],
                                    comment=payload.validated_data["comment"], by=rater(request))
        body = {"run_id": rated.run_id, "agent_id": rated.agent_id, "rating": rated.rating, "comment": rated.comment,
                "rated_by": rated.rated_by, "updated_at": rated.updated_at}
        return Response(RatingSerializer(body).data)
