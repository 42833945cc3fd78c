"""Plain Django views: what runbolt hands to Django when no API route matches."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Hello, World!"})
