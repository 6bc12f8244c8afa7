from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """The store's dashboard: read-only figures over the other apps' data (no models)."""

    name = "analytics"
    label = "analytics"
