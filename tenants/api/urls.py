from django.urls import path

from tenants.api import views

platform_urlpatterns = [
    path("platform/stores", views.StoreListView.as_view(), name="platform-stores"),
    path("platform/stores/<slug:slug>", views.StoreDetailView.as_view(), name="platform-store"),
]

urlpatterns = [
    path("api-keys", views.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", views.ApiKeyDetailView.as_view(), name="api-key"),
]
