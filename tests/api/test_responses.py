"""Return-value conversion, response validation and the response classes."""

import dataclasses
import logging

import msgspec
import pytest

from django_bolt import (
    HTML,
    JSON,
    BoltAPI,
    FileResponse,
    PlainText,
    Redirect,
    Response,
    StreamingResponse,
)
from django_bolt.exceptions import HTTPException
from django_bolt.testing import TestClient


class User(msgspec.Struct):
    id: int
    name: str


@dataclasses.dataclass
class Box:
    size: int


api = BoltAPI()


@api.get("/dict")
async def get_dict():
    return {"a": 1}


@api.get("/list")
async def get_list():
    return [1, 2]


@api.get("/struct")
async def get_struct():
    return User(1, "ann")


@api.get("/dataclass")
async def get_dataclass():
    return Box(3)


@api.get("/str")
async def get_str():
    return "héllo"


@api.get("/bytes")
async def get_bytes():
    return b"\x00\x01"


@api.delete("/empty", status_code=204)
async def empty():
    return None


@api.post("/created", status_code=201)
async def created():
    return {"created": True}


@api.get("/annotated-ok")
async def annotated_ok() -> User:
    return {"id": 1, "name": "from dict"}  # type: ignore[return-value]


@api.get("/annotated-bad")
async def annotated_bad() -> User:
    return {"id": "x"}  # type: ignore[return-value]


@api.get("/model-bad", response_model=list[User])
async def model_bad():
    return [{"id": 1, "name": "a"}, {"id": 2}]


@api.get("/model-ok", response_model=list[User])
async def model_ok():
    return [{"id": 1, "name": "a", "extra": "dropped"}]


@api.get("/classes/{kind}")
async def classes(kind: str):
    if kind == "response":
        return Response(
            b"raw", status_code=202, headers={"X-One": "1"}, media_type="application/xml"
        )
    if kind == "json":
        return JSON({"j": 1}, status_code=203)
    if kind == "text":
        return PlainText("plain")
    if kind == "html":
        return HTML("<b>x</b>")
    return Redirect("/dict")


@api.get("/cookies")
async def cookies():
    response = JSON({"ok": True})
    response.set_cookie("session", "abc", max_age=60, httponly=True, secure=True)
    response.delete_cookie("old")
    return response


@api.get("/bad-header")
async def bad_header():
    return Response(b"", headers={"x-evil": "a\r\nset-cookie: x=1"})


@api.get("/stream/{kind}")
async def stream(kind: str):
    if kind == "async":

        async def chunks():
            for i in range(3):
                yield f"a{i},"

        return StreamingResponse(chunks())
    if kind == "sse":

        async def events():
            yield "data: one\n\n"
            yield b"data: two\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    return StreamingResponse((f"s{i}," for i in range(3)), media_type="text/csv")


@pytest.fixture(scope="module")
def client():
    with TestClient(api, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "status", "content_type", "body"),
    [
        pytest.param("/dict", 200, "application/json", b'{"a":1}', id="dict"),
        pytest.param("/list", 200, "application/json", b"[1,2]", id="list"),
        pytest.param("/struct", 200, "application/json", b'{"id":1,"name":"ann"}', id="struct"),
        pytest.param("/dataclass", 200, "application/json", b'{"size":3}', id="dataclass"),
        pytest.param("/str", 200, "text/plain; charset=utf-8", "héllo".encode(), id="str"),
        pytest.param("/bytes", 200, "application/octet-stream", b"\x00\x01", id="bytes"),
        pytest.param(
            "/annotated-ok",
            200,
            "application/json",
            b'{"id":1,"name":"from dict"}',
            id="annotation",
        ),
        pytest.param(
            "/model-ok", 200, "application/json", b'[{"id":1,"name":"a"}]', id="response-model"
        ),
    ],
)
def test_return_values(client, path, status, content_type, body):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    assert response.content == body


def test_none_with_204_is_empty(client):
    response = client.delete("/empty")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


def test_route_status_code(client):
    assert client.post("/created").status_code == 201


@pytest.mark.parametrize("path", ["/annotated-bad", "/model-bad"])
def test_response_validation_error_is_500_and_logged(client, caplog, path):
    with caplog.at_level(logging.ERROR, logger="django_bolt"):
        response = client.get(path)
    assert response.status_code == 500
    assert response.json() == {"detail": "Response validation error"}
    assert any("Response validation error" in r.getMessage() for r in caplog.records)


def test_response_validation_details_in_debug():
    debug_api = BoltAPI(debug=True)
    debug_api.get("/bad")(annotated_bad)
    with TestClient(debug_api, raise_server_exceptions=False) as client:
        body = client.get("/bad").json()
    assert body["detail"] == "Response validation error"
    assert "Expected `int`" in body["errors"]


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "body"),
    [
        pytest.param("response", 202, "application/xml", b"raw", id="response"),
        pytest.param("json", 203, "application/json", b'{"j":1}', id="json"),
        pytest.param("text", 200, "text/plain; charset=utf-8", b"plain", id="plaintext"),
        pytest.param("html", 200, "text/html; charset=utf-8", b"<b>x</b>", id="html"),
    ],
)
def test_response_classes(client, kind, status, content_type, body):
    response = client.get(f"/classes/{kind}")
    assert (response.status_code, response.headers["content-type"], response.content) == (
        status,
        content_type,
        body,
    )


