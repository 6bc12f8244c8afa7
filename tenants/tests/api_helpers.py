"""Calling the store API in tests as a store's key would: ``api_as(client, "store-a", ["app"])``.

Each call is made on the store's own domain with ``Authorization: Bearer <key>`` and puts
the test's database connection back in the schema it was in (the request moves it to the
key's store), so a test can call store B's API and keep reading store A's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.test import Client

from tenants.api_keys import create_api_key
from tenants.models import Tenant


@dataclass
class StoreApi:
    client: Client
    host: str
    key: str | None

    def _call(self, method: str, path: str, data=None, *, multipart: bool = False, **extra):
        tenant = getattr(connection, "tenant", None)
        headers = {"HTTP_HOST": self.host, **extra}
        if self.key:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.key}"
        call = getattr(self.client, method)
        if path.startswith("http"):  # a `next` link: the path and query of it
            path = "/" + path.split("://", 1)[1].split("/", 1)[1]
        url = path if path.startswith("/") else f"/api/v1/{path}"
        try:
            if method in ("get", "delete") or multipart:
                return call(url, data, **headers) if data is not None else call(url, **headers)
            return call(url, data, content_type="application/json", **headers)
        finally:
            if tenant is not None and tenant.schema_name != "public":
                connection.set_tenant(tenant)
            else:
                connection.set_schema_to_public()

    def get(self, path: str, params: dict | None = None, **extra):
        return self._call("get", path, params, **extra)

    def post(self, path: str, data=None, **extra):
        return self._call("post", path, data if data is not None else {}, **extra)

    def put(self, path: str, data=None, **extra):
        return self._call("put", path, data if data is not None else {}, **extra)

    def patch(self, path: str, data=None, **extra):
        return self._call("patch", path, data if data is not None else {}, **extra)

    def delete(self, path: str, **extra):
        return self._call("delete", path, **extra)


def api_as(client: Client, store_slug: str, scopes: list[str] | None) -> StoreApi:
    """The store's API with a new key of these scopes (``None``: no key at all)."""
    key = None
    if scopes is not None:
        key = create_api_key(Tenant.objects.get(slug=store_slug), "test", scopes).key
    return StoreApi(client=client, host=f"{store_slug}.localhost", key=key)


def error(response) -> dict:
    return response.json()["error"]
