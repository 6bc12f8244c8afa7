"""The console app: the admin console's words, language and commands (``config`` itself)."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class ConsoleConfig(AppConfig):
    name = "config"
    label = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from catalog.models import StoreProfile
        from config.console import translate_labels
        from config.i18n import forget_store_language

        translate_labels()
        post_save.connect(forget_store_language, sender=StoreProfile, dispatch_uid="console.store-language")