def test_extra_headers(client):
    assert client.get("/classes/response").headers["x-one"] == "1"


def test_redirect_is_307(client):
    response = client.get("/classes/redirect")
    assert response.status_code == 307
    assert response.headers["location"] == "/dict"


def test_set_and_delete_cookie(client):
    response = client.get("/cookies")
    set_cookies = response.headers.get_list("set-cookie")
    assert set_cookies[0] == "session=abc; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert set_cookies[1].startswith("old=")
    assert "Max-Age=0" in set_cookies[1]


def test_header_injection_is_refused(client, caplog):
    with caplog.at_level(logging.ERROR, logger="django_bolt"):
        response = client.get("/bad-header")
    assert response.status_code == 500
    assert "set-cookie" not in response.headers


def _set_item(name, value):
    Response({}).headers[name] = value


def _set_default(name, value):
    Response({}).headers.setdefault(name, value)


def _update(name, value):
    Response({}).headers.update({name: value})


def _merge(name, value):
    headers = Response({}).headers
    headers |= {name: value}


@pytest.mark.parametrize(
    "set_header",
    [
        pytest.param(lambda n, v: Response({}, headers={n: v}), id="Response(headers=)"),
        pytest.param(_set_item, id="headers[name]"),
        pytest.param(_set_default, id="headers.setdefault"),
        pytest.param(_update, id="headers.update"),
        pytest.param(_merge, id="headers |="),
        pytest.param(lambda n, v: HTTPException(400, headers={n: v}), id="HTTPException"),
    ],
)
@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        pytest.param("x-next", "a\r\nset-cookie: admin=1", "value of header 'x-next'", id="crlf"),
        pytest.param("x-next", "a\nb", "value of header 'x-next'", id="lf"),
        pytest.param("x-next", "a\x00b", "value of header 'x-next'", id="nul"),
        pytest.param("x-next\r\nx-evil", "1", "invalid header name", id="name-crlf"),
        pytest.param("x next", "1", "invalid header name", id="name-space"),
    ],
)
def test_a_header_that_could_split_the_response_fails_where_it_is_set(
    set_header, name, value, error
):
    with pytest.raises(ValueError, match=error):
        set_header(name, value)


def test_a_redirect_to_a_url_with_crlf_fails_where_it_is_made():
    with pytest.raises(ValueError, match="header 'location'"):
        Redirect("/next\r\nSet-Cookie: admin=1")


def test_a_download_name_with_control_characters_is_sanitised(tmp_path):
    (tmp_path / "report.txt").write_bytes(b"data")
    api = BoltAPI()

    @api.get("/download")
    async def download(name: str):
        return FileResponse(tmp_path / "report.txt", filename=name)

    with TestClient(api) as client:
        response = client.get("/download", params={"name": 'a"\r\nSet-Cookie: x=1\\.txt'})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert response.headers["content-disposition"] == (
        'attachment; filename="aSet-Cookie: x=1.txt"; '
        "filename*=UTF-8''a%22%0D%0ASet-Cookie%3A%20x%3D1%5C.txt"
    )


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        pytest.param("async", b"a0,a1,a2,", "application/octet-stream", id="async-generator"),
        pytest.param("sync", b"s0,s1,s2,", "text/csv; charset=utf-8", id="sync-generator"),
        pytest.param(
            "sse", b"data: one\n\ndata: two\n\n", "text/event-stream; charset=utf-8", id="sse"
        ),
    ],
)
def test_streaming(client, kind, body, content_type):
    with client.stream("GET", f"/stream/{kind}") as response:
        assert response.headers["content-type"] == content_type
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = list(response.iter_bytes())
    assert b"".join(chunks) == body


def test_sse_headers(client):
    response = client.get("/stream/sse")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"


@pytest.mark.parametrize(
    ("annotation", "checked"),
    [
        pytest.param(dict, False, id="dict"),
        pytest.param(dict[str, object], False, id="dict-any-values"),
        pytest.param(list, False, id="list"),
        pytest.param(dict[str, int], True, id="dict-int-values"),
        pytest.param(list[User], True, id="list-of-structs"),
        pytest.param(User | None, True, id="optional-struct"),
        pytest.param(int, True, id="scalar"),
        pytest.param(JSON, False, id="response-class"),
    ],
)
def test_which_return_annotations_are_checked(annotation, checked):
    from django_bolt.results import _needs_validation

    assert _needs_validation(annotation) is checked


def test_headers_changed_after_construction_reach_the_wire():
    api = BoltAPI()

    @api.get("/changed")
    async def changed():
        response = Response({}, headers={"x-a": "1", "x-b": "2", "x-d": "5"})
        del response.headers["x-a"]
        response.headers["x-b"] = "3"
        response.headers.pop("x-d")
        response.headers |= {"x-c": "4"}
        return response

    @api.get("/cleared")
    async def cleared():
        response = Response({}, headers={"x-a": "1"})
        response.headers.clear()
        response.headers.setdefault("x-e", "6")
        return response

    with TestClient(api) as client:
        headers = client.get("/changed").headers
        assert "x-a" not in headers and "x-d" not in headers
        assert (headers["x-b"], headers["x-c"]) == ("3", "4")
        headers = client.get("/cleared").headers
        assert "x-a" not in headers and headers["x-e"] == "6"
