"""Platform endpoints (operators manage stores) and a store's API keys."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import api_keys, services
from tenants.api.permissions import HasScope, StoreOnly
from tenants.api.serializers import (
    ApiKeySerializer,
    CreatedApiKeySerializer,
    NewApiKeySerializer,
    NewStoreSerializer,
    ProvisionedStoreSerializer,
    StoreSerializer,
)
from tenants.models import ApiKey, Tenant


class PlatformOnly(HasScope):
    def has_permission(self, request, view) -> bool:
        return connection.schema_name == "public" and super().has_permission(request, view)


class StoreListView(APIView):
    """Operators: list stores, or create one (ready in milliseconds from the spare pool)."""

    required_scope = "platform"
    permission_classes = [IsAuthenticated, PlatformOnly]

    @extend_schema(responses=StoreSerializer(many=True))
    def get(self, request):
        stores = Tenant.objects.stores().prefetch_related("domains").order_by("slug")
        data = [
            {
                "slug": s.slug, "name": s.name, "schema_name": s.schema_name,
                "domain": next((d.domain for d in s.domains.all() if d.is_primary), None),
                "is_active": s.is_active, "created_at": s.created_at,
            }
            for s in stores
        ]
        return Response(StoreSerializer(data, many=True).data)

    @extend_schema(request=NewStoreSerializer, responses={201: ProvisionedStoreSerializer})
    def post(self, request):
        payload = NewStoreSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        store = services.provision_store(**payload.validated_data)
        set_password_url = (
            services.public_url(store.domain, store.set_password_path)
            if store.set_password_path
            else None
        )
        body = {
            "slug": store.slug, "name": store.name, "schema_name": store.schema_name,
            "domain": store.domain, "owner_email": store.owner_email,
            "set_password_url": set_password_url, "from_spare": store.from_spare,
            "milliseconds": round(store.seconds * 1000, 1),
        }
        return Response(ProvisionedStoreSerializer(body).data, status=status.HTTP_201_CREATED)


class StoreDetailView(APIView):
    required_scope = "platform"
    permission_classes = [IsAuthenticated, PlatformOnly]

    @extend_schema(
        parameters=[OpenApiParameter("confirm", str, required=True,
                                     description="repeat the slug: the schema is dropped")],
        responses={204: None},
    )
    def delete(self, request, slug: str):
        services.delete_store(slug, confirm=request.query_params.get("confirm", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyListView(APIView):
    """The store's API keys. A new key is shown in full once, in the creation response."""

    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(responses=ApiKeySerializer(many=True))
    def get(self, request):
        keys = ApiKey.objects.filter(tenant_id=request.tenant.pk)
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(request=NewApiKeySerializer, responses={201: CreatedApiKeySerializer})
    def post(self, request):
        payload = NewApiKeySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = api_keys.create_api_key(
            request.tenant, payload.validated_data["name"], payload.validated_data["scopes"]
        )
        body = {"id": created.id, "name": created.name, "scopes": list(created.scopes),
                "key": created.key}
        return Response(CreatedApiKeySerializer(body).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    required_scope = "app"
    permission_classes = [IsAuthenticated, StoreOnly, HasScope]

    @extend_schema(responses={204: None})
    def delete(self, request, key_id: int):
        api_keys.revoke_api_key(request.tenant, key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
