"""The catalog over HTTP: views validate input and call the catalog's functions."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import ProtectedError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import services
from catalog.api.filters import ProductFilter, find_category
from catalog.api.serializers import (
    CatalogConnectionSerializer,
    CategorySerializer,
    ImportReportSerializer,
    ProductFileSerializer,
    ProductFileUploadSerializer,
    ProductImportSerializer,
    ProductSerializer,
    StockSyncReportSerializer,
    StockSyncSerializer,
    StoreProfileSerializer,
    SynonymSerializer,
)
from catalog.embeddings import refresh_embeddings_on_commit
from catalog.errors import ProductNotFound
from catalog.files import attach_product_file, detach_product_file, product_files
from catalog.importing import import_products
from catalog.models import CatalogConnection, Category, Product, ProductFile, Synonym
from catalog.search import MAX_LIMIT, search_products
from catalog.selectors import get_store_profile
from catalog.sync import request_sync

SEARCH_LIMIT = 20


class ProductInUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "product_in_use"
    default_detail = "The product is on orders and cannot be deleted; deactivate it instead."


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return SEARCH_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": [f"A whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def _product_saved(product: Product, stock_before: int | None) -> None:
    # What the store admin does after a save: webhooks hear of stock changes, and the
    # product's meaning is re-embedded for the semantic search leg.
    if stock_before is not None and stock_before != product.stock_quantity:
        services.announce_stock_change(product, stock_before, product.stock_quantity)
    refresh_embeddings_on_commit()


@extend_schema_view(
    get=extend_schema(parameters=[
        OpenApiParameter("limit", OpenApiTypes.INT,
                         description=f"With `q`: how many results (1-{MAX_LIMIT}, default {SEARCH_LIMIT})."),
    ])
)
class ProductListView(generics.ListCreateAPIView):
    """The store's products and variants. With `q` the list is a search, best match first
    (one page: `next` is null); without it, a cursor-paginated list in `ordering`."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ProductFilter
    ordering_fields = ["name", "sku", "price", "stock_quantity", "created_at", "updated_at"]
    ordering = ["name"]

    def list(self, request, *args, **kwargs):
        query = request.query_params.get("q", "").strip()
        if not query:
            return super().list(request, *args, **kwargs)
        filters = ProductFilter(request.query_params, queryset=Product.objects.none())
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        data = filters.form.cleaned_data
        if data.get("active") is False:
            raise ValidationError({"active": ["A search covers active products only."]})
        if data.get("parent") is not None:
            raise ValidationError({"parent": ["List a product's variants without q."]})
        if data.get("in_stock") is False:
            raise ValidationError({"in_stock": ["A search can keep in-stock products only (true)."]})
        category = find_category(data["category"]).pk if data.get("category") else None
        hits = search_products(
            query,
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            category=category,
            in_stock_only=bool(data.get("in_stock")),
            limit=_limit(request.query_params.get("limit")),
        )
        by_id = Product.objects.in_bulk([hit.product_id for hit in hits])
        ordered = [by_id[hit.product_id] for hit in hits if hit.product_id in by_id]
        results = self.get_serializer(ordered, many=True).data
        return Response({"next": None, "previous": None, "results": results})

    def perform_create(self, serializer):
        product = serializer.save()
        _product_saved(product, stock_before=None)


class ProductDetailView(generics.RetrieveUpdateDestroyAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    lookup_url_kwarg = "product_id"

    def perform_update(self, serializer):
        stock_before = serializer.instance.stock_quantity
        product = serializer.save()
        _product_saved(product, stock_before=stock_before)

    def perform_destroy(self, instance: Product) -> None:
        try:
            instance.delete()
        except ProtectedError as exc:
            raise ProductInUse() from exc


class ProductImportView(APIView):
    """Import products from CSV (WooCommerce export or generic). Idempotent by SKU; rows
    that cannot be imported are reported by line and field, the rest are imported."""

    required_scope = "app"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ProductImportSerializer},
                   responses={200: ImportReportSerializer})
    def post(self, request):
        payload = ProductImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = import_products(payload.validated_data["file"].read(),
                                 format=payload.validated_data["format"])
        body = {
            "format": report.format, "created": report.created, "updated": report.updated,
            "imported": report.imported,
            "errors": [{"line": e.line, "field": e.field, "message": e.message} for e in report.errors],
        }
        return Response(ImportReportSerializer(body).data)


