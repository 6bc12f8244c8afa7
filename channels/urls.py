"""Webhook routes: ``platform_urlpatterns`` on the platform domain, ``store_urlpatterns``
on each store's domain."""

from django.urls import path

from channels import webhooks

platform_urlpatterns = [
    path("webhooks/meta/", webhooks.meta_webhook, name="webhook_meta"),
]

store_urlpatterns = [
    path("webhooks/chatwoot/<int:channel_id>/", webhooks.chatwoot_webhook, name="webhook_chatwoot"),
    path("webhooks/evolution/<int:channel_id>/", webhooks.evolution_webhook, name="webhook_evolution"),
    path("webhooks/evolution/<int:channel_id>/<slug:event_name>", webhooks.evolution_webhook,
         name="webhook_evolution_by_event"),
    path("webhooks/wuzapi/<int:channel_id>/", webhooks.wuzapi_webhook, name="webhook_wuzapi"),
]
