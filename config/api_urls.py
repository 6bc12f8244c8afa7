"""/api/v1/: each app's API. Store endpoints act in the store named by the key or domain."""

from django.urls import include, path

store_api = [
    path("", include("tenants.api.urls")),
    path("", include("tenants.api.auth_urls")),
    path("", include("channels.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("knowledge.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("audit.api.urls")),
]
