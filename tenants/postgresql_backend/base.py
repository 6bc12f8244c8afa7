"""django-tenants' PostgreSQL backend, keeping a search path that is already set.

django-tenants forgets the session's search path on every ``set_tenant``, and every
request calls it (the store routing middleware), so each request's first query paid a
``SET search_path`` round trip even when the schema had not changed — on the webhook,
whose whole work is one schema-qualified ``INSERT``, that doubled the round trips. Here
the applied search path is kept when the new one is the same (``TENANT_LIMIT_SET_CALLS``
already trusts it between queries). A rollback or a closed connection still forgets it,
as django-tenants does, so the next query sets it again.
"""

from __future__ import annotations

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    def set_tenant(self, tenant, include_public=True):
        applied = self.search_path_set_schemas
        super().set_tenant(tenant, include_public)
        if applied is not None and applied == self._get_cursor_search_paths():
            self.search_path_set_schemas = applied
