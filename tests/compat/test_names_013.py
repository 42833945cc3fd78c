"""Django-Bolt 0.13's names and signatures: ``django_bolt.Cookie``, ``make_delete_cookie``,
``UploadFile``'s constructor and ``from_file_info``, file-info dicts and Form() Structs with files.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import msgspec
import pytest

from django_bolt import BoltAPI, Cookie, Response, UploadFile
from django_bolt.cookies import Cookie as CookieClass, make_delete_cookie
from django_bolt.params import Cookie as CookieMarker, File, Form, Query
from django_bolt.responses import make_delete_cookie as responses_make_delete_cookie
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from pathlib import Path

# --- Cookie --------------------------------------------------------------------------------------


def test_django_bolt_cookie_is_the_response_cookie_class():
    assert Cookie is CookieClass
    cookie = Cookie("session", "abc123", httponly=True, secure=True)
    assert isinstance(cookie, CookieClass)
    assert cookie.to_header_value() == "session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax"
    named = Cookie(name="theme", value="dark", samesite="Strict")
    assert (named.name, named.value, named.samesite) == ("theme", "dark", "Strict")


@pytest.mark.parametrize(
    ("call", "marker"),
    [
        pytest.param(lambda: Cookie(), True, id="bare"),
        pytest.param(lambda: Cookie(...), True, id="ellipsis"),
        pytest.param(lambda: Cookie(alias="sid"), True, id="alias"),
        pytest.param(lambda: Cookie(default="x", description="d"), True, id="default"),
        pytest.param(lambda: Cookie("sid"), False, id="name"),
        pytest.param(lambda: Cookie("sid", max_age=5), False, id="name-and-options"),
    ],
)
def test_cookie_without_a_name_is_still_the_parameter_marker(call, marker):
    made = call()
    assert isinstance(made, CookieMarker) is marker
    assert isinstance(made, CookieClass) is not marker


def cookie_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/read")
    async def read(
        sid: Annotated[str, Cookie()],
        theme: str = Cookie(default="light"),
        count: int = Cookie(...),
        alias: Annotated[str | None, Cookie(alias="x-id")] = None,
    ) -> dict[str, object]:
        return {"sid": sid, "theme": theme, "count": count, "alias": alias}

    @api.get("/write")
    async def write() -> Response:
        response = Response({"ok": True})
        response.set_cookie(Cookie("session", "abc", httponly=True))
        response.set_cookie(make_delete_cookie("__Host-token"))
        response.set_cookie(make_delete_cookie("plain", path="/app", domain="example.com"))
        return response

    return api


def test_cookie_markers_written_with_the_top_level_name_read_cookies():
    with TestClient(cookie_api()) as client:
        response = client.get("/read", headers={"cookie": "sid=s1; count=3; x-id=7"})
        defaulted = client.get("/read", headers={"cookie": "sid=s1; count=4"})
        missing = client.get("/read", headers={"cookie": "sid=s1"})
    assert response.json() == {"sid": "s1", "theme": "light", "count": 3, "alias": "7"}
    assert defaulted.json() == {"sid": "s1", "theme": "light", "count": 4, "alias": None}
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["cookie", "count"]


def test_a_marker_default_reaches_the_handler_not_the_marker():
    api = BoltAPI()

    @api.get("/q")
    async def q(page: int = Query(default=1), name: str = Query(default="x")) -> dict[str, object]:
        return {"page": page, "name": name}

    with TestClient(api) as client:
        assert client.get("/q").json() == {"page": 1, "name": "x"}
        assert client.get("/q?page=2&name=y").json() == {"page": 2, "name": "y"}


def test_make_delete_cookie_in_django_bolt_cookies():
    assert responses_make_delete_cookie is make_delete_cookie
    with TestClient(cookie_api()) as client:
        set_cookies = client.get("/write").headers.get_list("set-cookie")
    assert set_cookies[0] == "session=abc; Path=/; HttpOnly; SameSite=Lax"
    # A __Host-/__Secure- cookie is only dropped by a browser when the deletion says Secure.
    assert set_cookies[1] == (
        "__Host-token=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; "
        "SameSite=Lax"
    )
    assert set_cookies[2] == (
        "plain=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; "
        "Path=/app; SameSite=Lax"
    )


# --- UploadFile ----------------------------------------------------------------------------------


def test_upload_file_013_constructor():
    asyncio.run(_constructor())


async def _constructor() -> None:
    upload = UploadFile(
        filename="a.txt", content_type="text/plain", size=5, file_data=b"hello", headers=None
    )
    assert (upload.filename, upload.content_type, upload.size, upload.headers) == (
        "a.txt",
        "text/plain",
        5,
        {},
    )
    assert await upload.read() == b"hello"
    positional = UploadFile("b.bin", "application/octet-stream", 3, {"x": "1"}, b"abc", 1)
    assert positional.headers == {"x": "1"}
    assert positional.rolled_to_disk  # max_spool_size=1: past it, the content is on disk
    assert await positional.read() == b"abc"
    await upload.close()
    await positional.close()


def test_upload_file_from_file_info(tmp_path):
    asyncio.run(_from_file_info(tmp_path))


async def _from_file_info(tmp_path: Path) -> None:
    in_memory = UploadFile.from_file_info(
        {"filename": "m.txt", "content_type": "text/plain", "size": 2, "content": b"hi"}
    )
    assert (in_memory.filename, in_memory.size, await in_memory.read()) == ("m.txt", 2, b"hi")
    spooled = tmp_path / "part"
    spooled.write_bytes(b"x" * 1000)
    on_disk = UploadFile.from_file_info(
        {"filename": "d.bin", "content_type": "application/pdf", "temp_path": str(spooled)}
    )
    assert (on_disk.filename, on_disk.content_type, on_disk.size) == (
        "d.bin",
        "application/pdf",
        1000,
    )
    assert await on_disk.read() == b"x" * 1000
    # The round trip: an upload's own file info builds an equal upload.
    again = UploadFile.from_file_info(in_memory.file_info())
    assert (again.filename, again.content_type, again.size, await again.read()) == (
        "m.txt",
        "text/plain",
        2,
        b"hi",
    )
    for upload in (in_memory, on_disk, again):
        await upload.close()


class ProfileForm(msgspec.Struct):
    name: str
    avatar: UploadFile
    bio: str = ""
    extras: list[UploadFile] = []


def upload_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/profile")
    async def profile(data: Annotated[ProfileForm, Form()]) -> dict[str, object]:
        return {
            "name": data.name,
            "bio": data.bio,
            "avatar": data.avatar.filename,
            "avatar_type": data.avatar.content_type,
            "content": (await data.avatar.read()).decode(),
            "extras": [extra.filename for extra in data.extras],
        }

    @api.post("/info")
    async def info(
        doc: Annotated[dict, File(max_size=100)],
        more: Annotated[list[dict] | None, File()] = None,
    ) -> dict[str, object]:
        return {
            "doc": [doc["filename"], doc["content_type"], doc["size"], doc["content"].decode()],
            "headers": sorted(doc["headers"]),
            "more": None if more is None else [(m["filename"], m["size"]) for m in more],
        }

    return api


def test_form_struct_with_upload_fields_is_filled_from_the_parts():
    with TestClient(upload_api()) as client:
        response = client.post(
            "/profile",
            data={"name": "Ada", "bio": "hi"},
            files=[
                ("avatar", ("me.png", b"PNG", "image/png")),
                ("extras", ("a.txt", b"1", "text/plain")),
                ("extras", ("b.txt", b"2", "text/plain")),
            ],
        )
        without_extras = client.post(
            "/profile", data={"name": "Ada"}, files={"avatar": ("me.png", b"PNG", "image/png")}
        )
    assert response.json() == {
        "name": "Ada",
        "bio": "hi",
        "avatar": "me.png",
        "avatar_type": "image/png",
        "content": "PNG",
        "extras": ["a.txt", "b.txt"],
    }
    assert without_extras.json()["extras"] == []


def test_form_struct_without_its_file_is_file_missing():
    with TestClient(upload_api()) as client:
        response = client.post("/profile", data={"name": "Ada"})
        text_for_file = client.post("/profile", data={"name": "Ada", "avatar": "not a file"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "avatar"],
            "msg": "Missing required file",
            "type": "file_missing",
            "input": None,
        }
    ]
    assert text_for_file.status_code == 422


def test_file_parameters_annotated_dict_receive_file_info():
    with TestClient(upload_api()) as client:
        response = client.post(
            "/info",
            files=[
                ("doc", ("d.txt", b"hello", "text/plain")),
                ("more", ("x.bin", b"1", "application/octet-stream")),
                ("more", ("y.bin", b"22", "application/octet-stream")),
            ],
        )
        single = client.post("/info", files={"doc": ("d.txt", b"hello", "text/plain")})
        too_big = client.post("/info", files={"doc": ("d.txt", b"x" * 101, "text/plain")})
    assert response.json() == {
        "doc": ["d.txt", "text/plain", 5, "hello"],
        "headers": ["content-disposition", "content-type"],
        "more": [["x.bin", 1], ["y.bin", 2]],
    }
    assert single.json()["more"] is None
    assert too_big.json()["detail"][0]["type"] == "file_too_large"


def test_file_parameter_of_another_type_is_a_registration_error():
    api = BoltAPI()

    @api.post("/x")
    async def x(data: Annotated[str, File()]) -> None: ...

    with pytest.raises(TypeError, match="must be annotated UploadFile"):
        api.compile()


def test_auth_context_and_token_at_the_top_level() -> None:
    import django_bolt
    from django_bolt.auth import AuthContext, Token

    assert django_bolt.AuthContext is AuthContext
    assert django_bolt.Token is Token
    assert {"AuthContext", "Token"} <= set(django_bolt.__all__)
