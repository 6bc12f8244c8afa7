"""A store's own users signing in to the store's frontend: credentials checked in the
store's schema only (a user of store A does not exist in store B), failed attempts counted
per account in Redis, and password reset by e-mail with Django's one-time tokens.

The view logs the user in (``django.contrib.auth.login``); these functions never see a
request.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from tenants.errors import TenantError
from tenants.services import public_url

logger = logging.getLogger(__name__)


class InvalidCredentials(TenantError):
    code = "invalid_credentials"


class LoginLocked(TenantError):
    """Too many failed attempts for this account; ``retry_after`` seconds to wait."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class InvalidResetToken(TenantError):
    code = "invalid_token"


class InvalidPassword(TenantError):
    code = "invalid_password"


class EmailUnavailable(TenantError):
    code = "email_unavailable"


@dataclass(frozen=True)
class PasswordResetLink:
    uid: str
    token: str
    url: str


def _failures_key(email: str) -> str:
    # The cache's key function adds the store's schema: counts never mix between stores.
    return f"login-failures:{email.strip().lower()}"


def _user_by_email(email: str):
    user_model = get_user_model()
    email = email.strip()
    if not email:
        return None
    return (
        user_model._default_manager.filter(email__iexact=email).order_by("pk").first()
        or user_model._default_manager.filter(username__iexact=email).order_by("pk").first()
    )


def authenticate_store_user(email: str, password: str):
    """The active user of the current store with this e-mail and password.

    Raises ``LoginLocked`` after ``AUTH_LOGIN_MAX_FAILURES`` failures for the e-mail within
    ``AUTH_LOGIN_LOCKOUT_SECONDS`` (even with the right password), ``InvalidCredentials``
    otherwise. A success forgets the failures.
    """
    key = _failures_key(email)
    limit = settings.AUTH_LOGIN_MAX_FAILURES
    lockout = settings.AUTH_LOGIN_LOCKOUT_SECONDS
    if (cache.get(key) or 0) >= limit:
        raise LoginLocked(f"Too many failed attempts; try again in {lockout // 60 or 1} minute(s).", lockout)
    found = _user_by_email(email)
    user = authenticate(username=found.get_username(), password=password) if found else None
    if user is None:
        if cache.add(key, 1, lockout) is False:
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, lockout)
        logger.info("auth.login.failed", extra={"email": email.strip().lower()})
        raise InvalidCredentials("The e-mail or the password is wrong.")
    cache.delete(key)
    return user


def password_reset_link(user, host: str) -> PasswordResetLink:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    template = settings.AUTH_PASSWORD_RESET_URL
    if template:
        url = template.format(host=host, uid=uid, token=token)
    else:
        url = public_url(host, f"/admin/password-set/{uid}/{token}/")
    return PasswordResetLink(uid=uid, token=token, url=url)


def request_password_reset(email: str, *, host: str, store_name: str) -> bool:
    """E-mail a one-time reset link to the active user of the current store with this
    e-mail. Returns whether a mail was sent (callers must not tell the requester: that
    would reveal who has an account). Raises ``EmailUnavailable`` when the mail backend
    fails (logged)."""
    user = _user_by_email(email)
    if user is None or not user.is_active or not user.email:
        logger.info("auth.password_reset.unknown_email", extra={"host": host})
        return False
    link = password_reset_link(user, host)
    body = (
        f"Someone asked to reset the password of {user.email} at {store_name}.\n\n"
        f"Choose a new password here (the link works once):\n{link.url}\n\n"
        f"If it was not you, ignore this e-mail; your password stays as it is.\n"
    )
    try:
        send_mail(f"{store_name}: reset your password", body, None, [user.email], fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.error("auth.password_reset.mail_failed", extra={"host": host, "error": str(exc)})
        raise EmailUnavailable("The reset e-mail could not be sent; try again later.") from exc
    logger.info("auth.password_reset.sent", extra={"user_id": user.pk, "host": host})
    return True


def check_reset_link(uid: str, token: str):
    """The active user an e-mailed link was made for, or ``InvalidResetToken`` (a wrong,
    expired or already used link)."""
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, user_model.DoesNotExist, ValidationError):
        user = None
    if user is None or not user.is_active or not default_token_generator.check_token(user, token):
        raise InvalidResetToken("This reset link is invalid or was already used.", field="token")
    return user


def confirm_password_reset(uid: str, token: str, new_password: str):
    """Set ``new_password`` for the user the link was made for. The token works once (it
    depends on the current password). Raises ``InvalidResetToken``, ``InvalidPassword``."""
    user = check_reset_link(uid, token)
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise InvalidPassword(" ".join(exc.messages), field="new_password") from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    cache.delete(_failures_key(user.email))
    logger.info("auth.password_reset.done", extra={"user_id": user.pk})
    return user
