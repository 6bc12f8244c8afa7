"""Tasks run in the schema of the store that enqueued them, on a real worker and broker."""

import pytest
from django_tenants.utils import schema_context, tenant_context

from conftest import STORE_A, STORE_B
from tenants.tests.probe_tasks import whose_schema


def test_a_task_enqueued_by_store_a_runs_in_store_a_schema(celery_worker, store, other_store):
    with tenant_context(store):
        from_a = whose_schema.delay()
    with tenant_context(other_store):
        from_b = whose_schema.delay()

    assert from_a.get(timeout=30) == {"schema": "store_a", "staff": [STORE_A["owner_email"]]}
    assert from_b.get(timeout=30) == {"schema": "store_b", "staff": [STORE_B["owner_email"]]}


def test_a_store_task_enqueued_without_a_store_fails_loudly(celery_worker, public_schema):
    with schema_context("public"):
        result = whose_schema.delay()
    with pytest.raises(Exception, match="without a store"):
        result.get(timeout=30)
    assert result.failed()
