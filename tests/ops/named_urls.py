"""A project URLconf that includes django_bolt.urls, as 0.13's docs ask."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("django_bolt.urls"))]
