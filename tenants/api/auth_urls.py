from django.urls import path

from tenants.api import auth_views

urlpatterns = [
    path("auth/csrf", auth_views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login", auth_views.LoginView.as_view(), name="auth-login"),
    path("auth/logout", auth_views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", auth_views.MeView.as_view(), name="auth-me"),
    path("auth/password-reset", auth_views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm", auth_views.PasswordResetConfirmView.as_view(),
         name="auth-password-reset-confirm"),
]
