"""Tasks the tests enqueue to see, from a real worker, which store's schema a task ran in."""

from django.contrib.auth import get_user_model
from django.db import connection

from config.celery import app


@app.task(name="tenants.tests.whose_schema")
def whose_schema() -> dict:
    return {
        "schema": connection.schema_name,
        "staff": sorted(get_user_model().objects.values_list("username", flat=True)),
    }


@app.task(name="tenants.tests.which_request")
def which_request() -> str:
    """The request id the worker logs this task's lines with."""
    from tenants.request_id import current_request_id

    return current_request_id()
