"""URLs of the platform domain (BASE_DOMAIN): the operators' platform admin."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from channels.urls import platform_urlpatterns as channel_webhooks
from config.api_urls import store_api
from config.health import health
from tenants.admin import platform_admin_site
from tenants.api.urls import platform_urlpatterns

urlpatterns = [
    path("health", health, name="health"),
    # The console's language switch (sets the language cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", platform_admin_site.urls),
    # A store's API key works on the platform domain too: the key names the store.
    path("api/v1/", include(platform_urlpatterns + store_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    *channel_webhooks,
]
