from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from conftest import STORE_A


@pytest.fixture
def committed_store_a(django_db_blocker):
    """Store A with real commits (no test transaction), for tests whose threads must see
    each other's rows. Yields the tenant; deletes every lead created meanwhile."""
    from leads.models import Lead
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug=STORE_A["slug"])
        connection.set_tenant(tenant)
        before = set(Lead.objects.values_list("pk", flat=True))
        try:
            yield tenant
        finally:
            connection.set_tenant(tenant)
            Lead.objects.exclude(pk__in=before).delete()
            connection.set_schema_to_public()


def run_in_threads(tenant, count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released at once, each with its own database
    connection in ``tenant``'s schema. Returns each result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def body(i: int) -> None:
        from django.db import connection as thread_connection

        thread_connection.set_tenant(tenant)
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
