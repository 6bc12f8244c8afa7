"""The store's frontend signs its users in with a session cookie (CSRF-protected):
``GET auth/csrf``, ``POST auth/login``, ``POST auth/logout``, ``GET auth/me``, and password
reset by e-mail. Users are the store's own (its schema's): they cannot sign in elsewhere."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import store_users
from tenants.api.auth_serializers import (
    CsrfSerializer,
    DetailSerializer,
    LoginSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    StoreUserSerializer,
)
from tenants.api.permissions import StoreOnly, request_scopes
from tenants.api.throttling import AuthRateThrottle


class CsrfFailed(exceptions.PermissionDenied):
    default_code = "csrf_failed"


def _enforce_csrf(request) -> None:
    # DRF's session check, answered with the API's error body instead of Django's page.
    try:
        SessionAuthentication().enforce_csrf(request)
    except exceptions.PermissionDenied as exc:
        raise CsrfFailed(str(exc.detail)) from exc


class StoreSessionAuthentication(SessionAuthentication):
    """The session cookie; without one the answer is 401 (not DRF's 403 for sessions)."""

    def authenticate_header(self, request) -> str:
        return 'Session realm="store"'


class StoreSessionScheme(SessionScheme):
    target_class = "tenants.api.auth_views.StoreSessionAuthentication"
    name = "storeSession"


def _me(request, user) -> dict:
    return {
        "id": user.pk, "email": user.email, "username": user.get_username(),
        "first_name": user.first_name, "last_name": user.last_name, "is_staff": user.is_staff,
        "scopes": sorted(request_scopes(request)),
        "store": {"slug": request.tenant.slug, "name": request.tenant.name},
    }


class _Anonymous(APIView):
    authentication_classes: list = []
    permission_classes = [StoreOnly]
    throttle_classes = [AuthRateThrottle]


class CsrfView(_Anonymous):
    """Sets the CSRF cookie and returns the token to send as ``X-CSRFToken`` on unsafe calls."""

    throttle_classes: list = []

    @extend_schema(responses=CsrfSerializer)
    def get(self, request):
        return Response({"csrf_token": get_token(request)})


class LoginView(_Anonymous):
    """Sign a user of this store in (session cookie). Needs the CSRF token; failed attempts
    are limited per account (``AUTH_LOGIN_MAX_FAILURES``) and per client."""

    @extend_schema(request=LoginSerializer, responses={200: StoreUserSerializer})
    def post(self, request):
        _enforce_csrf(request)
        payload = LoginSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            user = store_users.authenticate_store_user(
                payload.validated_data["email"], payload.validated_data["password"]
            )
        except store_users.LoginLocked as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=exc.message) from exc
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.user = user
        return Response(StoreUserSerializer(_me(request, user)).data)


class LogoutView(APIView):
    authentication_classes = [StoreSessionAuthentication]
    permission_classes = [StoreOnly]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        """End the session (idempotent; the CSRF token is needed while signed in)."""
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    authentication_classes = [StoreSessionAuthentication]
    permission_classes = [IsAuthenticated, StoreOnly]

    @extend_schema(responses=StoreUserSerializer)
    def get(self, request):
        """The signed-in user (401 without a session)."""
        return Response(StoreUserSerializer(_me(request, request.user)).data)


class PasswordResetView(_Anonymous):
    @extend_schema(request=PasswordResetSerializer, responses={202: DetailSerializer})
    def post(self, request):
        """E-mail a reset link to the user with this e-mail, if there is one. The answer is
        the same either way (it does not reveal who has an account)."""
        payload = PasswordResetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        store_users.request_password_reset(
            payload.validated_data["email"], host=request.get_host().split(":")[0],
            store_name=request.tenant.name,
        )
        return Response(
            {"detail": "If this e-mail belongs to a user of this store, a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(_Anonymous):
    @extend_schema(request=PasswordResetConfirmSerializer, responses={200: DetailSerializer})
    def post(self, request):
        """Set a new password with the ``uid`` and ``token`` of the e-mailed link (once)."""
        from audit.context import Actor, acting_as
        from audit.models import ActorKind

        payload = PasswordResetConfirmSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = store_users.check_reset_link(data["uid"], data["token"])
        # The change is the user's own: the audit log names them, not an anonymous request.
        with acting_as(Actor(ActorKind.USER, str(user.pk), user.get_username(), "api")):
            store_users.confirm_password_reset(data["uid"], data["token"], data["new_password"])
        return Response({"detail": "Your password was changed; sign in with it."})
