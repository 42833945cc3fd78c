from __future__ import annotations

from django.urls import path

from benchproject import views

urlpatterns = [path("django/hello", views.hello)]