class StockSyncView(APIView):
    """The ERP's absolute stock quantities by SKU. Idempotent; unknown SKUs and invalid
    quantities are reported and the rest applied."""

    required_scope = "webhook"

    @extend_schema(request=StockSyncSerializer, responses={200: StockSyncReportSerializer})
    def post(self, request):
        payload = StockSyncSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = services.sync_stock_levels(payload.validated_data["levels"])
        body = {
            "updated": list(report.updated), "unchanged": list(report.unchanged),
            "unknown_skus": list(report.unknown_skus),
            "invalid": [{"sku": sku, "message": message} for sku, message in report.invalid],
        }
        return Response(StockSyncReportSerializer(body).data)


class CategoryListView(generics.ListCreateAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = CategorySerializer
    queryset = Category.objects.all()
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "slug"]
    ordering = ["name"]


class CategoryDetailView(generics.RetrieveUpdateDestroyAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = CategorySerializer
    queryset = Category.objects.all()
    lookup_url_kwarg = "category_id"


class SynonymListView(generics.ListCreateAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = SynonymSerializer
    queryset = Synonym.objects.all()
    filter_backends = [OrderingFilter]
    ordering_fields = ["term"]
    ordering = ["term"]


class SynonymDetailView(generics.RetrieveUpdateDestroyAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = SynonymSerializer
    queryset = Synonym.objects.all()
    lookup_url_kwarg = "synonym_id"


class StoreProfileView(generics.RetrieveUpdateAPIView):
    """The facts agents tell customers about the store (one per store)."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = StoreProfileSerializer

    def get_object(self):
        return get_store_profile()


def _product_id(product_id: int) -> int:
    if not Product.objects.filter(pk=product_id).exists():
        raise ProductNotFound(f"No product with id {product_id}.", field="product_id")
    return product_id


class ProductFilesView(APIView):
    """A product's files (size charts, manuals...). An upload is indexed into the knowledge
    base (collection "Product files") with the product as each chunk's metadata."""

    required_scope = "app"
    read_scope_can_list = True
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: ProductFileSerializer(many=True)})
    def get(self, request, product_id: int):
        files = product_files(_product_id(product_id))
        return Response(ProductFileSerializer([asdict(f) for f in files], many=True).data)

    @extend_schema(request={"multipart/form-data": ProductFileUploadSerializer},
                   responses={201: ProductFileSerializer})
    def post(self, request, product_id: int):
        payload = ProductFileUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        attached = attach_product_file(
            _product_id(product_id), filename=upload.name, data=upload.read(),
            title=payload.validated_data.get("title", ""),
        )
        return Response(ProductFileSerializer(asdict(attached)).data, status=status.HTTP_201_CREATED)


class ProductFileDetailView(APIView):
    required_scope = "app"

    @extend_schema(responses={204: None})
    def delete(self, request, product_id: int, file_id: int):
        if not ProductFile.objects.filter(pk=file_id, product_id=product_id).exists():
            raise ProductNotFound(f"No file {file_id} on product {product_id}.", field="file_id")
        detach_product_file(file_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CatalogConnectionListView(APIView):
    """The shop platforms (WooCommerce, Tiendanube) the catalog is pulled from, with the
    outcome of their last sync. Staff add them in the admin console (secrets go to the vault)."""

    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses={200: CatalogConnectionSerializer(many=True)})
    def get(self, request):
        return Response(CatalogConnectionSerializer(CatalogConnection.objects.all(), many=True).data)


class CatalogConnectionSyncView(APIView):
    """Pull the connection's catalog now, in the background (idempotent by SKU); the outcome
    shows in the connection's ``last_status`` and ``last_report``."""

    required_scope = "app"

    @extend_schema(request=None, responses={202: CatalogConnectionSerializer})
    def post(self, request, connection_id: int):
        request_sync(connection_id)
        connection = CatalogConnection.objects.get(pk=connection_id)
        return Response(CatalogConnectionSerializer(connection).data, status=status.HTTP_202_ACCEPTED)
