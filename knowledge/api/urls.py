from django.urls import path

from knowledge.api import views

urlpatterns = [
    path("knowledge/collections", views.CollectionListView.as_view(), name="knowledge-collections"),
    path("knowledge/collections/<int:collection_id>", views.CollectionDetailView.as_view(),
         name="knowledge-collection"),
    path("knowledge/documents", views.DocumentListView.as_view(), name="knowledge-documents"),
    path("knowledge/documents/<int:document_id>", views.DocumentDetailView.as_view(),
         name="knowledge-document"),
    path("knowledge/documents/<int:document_id>/reindex", views.DocumentReindexView.as_view(),
         name="knowledge-document-reindex"),
    path("knowledge/search", views.KnowledgeSearchView.as_view(), name="knowledge-search"),
]
