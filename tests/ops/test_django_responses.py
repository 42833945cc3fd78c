"""Handlers may return Django's own response objects: sent as they are, never a 500."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse as DjangoFileResponse,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

from django_bolt import BoltAPI, Request
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path


def test_a_redirect_keeps_its_status_location_and_cookies() -> None:
    api = BoltAPI()

    @api.get("/go")
    async def go() -> HttpResponseRedirect:
        response = HttpResponseRedirect("/elsewhere?x=1")
        response.set_cookie("first", "1", httponly=True)
        response.set_cookie("second", "two words", samesite="Strict")
        response["X-Extra"] = "yes"
        return response

    with TestClient(api) as client:
        response = client.get("/go", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/elsewhere?x=1"
    assert response.headers["x-extra"] == "yes"
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("first=1;") and "HttpOnly" in cookies[0]
    assert cookies[1].startswith('second="two words";') and "SameSite=Strict" in cookies[1]
    assert response.content == b""


def test_a_plain_http_response_and_a_forbidden_one() -> None:
    api = BoltAPI()

    @api.get("/text")
    def text() -> HttpResponse:
        return HttpResponse("héllo", content_type="text/plain; charset=utf-8", status=201)

    @api.post("/csrf")
    async def csrf() -> HttpResponse:
        return HttpResponseForbidden("CSRF verification failed")

    with TestClient(api) as client:
        created = client.get("/text")
        refused = client.post("/csrf")
    assert created.status_code == 201
    assert created.headers["content-type"] == "text/plain; charset=utf-8"
    assert created.text == "héllo"
    assert created.headers["content-length"] == str(len("héllo".encode()))
    assert refused.status_code == 403
    assert refused.text == "CSRF verification failed"


def test_login_required_redirects_an_anonymous_user_to_the_login_page() -> None:
    api = BoltAPI()

    @api.get("/private")
    @login_required
    async def private(request: Request) -> dict[str, str]:
        return {"user": request.user.get_username()}

    with TestClient(api) as client:
        response = client.get("/private?page=2", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/accounts/login/?next=/private%3Fpage%3D2"


def test_a_streaming_response_is_streamed_with_sync_chunks_off_the_loop() -> None:
    api = BoltAPI()
    threads: list[str] = []

    def chunks() -> Iterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            threads.append(threading.current_thread().name)
            yield part

    @api.get("/stream")
    async def stream() -> StreamingHttpResponse:
        response = StreamingHttpResponse(chunks(), content_type="text/csv")
        response.set_cookie("seen", "1")
        return response

    async def achunks() -> AsyncIterator[str]:
        for part in ("a", "b"):
            yield part

    @api.get("/astream")
    async def astream() -> StreamingHttpResponse:
        return StreamingHttpResponse(achunks())

    with TestClient(api) as client:
        response = client.get("/stream")
        async_response = client.get("/astream")
    assert response.status_code == 200
    assert response.content == b"one,two,three"
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["set-cookie"].startswith("seen=1;")
    assert threads and all(not name.startswith("django-bolt-loop") for name in threads)
    assert async_response.content == b"ab"


def test_a_django_file_response_keeps_its_length_and_closes_the_file(tmp_path: Path) -> None:
    api = BoltAPI()
    data = bytes(range(256)) * 1000
    path = tmp_path / "report.bin"
    path.write_bytes(data)
    opened = []

    @api.get("/file")
    def file() -> DjangoFileResponse:
        handle = path.open("rb")
        opened.append(handle)
        return DjangoFileResponse(handle, as_attachment=True, filename="report.bin")

    with TestClient(api) as client:
        response = client.get("/file")
        head = client.head("/file")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="report.bin"'
    assert head.status_code == 200
    assert head.content == b""
    assert opened and all(handle.closed for handle in opened)


def test_an_exception_handler_may_return_a_django_response() -> None:
    api = BoltAPI()

    @api.exception_handler(PermissionError)
    async def to_login(request: Request, exc: PermissionError) -> HttpResponseRedirect:
        return HttpResponseRedirect("/login/")

    @api.get("/boom")
    async def boom() -> dict[str, str]:
        raise PermissionError("no")

    with TestClient(api) as client:
        response = client.get("/boom", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/login/"
