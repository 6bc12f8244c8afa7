"""Browser tests: a real Chromium (Debian's ``chromium``, driven by Playwright) against the
app served by gunicorn on the test database, on store hosts such as
``browser-a.localhost:<port>`` (Chromium resolves ``*.localhost`` to loopback).

The stores here are their own (``browser-a`` with the demo store's data, ``browser-b``
speaking Spanish), committed for the server process to see and dropped at the end, so
the other tests' stores stay as they were. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "browser tests 123"
SHOP_A = {"slug": "browser-a", "name": "Loja da Sapatilha", "owner_email": "ana@browser-a.test"}
SHOP_B = {"slug": "browser-b", "name": "Tienda de Danza", "owner_email": "eva@browser-b.test"}
OPERATOR = {"email": "ops@browser.test", "password": PASSWORD}


@dataclass(frozen=True)
class Console:
    """Where the running app answers: a store's console URL and its staff login."""

    port: int

    def url(self, slug: str, path: str = "/admin/") -> str:
        return f"http://{slug}.localhost:{self.port}{path}"

    def platform_url(self, path: str = "/admin/") -> str:
        return f"http://localhost:{self.port}{path}"


@pytest.fixture(scope="session")
def console_stores(django_db_setup, django_db_blocker):
    """``browser-a`` holds the demo store's data (Portuguese); ``browser-b`` speaks Spanish."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_tenants.utils import tenant_context

    from catalog.embeddings import embed_products
    from catalog.selectors import get_store_profile
    from tenants import demo, services
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        for spec in (SHOP_A, SHOP_B):
            services.provision_store(**spec, owner_password=PASSWORD)
        shop_a, shop_b = Tenant.objects.get(slug=SHOP_A["slug"]), Tenant.objects.get(slug=SHOP_B["slug"])
        with tenant_context(shop_a):
            demo.populate(shop_a)
            # The products' embeddings now, not whenever the worker gets to them: the
            # playground's product answers rank by them.
            embed_products()
        with tenant_context(shop_b):
            profile = get_store_profile()
            profile.language = "es"
            profile.save()
        connection.set_schema_to_public()
        get_user_model().objects.create_superuser(OPERATOR["email"], OPERATOR["email"], OPERATOR["password"])
    yield shop_a, shop_b
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        get_user_model().objects.filter(username=OPERATOR["email"]).delete()
        for spec in (SHOP_A, SHOP_B):
            services.delete_store(spec["slug"], confirm=spec["slug"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/login/", headers={"Host": f"{SHOP_A['slug']}.localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def console(console_stores, celery_worker):
    """gunicorn serving the app on the test database (and the test Redis), on loopback."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    port = _free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--timeout", "120", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while not _answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("the test web server did not start")
        time.sleep(0.3)
    yield Console(port=port)
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless (never a browser downloaded by Playwright)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    # Playwright's sync API keeps an event loop in this thread; the tests' own ORM calls
    # (fixtures, checks) are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()
    playwright.stop()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    """A fresh browser profile (no cookies) whose browser asks for English."""
    context = browser.new_context(viewport={"width": 1440, "height": 960}, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.locator("form#login-form button[type=submit], form#login-form input[type=submit]").first.click()
    page.wait_for_load_state()
