from django.urls import path

from channels.api import chat, views

urlpatterns = [
    path("agents/<int:agent_id>/chat", chat.ChatView.as_view(), name="agent-chat"),
    path("agents/<int:agent_id>/chat/stream", chat.ChatStreamView.as_view(), name="agent-chat-stream"),
    path("messages/send", views.SendMessageView.as_view(), name="messages-send"),
    path("events/stream", views.EventStreamView.as_view(), name="events-stream"),
    path("channels/<int:channel_id>/status", views.ChannelStatusView.as_view(), name="channel-status"),
    path("channels/<int:channel_id>/meta-signup", views.MetaSignupView.as_view(), name="channel-meta-signup"),
    path("channels/<int:channel_id>/templates", views.TemplateListView.as_view(), name="channel-templates"),
    path("channels/<int:channel_id>/templates/sync", views.TemplateSyncView.as_view(),
         name="channel-templates-sync"),
    path("conversations/<int:conversation_id>/handoff", views.HandoffView.as_view(), name="conversation-handoff"),
    path("conversations/<int:conversation_id>/return-to-bot", views.ReturnToBotView.as_view(),
         name="conversation-return-to-bot"),
]
