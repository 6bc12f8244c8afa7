from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Stores"

    def ready(self) -> None:
        from tenants import request_id, signals  # noqa: F401  (signals: cache invalidation receivers)

        request_id.connect_celery()
