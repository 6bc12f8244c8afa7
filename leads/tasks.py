"""Lead tasks: thin wrappers over services, ids in, idempotent."""

from __future__ import annotations

from config.celery import app
from leads import services
from leads.errors import LeadNotFound


@app.task(name="leads.refresh_profile", ignore_result=True)
def refresh_profile(lead_id: int) -> None:
    try:
        services.refresh_profile(lead_id)
    except LeadNotFound:
        pass  # merged or deleted since it was enqueued: nothing to refresh
