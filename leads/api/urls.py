from django.urls import path

from leads.api import views

urlpatterns = [
    path("leads", views.LeadListView.as_view(), name="leads"),
    path("leads/<int:lead_id>", views.LeadDetailView.as_view(), name="lead"),
    path("leads/<int:lead_id>/identities", views.LeadIdentityView.as_view(), name="lead-identities"),
    path("leads/<int:lead_id>/events", views.LeadEventListView.as_view(), name="lead-events"),
    path("leads/<int:lead_id>/merge", views.LeadMergeView.as_view(), name="lead-merge"),
]
