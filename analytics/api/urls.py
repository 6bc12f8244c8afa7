from django.urls import path

from analytics.api import views

urlpatterns = [
    path("dashboard", views.DashboardView.as_view(), name="dashboard"),
]
