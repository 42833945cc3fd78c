"""Django's own URLs; runbolt serves them when no API route matches (the admin, for one)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
