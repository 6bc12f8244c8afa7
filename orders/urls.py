"""Orders' URLs on a store's domain; ``config/urls_tenant.py`` includes them at the root."""

from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("webhooks/abacatepay/", views.abacatepay_webhook, name="abacatepay_webhook"),
]
