"""Platform tasks of the tenants app (they run in the public schema on purpose)."""

from __future__ import annotations

from config.celery import app
from tenants import services


@app.task(name="tenants.top_up_spare_schemas", platform_task=True, ignore_result=True)
def top_up_spare_schemas() -> int:
    return services.top_up_spare_schemas()
