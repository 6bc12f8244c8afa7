"""URLs of a store's domain: the store's admin console (and, as they land, API and webhooks)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from channels.urls import store_urlpatterns as channel_webhooks
from config.api_urls import store_api
from config.health import health

admin.site.site_header = "Atendo"
admin.site.site_title = "Atendo"
admin.site.index_title = gettext_lazy("Your store")

urlpatterns = [
    path("health", health, name="health"),
    # The console's language switch (sets the language cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "admin/password-set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url="/admin/login/",
            extra_context={"site_header": admin.site.site_header},
        ),
        name="password_set",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(store_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    *channel_webhooks,
    path("", include("orders.urls")),  # the payment gateway's webhook
]
