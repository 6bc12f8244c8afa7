from django.urls import path

from catalog.api import views

urlpatterns = [
    path("products", views.ProductListView.as_view(), name="products"),
    path("products/import", views.ProductImportView.as_view(), name="products-import"),
    path("products/<int:product_id>", views.ProductDetailView.as_view(), name="product"),
    path("products/<int:product_id>/files", views.ProductFilesView.as_view(), name="product-files"),
    path(
        "products/<int:product_id>/files/<int:file_id>",
        views.ProductFileDetailView.as_view(),
        name="product-file",
    ),
    path("catalog/connections", views.CatalogConnectionListView.as_view(), name="catalog-connections"),
    path(
        "catalog/connections/<int:connection_id>/sync",
        views.CatalogConnectionSyncView.as_view(),
        name="catalog-connection-sync",
    ),
    path("categories", views.CategoryListView.as_view(), name="categories"),
    path("categories/<int:category_id>", views.CategoryDetailView.as_view(), name="category"),
    path("synonyms", views.SynonymListView.as_view(), name="synonyms"),
    path("synonyms/<int:synonym_id>", views.SynonymDetailView.as_view(), name="synonym"),
    path("store/profile", views.StoreProfileView.as_view(), name="store-profile"),
    path("stock/sync", views.StockSyncView.as_view(), name="stock-sync"),
]
