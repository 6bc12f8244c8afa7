"""The knowledge base over HTTP: views validate input and call ``knowledge.services`` and
``knowledge.search``."""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from knowledge import services
from knowledge.api.filters import DocumentFilter
from knowledge.api.serializers import (
    AddedDocumentSerializer,
    CollectionSerializer,
    DocumentSerializer,
    NewDocumentSerializer,
    ReindexSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
)
from knowledge.models import Collection, Document
from knowledge.search import search
from tenants.api.parsers import StorableJSONParser


def _collections():
    return Collection.objects.annotate(document_count=Count("documents"))


class CollectionListView(generics.ListAPIView):
    required_scope = "app"
    read_scope_can_list = True
    serializer_class = CollectionSerializer
    queryset = _collections()
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return _collections()

    @extend_schema(request=CollectionSerializer, responses={201: CollectionSerializer, 200: CollectionSerializer})
    def post(self, request):
        """A collection, or the existing one of that name (200)."""
        payload = CollectionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        existed = Collection.objects.filter(name=data["name"]).exists()
        collection = services.create_collection(
            data["name"], description=data.get("description", ""),
            chunk_tokens=data.get("chunk_tokens"), chunk_overlap=data.get("chunk_overlap"),
        )
        body = CollectionSerializer(_collections().get(pk=collection.pk)).data
        return Response(body, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class CollectionDetailView(generics.RetrieveUpdateAPIView):
    """A collection; new chunk sizes apply to documents ingested (or re-indexed) after."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = CollectionSerializer
    lookup_url_kwarg = "collection_id"

    def get_queryset(self):
        return _collections()


class DocumentListView(generics.ListAPIView):
    """The store's documents, newest first; add one by upload, URL or pasted text. It is
    ingested by a worker: follow ``status`` and ``progress``."""

    required_scope = "app"
    read_scope_can_list = True
    serializer_class = DocumentSerializer
    queryset = Document.objects.all()
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = DocumentFilter
    ordering_fields = ["created_at", "title", "size_bytes"]
    ordering = ["-created_at"]
    parser_classes = [MultiPartParser, FormParser, StorableJSONParser]

    @extend_schema(
        request={"multipart/form-data": NewDocumentSerializer, "application/json": NewDocumentSerializer},
        responses={202: AddedDocumentSerializer, 200: AddedDocumentSerializer},
    )
    def post(self, request):
        payload = NewDocumentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        title = data.get("title", "")
        if data.get("file") is not None:
            upload = data["file"]
            added = services.upload_document(
                data["collection"], filename=upload.name, data=upload.read(), title=title
            )
        elif data.get("url") is not None:
            added = services.add_url_document(data["collection"], url=data["url"], title=title)
        else:
            added = services.add_text_document(
                data["collection"], title=title, text=data["text"], fmt=data["text_format"]
            )
        document = added.document
        document.created = added.created
        body = AddedDocumentSerializer(document).data
        return Response(body, status=status.HTTP_202_ACCEPTED if added.created else status.HTTP_200_OK)


class DocumentDetailView(APIView):
    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(responses=DocumentSerializer)
    def get(self, request, document_id: int):
        return Response(DocumentSerializer(get_object_or_404(Document, pk=document_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, document_id: int):
        """The document, its chunks and its file."""
        services.delete_document(document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexView(APIView):
    required_scope = "app"

    @extend_schema(request=None, responses={202: ReindexSerializer})
    def post(self, request, document_id: int):
        """Ingest the document again (new chunk sizes, another embedder); its current
        chunks stay searchable until the new ones are written."""
        document = get_object_or_404(Document, pk=document_id)
        queued = services.reindex_documents([document.pk])
        return Response(ReindexSerializer({"queued": queued}).data, status=status.HTTP_202_ACCEPTED)


class KnowledgeSearchView(APIView):
    """The best chunks for a question (hybrid: meaning and words), best first."""

    required_scope = "app"
    read_scope_can_list = True

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchResultSerializer)
    def get(self, request):
        params = SearchQuerySerializer(data={
            **request.query_params.dict(), "collection": request.query_params.getlist("collection"),
        })
        params.is_valid(raise_exception=True)
        data = params.validated_data
        hits = search(
            data["q"], top_k=data["top_k"], collection_ids=data.get("collection", ()),
            mode=data["mode"], min_score=data["min_score"],
        )
        results = [{**hit.__dict__, "source": hit.source} for hit in hits]
        return Response(SearchResultSerializer({"results": results}).data)
