"""A project URLconf that includes django_bolt.urls (tests/views/test_reverse.py)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("django_bolt.urls"))]
