"""The platform URLs plus ``/bench/bare``: a view that does nothing, behind the same middleware."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls_public import urlpatterns as platform_urlpatterns


@csrf_exempt
def bare(request):
    _ = request.body  # read the body like the webhook does
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


urlpatterns = [*platform_urlpatterns, path("bench/bare", bare)]
