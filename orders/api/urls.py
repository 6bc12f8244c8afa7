from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders", views.OrderListView.as_view(), name="orders"),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="order"),
    path("orders/<int:order_id>/start-payment", views.StartPaymentView.as_view(), name="order-start-payment"),
    path("orders/<int:order_id>/mark-paid", views.MarkPaidView.as_view(), name="order-mark-paid"),
    path("orders/<int:order_id>/ship", views.ShipView.as_view(), name="order-ship"),
    path("orders/<int:order_id>/deliver", views.DeliverView.as_view(), name="order-deliver"),
    path("orders/<int:order_id>/cancel", views.CancelView.as_view(), name="order-cancel"),
    path("orders/<int:order_id>/refund", views.RefundView.as_view(), name="order-refund"),
]
