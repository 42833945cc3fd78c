"""URLconf for the test suite's Django fall-through."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def plain_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain django view")


urlpatterns = [path("django-view/", plain_view)]
