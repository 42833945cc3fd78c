"""URLconf for the test suite's Django fall-through (tests/api/test_django_bridge.py)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

# Filled by stream_view's generator so a test can see the chunks were produced lazily.
STREAM_LOG: list[str] = []


def plain_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain django view")


def echo_view(request: HttpRequest) -> HttpResponse:
    """What Django saw of the request: method, path, query, a header, client, scheme."""
    lines = [
        request.method or "",
        request.path,
        request.GET.get("q", ""),
        request.headers.get("x-probe", ""),
        request.META.get("REMOTE_ADDR", ""),
        request.scheme,
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain")


@csrf_exempt
def digest_view(request: HttpRequest) -> HttpResponse:
    """Length and sha256 of the raw body, or of each uploaded file (multipart)."""
    if request.FILES:
        parts = [
            f"{name}:{upload.size}:{hashlib.sha256(upload.read()).hexdigest()}"
            for name, upload in sorted(request.FILES.items())
        ]
        return HttpResponse("\n".join(parts), content_type="text/plain")
    body = request.body
    return HttpResponse(
        f"{len(body)}:{hashlib.sha256(body).hexdigest()}", content_type="text/plain"
    )


def cookies_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("two cookies")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    return response


def _chunks() -> Iterator[bytes]:
    for index in range(3):
        STREAM_LOG.append(f"chunk {index}")
        yield f"chunk {index};".encode()


def stream_view(request: HttpRequest) -> StreamingHttpResponse:
    STREAM_LOG.clear()
    return StreamingHttpResponse(_chunks(), content_type="text/plain")


async def _async_chunks() -> AsyncIterator[bytes]:
    for index in range(3):
        yield f"async {index};".encode()


def async_stream_view(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(_async_chunks(), content_type="text/plain")


def csrf_view(request: HttpRequest) -> HttpResponse:
    """GET hands out a CSRF token (and its cookie); POST only passes CsrfViewMiddleware with it."""
    if request.method == "POST":
        return HttpResponse(f"posted {request.POST.get('name', '')}")
    return HttpResponse(get_token(request))


def raises_404_view(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing here")


def custom_404_view(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound("custom not found page")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("django-view/", plain_view),
    path("echo/", echo_view),
    path("café/", plain_view),
    path("cookies/", cookies_view),
    path("digest/", digest_view),
    path("stream/", stream_view),
    path("async-stream/", async_stream_view),
    path("csrf/", csrf_view),
    path("raises-404/", raises_404_view),
    path("custom-404/", custom_404_view),
]
