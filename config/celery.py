"""The Celery app. Every task runs in the schema of the store that enqueued it.

tenant-schemas-celery puts the enqueuing connection's schema in a ``_schema_name`` header
and switches to it before the task body runs (its tenant cache is on). ``StoreTask``
adds the rule that a store's task enqueued without a store fails loudly instead of
running in the public schema; platform tasks declare ``platform_task=True``.
"""

from __future__ import annotations

import os

from django.db import connection
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class StoreTask(TenantTask):
    abstract = True
    # True for work that belongs to the platform (e.g. the spare-schema pool).
    platform_task = False

    def __call__(self, *args, **kwargs):
        if not self.platform_task and connection.schema_name == "public":
            from tenants.errors import TenantRequired

            raise TenantRequired(
                f"Task {self.name} was enqueued without a store; enqueue it inside the "
                "store's schema (request, tenant_context or schema_context)."
            )
        return super().__call__(*args, **kwargs)


class AtendoCelery(CeleryApp):
    task_cls = "config.celery:StoreTask"


app = AtendoCelery("atendo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
