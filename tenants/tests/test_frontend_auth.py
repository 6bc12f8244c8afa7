"""The store's frontend signs its users in: session + CSRF, per store, throttled, and a
password reset by e-mail whose link works once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from audit.models import AuditEntry
from conftest import OWNER_PASSWORD, STORE_A, STORE_B

A = "store-a.localhost"
B = "store-b.localhost"


@pytest.fixture
def browser(db):
    return Client(enforce_csrf_checks=True)


def _csrf(browser, host: str = A) -> str:
    response = browser.get("/api/v1/auth/csrf", HTTP_HOST=host)
    assert response.status_code == 200
    return response.json()["csrf_token"]


def _login(browser, email: str, password: str, host: str = A):
    return browser.post(
        "/api/v1/auth/login", {"email": email, "password": password}, content_type="application/json",
        HTTP_HOST=host, HTTP_X_CSRFTOKEN=_csrf(browser, host),
    )


def test_a_store_user_signs_in_sees_themselves_and_signs_out(browser, store):
    signed_in = _login(browser, STORE_A["owner_email"], OWNER_PASSWORD)
    assert signed_in.status_code == 200
    assert signed_in.json()["email"] == STORE_A["owner_email"]
    assert "sessionid" in signed_in.cookies

    me = browser.get("/api/v1/auth/me", HTTP_HOST=A).json()
    assert me["email"] == STORE_A["owner_email"]
    assert me["store"] == {"slug": "store-a", "name": "Store A"}
    assert me["scopes"] == ["app", "read", "webhook"]
    # The session works on the rest of the API too.
    assert browser.get("/api/v1/audit-log", HTTP_HOST=A).status_code == 200

    # Signed in, an unsafe call without the CSRF token is refused.
    assert browser.post("/api/v1/auth/logout", HTTP_HOST=A).status_code == 403
    token = browser.cookies["csrftoken"].value
    assert browser.post("/api/v1/auth/logout", HTTP_HOST=A, HTTP_X_CSRFTOKEN=token).status_code == 204
    gone = browser.get("/api/v1/auth/me", HTTP_HOST=A)
    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "not_authenticated"


def test_signing_in_needs_the_csrf_token(browser, store):
    response = browser.post(
        "/api/v1/auth/login", {"email": STORE_A["owner_email"], "password": OWNER_PASSWORD},
        content_type="application/json", HTTP_HOST=A,
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_a_wrong_password_is_refused_with_the_error_body(browser, store):
    response = _login(browser, STORE_A["owner_email"], "not the password")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    missing = browser.post("/api/v1/auth/login", {"email": "x@y.z"}, content_type="application/json",
                           HTTP_HOST=A, HTTP_X_CSRFTOKEN=_csrf(browser))
    assert missing.status_code == 400
    assert "password" in missing.json()["error"]["fields"]


def test_a_user_of_store_a_cannot_sign_in_on_store_b(browser, store):
    assert _login(browser, STORE_A["owner_email"], OWNER_PASSWORD, host=B).status_code == 400
    assert _login(browser, STORE_B["owner_email"], OWNER_PASSWORD, host=B).status_code == 200

    # Store A's session cookie carried to store B's domain is nobody there.
    a_browser = Client(enforce_csrf_checks=True)
    assert _login(a_browser, STORE_A["owner_email"], OWNER_PASSWORD).status_code == 200
    stolen = Client()
    stolen.cookies["sessionid"] = a_browser.cookies["sessionid"].value
    assert stolen.get("/api/v1/auth/me", HTTP_HOST=A).status_code == 200
    assert stolen.get("/api/v1/auth/me", HTTP_HOST=B).status_code == 401


def test_sign_in_is_a_store_endpoint_not_the_platforms(browser, public_schema):
    response = browser.post("/api/v1/auth/login", {"email": "a@b.c", "password": "x"},
                            content_type="application/json", HTTP_HOST="localhost")
    assert response.status_code == 403


def test_repeated_failures_lock_the_account_even_with_the_right_password(browser, store, settings):
    settings.AUTH_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert _login(browser, STORE_A["owner_email"], "guess").status_code == 400
    locked = _login(browser, STORE_A["owner_email"], OWNER_PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0
    # The lock is per account and per store: store B's owner still signs in.
    assert _login(browser, STORE_B["owner_email"], OWNER_PASSWORD, host=B).status_code == 200


def test_sign_in_calls_are_limited_per_client(browser, store, settings):
    settings.AUTH_RATE_LIMIT = "4/minute"
    codes = [_login(browser, f"u{i}@x.test", "guess").status_code for i in range(6)]
    assert codes == [400, 400, 400, 400, 429, 429]


def _reset_link(mail) -> tuple[str, str]:
    match = re.search(r"http://store-a\.localhost(?::\d+)?/admin/password-set/([^/]+)/([^/]+)/", mail.body)
    assert match, mail.body
    return match.group(1), match.group(2)


def test_a_password_reset_mail_carries_a_link_that_works_once(browser, store, mailoutbox):
    asked = browser.post("/api/v1/auth/password-reset", {"email": STORE_A["owner_email"].upper()},
                         content_type="application/json", HTTP_HOST=A)
    assert asked.status_code == 202

    (mail,) = mailoutbox
    assert mail.to == [STORE_A["owner_email"]]
    assert "Store A" in mail.subject
    uid, token = _reset_link(mail)
    # The e-mailed link opens the console's set-password page.
    page = browser.get(f"/admin/password-set/{uid}/{token}/", HTTP_HOST=A, follow=True)
    assert page.status_code == 200 and b"new_password1" in page.content

    done = browser.post("/api/v1/auth/password-reset/confirm",
                        {"uid": uid, "token": token, "new_password": "a brand new secret"},
                        content_type="application/json", HTTP_HOST=A)
    assert done.status_code == 200
    assert _login(browser, STORE_A["owner_email"], OWNER_PASSWORD).status_code == 400
    assert _login(Client(enforce_csrf_checks=True), STORE_A["owner_email"], "a brand new secret").status_code == 200

    again = browser.post("/api/v1/auth/password-reset/confirm",
                         {"uid": uid, "token": token, "new_password": "yet another secret"},
                         content_type="application/json", HTTP_HOST=A)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"
    assert "token" in again.json()["error"]["fields"]

    (entry,) = AuditEntry.objects.filter(object_type="auth.User", action="update")
    assert entry.actor_label == STORE_A["owner_email"]
    assert entry.changes == {"password": {"before": "***", "after": "***"}}


def test_a_reset_for_an_unknown_email_says_the_same_and_sends_nothing(browser, store, mailoutbox):
    asked = browser.post("/api/v1/auth/password-reset", {"email": "nobody@example.com"},
                         content_type="application/json", HTTP_HOST=A)
    assert asked.status_code == 202
    assert mailoutbox == []
    # Store B's owner is nobody in store A.
    browser.post("/api/v1/auth/password-reset", {"email": STORE_B["owner_email"]},
                 content_type="application/json", HTTP_HOST=A)
    assert mailoutbox == []


def test_a_reset_refuses_a_too_short_password(browser, store, mailoutbox):
    browser.post("/api/v1/auth/password-reset", {"email": STORE_A["owner_email"]},
                 content_type="application/json", HTTP_HOST=A)
    uid, token = _reset_link(mailoutbox[0])
    short = browser.post("/api/v1/auth/password-reset/confirm",
                         {"uid": uid, "token": token, "new_password": "abc"},
                         content_type="application/json", HTTP_HOST=A)
    assert short.status_code == 400
    assert "new_password" in short.json()["error"]["fields"]


def test_a_broken_mail_server_is_reported_not_swallowed(browser, store, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    response = browser.post("/api/v1/auth/password-reset", {"email": STORE_A["owner_email"]},
                            content_type="application/json", HTTP_HOST=A)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "email_unavailable"
