"""URLs of the platform domain (BASE_DOMAIN): the operators' platform admin."""

from django.urls import path

from config.health import health
from tenants.admin import platform_admin_site

urlpatterns = [
    path("health", health, name="health"),
    path("admin/", platform_admin_site.urls),
]
