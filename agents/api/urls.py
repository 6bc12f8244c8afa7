from django.urls import path

from agents.api import views

urlpatterns = [
    path("agents", views.AgentListView.as_view(), name="agents"),
    path("agents/tools", views.ToolListView.as_view(), name="agent-tools"),
    path("agents/templates", views.TemplateListView.as_view(), name="agent-templates"),
    path("agents/from-template", views.FromTemplateView.as_view(), name="agent-from-template"),
    path("agents/models", views.ModelCatalogView.as_view(), name="agent-models"),
    path("agents/usage", views.TokenUsageListView.as_view(), name="agent-usage"),
    path("agents/usage/summary", views.TokenUsageSummaryView.as_view(), name="agent-usage-summary"),
    path("agents/runs/<int:run_id>", views.RunDetailView.as_view(), name="agent-run"),
    path("agents/runs/<int:run_id>/rating", views.RateRunView.as_view(), name="agent-run-rating"),
    path("agents/<int:agent_id>", views.AgentDetailView.as_view(), name="agent"),
]
