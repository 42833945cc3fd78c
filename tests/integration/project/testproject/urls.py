"""Django's own URLs, reached through runbolt's fall-through."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path


def plain_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain django view")


urlpatterns = [path("admin/", admin.site.urls), path("django-view/", plain_view)]
