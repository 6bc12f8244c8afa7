"""The store URL conf with orders' URLs included (as config/urls_tenant.py will)."""

from django.urls import include, path

from config.urls_tenant import urlpatterns as store_urlpatterns

urlpatterns = [*store_urlpatterns, path("", include("orders.urls"))]
