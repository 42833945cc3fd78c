"""Code written for Django-Bolt 0.13 runs unchanged: its import paths, names and spellings.

Every test is written the way a Django-Bolt user writes it (their import paths, their request
and response idioms) and drives a real handler through the TestClient.
"""

from __future__ import annotations

import asyncio
import importlib
import warnings
from collections.abc import AsyncIterator, Iterator  # noqa: TC003 - handlers' annotations
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import pytest

from django_bolt import (
    BoltAPI,
    CurrentUser,
    EventSourceResponse,
    FileSize,
    IsAuthenticated,
    JWTAuthentication,
    MediaType,
    OptionalCurrentUser,
    Request,
    Requires,
    ServerSentEvent,
    TimingMiddleware,
    create_jwt_for_user,
    extract_user_id_from_context,
    get_auth_context,
    status,
)
from django_bolt.cookies import Cookie as ResponseCookie
from django_bolt.exceptions import (
    BadRequest,
    ClientException,
    HTTPException,
    NotFound,
    NotImplemented as HTTPNotImplemented,
    RequestValidationError,
    ResponseValidationError,
    ServerException,
    ServiceUnavailable,
    ValidationException,
)
from django_bolt.middleware import BaseMiddleware
from django_bolt.param_functions import Cookie, Header, Path, Query
from django_bolt.responses import (
    HTML,
    JSON,
    File,
    FileResponse,
    PlainText,
    Redirect,
    Response,
    format_sse_event,
    make_delete_cookie,
)
from django_bolt.testing import AsyncTestClient, BoltTestClientWarning, TestClient
from django_bolt.types import JWTClaims, TimingState, UserType
from tests.api.wirecompare import client_answer

if TYPE_CHECKING:
    from pathlib import Path as FsPath


class Point(msgspec.Struct):
    x: int


SECRET = "compat-tests-secret-long-enough-for-hs256!"

# Names Django-Bolt 0.13 exports at the top level that this framework provides too.
TOP_LEVEL = (
    "JSON",
    "APIKeyAuthentication",
    "AllowAny",
    "BaseMiddleware",
    "BoltAPI",
    "CompressionConfig",
    "Depends",
    "DjangoMiddleware",
    "ErrorHandlerMiddleware",
    "EventSourceResponse",
    "FileSize",
    "IsAuthenticated",
    "JWTAuthentication",
    "JsonRenderPlugin",
    "LoggingMiddleware",
    "MediaType",
    "Middleware",
    "MiddlewareProtocol",
    "OpenAPIConfig",
    "RapidocRenderPlugin",
    "RedocRenderPlugin",
    "Request",
    "RequestProtocol",
    "Requires",
    "CurrentUser",
    "OptionalCurrentUser",
    "get_current_user",
    "get_auth_context",
    "extract_user_id_from_context",
    "APIKeyAuth",
    "DjangoModel",
    "JWTClaims",
    "TimingState",
    "TracingState",
    "UserType",
    "Response",
    "Router",
    "ScalarRenderPlugin",
    "ServerSentEvent",
    "SessionAuthentication",
    "StoplightRenderPlugin",
    "StreamingResponse",
    "SwaggerRenderPlugin",
    "TimingMiddleware",
    "UploadFile",
    "YamlRenderPlugin",
    "cors",
    "create_jwt_for_user",
    "format_sse_event",
    "middleware",
    "no_compress",
    "rate_limit",
    "skip_middleware",
    "status",
)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names_import(name: str) -> None:
    module = importlib.import_module("django_bolt")
    assert getattr(module, name) is not None
    assert name in module.__all__


# --- parameters ----------------------------------------------------------------------------------


def test_param_functions_are_the_markers() -> None:
    api = BoltAPI()

    @api.get("/items/{item_id}")
    async def item(
        item_id: Annotated[int, Path(ge=1)],
        page: Annotated[int, Query(ge=1)] = 1,
        agent: Annotated[str, Header(alias="x-agent")] = "none",
        theme: Annotated[str, Cookie()] = "light",
    ) -> dict[str, Any]:
        return {"id": item_id, "page": page, "agent": agent, "theme": theme}

    with TestClient(api) as client:
        client.cookies.set("theme", "dark")
        response = client.get("/items/3?page=2", headers={"X-Agent": "cli"})
        assert response.json() == {"id": 3, "page": 2, "agent": "cli", "theme": "dark"}
        bad = client.get("/items/0")
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_status_constants_drive_routes_and_helpers() -> None:
    api = BoltAPI()

    @api.post("/things", status_code=status.HTTP_201_CREATED)
    async def create() -> dict[str, bool]:
        return {"created": True}

    with TestClient(api) as client:
        response = client.post("/things")
    assert response.status_code == status.HTTP_201_CREATED == 201
    assert status.is_success(response.status_code)
    assert status.is_client_error(status.HTTP_404_NOT_FOUND)
    assert status.is_server_error(status.HTTP_503_SERVICE_UNAVAILABLE)
    assert status.is_redirect(status.HTTP_307_TEMPORARY_REDIRECT)
    assert status.is_informational(status.HTTP_100_CONTINUE)
    assert status.is_error(400) and status.is_error(599) and not status.is_error(399)


def test_enums_are_plain_values() -> None:
    api = BoltAPI()

    @api.get("/page")
    async def page() -> Response:
        return Response("<p>hi</p>", media_type=MediaType.HTML)

    with TestClient(api) as client:
        response = client.get("/page")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert FileSize.MB_5 == 5 * 1024 * 1024
    assert MediaType.JSON == "application/json"


# --- the request object --------------------------------------------------------------------------


def _request_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/articles/{article_id}/debug")
    async def debug(request: Request, article_id: int) -> dict[str, Any]:
        try:
            request["no-such-key"]
        except KeyError:
            unknown_raises = True
        else:
            unknown_raises = False
        return {
            "method": request.get("method"),
            "path": request["path"],
            "params": request.params,
            "params_item": request["params"],
            "query": dict(request["query"]),
            "header": request["headers"]["x-trace"],
            "full_path": request.get_full_path(),
            "slash_path": request.get_full_path(force_append_slash=True),
            "context": request.get("context", "no auth"),
            "context_item": request["context"],
            "missing": request.get("no-such-key", "fallback"),
            "unknown_raises": unknown_raises,
            "has_method": "method" in request,
            "has_unknown": "no-such-key" in request,
            "body": request["body"].decode(),
        }

    return api


def test_request_dict_style_access_and_full_path() -> None:
    with TestClient(_request_api()) as client:
        response = client.get("/articles/3/debug?preview=1&q=a%20b", headers={"X-Trace": "t1"})
    assert response.json() == {
        "method": "GET",
        "path": "/articles/3/debug",
        "params": {"article_id": "3"},
        "params_item": {"article_id": "3"},
        "query": {"preview": "1", "q": "a b"},
        "header": "t1",
        # The query stays encoded, as the client sent it.
        "full_path": "/articles/3/debug?preview=1&q=a%20b",
        "slash_path": "/articles/3/debug/?preview=1&q=a%20b",
        "context": "no auth",
        "context_item": None,
        "missing": "fallback",
        "unknown_raises": True,
        "has_method": True,
        "has_unknown": False,
        "body": "",
    }


def test_request_item_assignment_only_for_replaceable_parts() -> None:
    api = BoltAPI()

    @api.get("/assign")
    async def assign(request: Request) -> dict[str, Any]:
        request["user"] = SimpleNamespace(username="ann")
        try:
            request["method"] = "POST"
        except KeyError:
            method_refused = True
        else:
            method_refused = False
        state = request.setdefault("state", {})
        state["seen"] = True
        return {
            "user": request.user.username,
            "method_refused": method_refused,
            "method": request.method,
            "state_is_shared": state is request.state,
            "seen": request.state.seen,
        }

    with TestClient(api) as client:
        assert client.get("/assign").json() == {
            "user": "ann",
            "method_refused": True,
            "method": "GET",
            "state_is_shared": True,
            "seen": True,
        }


def test_raw_cookies_keep_escapes_and_are_a_fresh_dict() -> None:
    api = BoltAPI()

    @api.get("/cookies")
    async def cookies(request: Request) -> dict[str, Any]:
        raw = request.raw_cookies
        raw["injected"] = "x"
        return {
            "cookies": request.cookies,
            "raw": request.raw_cookies,
            "item": request["cookies"]["token"],
        }

    with TestClient(api) as client:
        response = client.get("/cookies", headers={"Cookie": "token=a%20b; plain=1"})
    assert response.json() == {
        "cookies": {"token": "a b", "plain": "1"},
        "raw": {"token": "a%20b", "plain": "1"},
        "item": "a b",
    }


def test_state_by_key_and_by_attribute_is_one_store() -> None:
    class Tenant(BaseMiddleware):
        async def process_request(self, request: Request) -> Any:
            request.state["tenant"] = "acme"  # Django-Bolt's style
            return await self.get_response(request)

    api = BoltAPI(middleware=[TimingMiddleware, Tenant])

    @api.get("/state")
    async def read_state(request: Request) -> dict[str, Any]:
        state = request.state
        state.counter = 1  # this framework's style
        return {
            "tenant_attr": state.tenant,
            "tenant_key": state["tenant"],
            "counter_key": state["counter"],
            "request_id_key": state["request_id"],
            "missing_attr": getattr(state, "missing", "default"),
            "missing_key": state.get("missing", "default"),
            "as_dict": sorted(state),
            "via_request_get": request.get("state")["tenant"],
        }

    with TestClient(api) as client:
        response = client.get("/state")
    body = response.json()
    assert body["request_id_key"] == response.headers["x-request-id"]
    assert body == {
        "tenant_attr": "acme",
        "tenant_key": "acme",
        "counter_key": 1,
        "request_id_key": body["request_id_key"],
        "missing_attr": "default",
        "missing_key": "default",
        "as_dict": ["counter", "request_id", "start_time", "tenant"],
        "via_request_get": "acme",
    }


def test_request_context_and_auth_items_after_jwt_auth() -> None:
    api = BoltAPI()

    @api.get(
        "/me",
        auth=[JWTAuthentication(secret=SECRET, trust_claims=True)],
        guards=[IsAuthenticated()],
    )
    async def me(request: Request) -> dict[str, Any]:
        return {
            "user_id": request.context["user_id"] if request.context else None,
            "context_backend": request.get("context")["auth_backend"],
            "username_claim": request["auth"]["username"],
        }

    token = create_jwt_for_user(SimpleNamespace(pk=7, username="ann"), secret=SECRET)
    with TestClient(api) as client:
        assert client.get("/me").status_code == 401
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {
        "user_id": "7",
        "context_backend": "jwt",
        "username_claim": "ann",
    }


# --- responses -----------------------------------------------------------------------------------


def test_response_classes_with_django_bolt_keywords(tmp_path: FsPath) -> None:
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    api = BoltAPI()

    @api.get("/html")
    async def html() -> HTML:
        return HTML(html="<h1>Hi</h1>", status_code=201, headers={"X-Kind": "html"})

    @api.get("/text")
    async def text() -> PlainText:
        return PlainText(text="OK", headers={"X-Status": "healthy"})

    @api.get("/json")
    async def json_() -> JSON:
        return JSON({"id": 1}, status_code=201, headers={"X-Created": "true"})

    @api.get("/generic")
    async def generic() -> Response:
        return Response({"data": "value"}, status_code=200, headers={"X-Custom": "header"})

    @api.get("/file")
    async def file_() -> FileResponse:
        return FileResponse(path=str(report), filename="report.csv")

    @api.get("/file-short")
    async def file_short() -> File:
        return File(str(report), media_type="text/csv")

    @api.get("/go")
    async def go() -> Redirect:
        return Redirect("/html")

    with TestClient(api, follow_redirects=False) as client:
        response = client.get("/html")
        assert (response.status_code, response.text) == (201, "<h1>Hi</h1>")
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["x-kind"] == "html"
        response = client.get("/text")
        assert (response.text, response.headers["x-status"]) == ("OK", "healthy")
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        response = client.get("/json")
        assert (response.status_code, response.json()) == (201, {"id": 1})
        assert response.headers["x-created"] == "true"
        response = client.get("/generic")
        assert response.json() == {"data": "value"}
        assert response.headers["content-type"] == "application/json"
        response = client.get("/file")
        assert response.text == "a,b\n1,2\n"
        assert 'filename="report.csv"' in response.headers["content-disposition"]
        response = client.get("/file-short")
        assert response.headers["content-type"].startswith("text/csv")
        response = client.get("/go")
        assert (response.status_code, response.headers["location"]) == (307, "/html")


def test_response_without_content_defaults_like_django_bolt() -> None:
    api = BoltAPI()

    @api.get("/empty-json")
    async def empty_json() -> Response:
        return Response(status_code=202, headers={"X-Queued": "1"})

    @api.get("/empty-text")
    async def empty_text() -> PlainText:
        return PlainText()

    @api.get("/null")
    async def null() -> Response:
        return Response(None)

    with TestClient(api) as client:
        response = client.get("/empty-json")
        assert (response.status_code, response.content) == (202, b"{}")
        assert response.headers["content-type"] == "application/json"
        assert client.get("/empty-text").content == b""
        assert client.get("/null").content == b"null"


def test_file_response_without_a_path_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="path"):
        FileResponse()


def test_cookies_by_name_by_object_and_deleted() -> None:
    api = BoltAPI()

    @api.get("/login")
    async def login() -> Response:
        response = Response({"ok": True})
        # Django-Bolt's keyword and chaining, then a Cookie object.
        response.set_cookie(name="session", value="abc", httponly=True, samesite="Strict")
        return response.set_cookie(ResponseCookie("theme", "dark", max_age=60, secure=True))

    @api.get("/logout")
    async def logout() -> Response:
        return Response({"ok": True}).delete_cookie(name="session")

    @api.get("/logout-object")
    async def logout_object() -> Response:
        return Response({"ok": True}).set_cookie(make_delete_cookie("theme", path="/app"))

    with TestClient(api) as client:
        cookies = client.get("/login").headers.get_list("set-cookie")
        assert len(cookies) == 2
        assert cookies[0].startswith("session=abc;")
        assert "HttpOnly" in cookies[0] and "SameSite=Strict" in cookies[0]
        assert cookies[1].startswith("theme=dark;")
        assert "Max-Age=60" in cookies[1] and "Secure" in cookies[1]
        assert "SameSite=Lax" in cookies[1]
        gone = client.get("/logout").headers["set-cookie"]
        assert gone.startswith("session=;") and "Max-Age=0" in gone
        gone = client.get("/logout-object").headers["set-cookie"]
        assert gone.startswith("theme=;") and "Path=/app" in gone


def test_set_cookie_without_a_name_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="name"):
        Response({}).set_cookie(value="x")
    assert ResponseCookie("a", "b", samesite=False).to_header_value() == "a=b; Path=/"


def test_server_sent_events_from_the_top_level() -> None:
    api = BoltAPI()

    @api.get("/events")
    async def events() -> EventSourceResponse:
        async def produce() -> Any:
            yield ServerSentEvent(data={"n": 1}, event="tick", id="1")
            yield format_sse_event(data_str="raw", event="note", retry=500)
            yield format_sse_event(data_bytes=b"two\nlines", comment="c")

        return EventSourceResponse(produce())

    with TestClient(api) as client:
        response = client.get("/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text == (
        'event: tick\ndata: {"n":1}\nid: 1\n\n'
        "event: note\ndata: raw\nretry: 500\n\n"
        ": c\ndata: two\ndata: lines\n\n"
    )


# --- exceptions ----------------------------------------------------------------------------------


def test_exception_shapes_and_family() -> None:
    api = BoltAPI()
    caught: list[str] = []

    @api.get("/missing")
    async def missing() -> None:
        raise NotFound(detail="User not found", extra={"id": 3}, headers={"X-Reason": "gone"})

    @api.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418)

    @api.get("/todo")
    async def todo() -> None:
        raise HTTPNotImplemented()

    @api.get("/families")
    async def families() -> dict[str, bool]:
        for exc in (BadRequest("x"), NotFound(), ServiceUnavailable(), HTTPNotImplemented()):
            try:
                raise exc
            except ClientException:
                caught.append(f"client:{exc.status_code}")
            except ServerException:
                caught.append(f"server:{exc.status_code}")
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/missing")
        assert response.status_code == 404
        assert response.json() == {"detail": "User not found", "extra": {"id": 3}}
        assert response.headers["x-reason"] == "gone"
        assert client.get("/teapot").json() == {"detail": "I'm a Teapot"}
        response = client.get("/todo")
        assert (response.status_code, response.json()) == (501, {"detail": "Not Implemented"})
        client.get("/families")
    assert caught == ["client:400", "client:404", "server:503", "server:501"]


def test_validation_errors_share_a_base_and_keep_their_shape() -> None:
    api = BoltAPI()

    @api.post("/check")
    async def check(request: Request) -> None:
        errors = ({"loc": ["body", "name"], "msg": "too short", "type": "value_error"},)
        raise RequestValidationError(errors, body=request.body)

    @api.get("/wrong", response_model=list[int])
    async def wrong() -> Any:
        return ["not", "ints"]

    assert issubclass(RequestValidationError, ValidationException)
    assert issubclass(ResponseValidationError, ValidationException)
    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.post("/check", content=b'{"name": "x"}')
        assert response.status_code == 422
        assert response.json() == {
            "detail": [{"loc": ["body", "name"], "msg": "too short", "type": "value_error"}]
        }
        assert client.get("/wrong").status_code == 500
    error = RequestValidationError([], body=b"raw")
    assert (error.body, error.errors) == (b"raw", [])
    assert ResponseValidationError("bad", "h").errors[0]["msg"] == "bad"


def test_malformed_json_error_context_has_django_bolt_keys() -> None:
    api = BoltAPI()

    @api.post("/echo")
    async def echo(payload: Point) -> Point:
        return payload

    with TestClient(api) as client:
        response = client.post(
            "/echo", content=b"{bad", headers={"Content-Type": "application/json"}
        )
    item = response.json()["detail"][0]
    assert (response.status_code, item["type"], item["loc"]) == (
        422,
        "json_invalid",
        ["body", 1, 2],
    )
    assert item["ctx"]["byte_position"] == item["ctx"]["position"] == 1
    assert "malformed" in item["ctx"]["error"]


# --- test clients --------------------------------------------------------------------------------


def _hello_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "world"}

    return api


def test_test_client_accepts_django_bolt_options() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = TestClient(
            _hello_api(),
            base_url="http://testserver",
            raise_server_exceptions=True,
            use_http_layer=True,
            share_db_connection=True,
            read_django_settings=True,
        )
    with client:
        assert client.get("/hello").json() == {"message": "world"}


def test_test_client_warns_about_options_it_does_not_apply() -> None:
    with pytest.warns(BoltTestClientWarning, match="static_files_config"):
        client = TestClient(_hello_api(), static_files_config={"url": "/static/"})
    client.close()


def test_async_test_client_accepts_django_bolt_options() -> None:
    async def main() -> Any:
        async with AsyncTestClient(_hello_api(), read_django_settings=True) as client:
            response = await client.get("/hello")
        return response.json()

    assert asyncio.run(main()) == {"message": "world"}
    with pytest.warns(BoltTestClientWarning, match="read_django_settings"):
        client = AsyncTestClient(_hello_api(), read_django_settings=False)
    asyncio.run(client.aclose())


def test_parameterised_request_annotation_and_types_module() -> None:
    api = BoltAPI(middleware=[TimingMiddleware])

    @api.get("/typed/{n}")
    async def typed(request: Request[UserType, JWTClaims, TimingState], n: int) -> dict[str, Any]:
        return {"n": n, "path": request.path, "has_id": "request_id" in request.state}

    with TestClient(api) as client:
        assert client.get("/typed/4").json() == {"n": 4, "path": "/typed/4", "has_id": True}
    assert Request[UserType, JWTClaims, dict] is Request
    claims: JWTClaims = {"sub": "1", "username": "ann"}
    assert claims["sub"] == "1"


def test_shortcuts_render_runs_context_processors(tmp_path: FsPath) -> None:
    from django.test import override_settings

    from django_bolt.shortcuts import render

    (tmp_path / "hello.html").write_text(
        "<p>{{ name }} at {{ request.path }}, anonymous={{ user.is_anonymous }}</p>"
    )
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(tmp_path)],
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                ]
            },
        }
    ]
    api = BoltAPI()

    @api.get("/page")
    async def page(request: Request) -> Response:
        return render(request, "hello.html", {"name": "Ann"}, status=201)

    with override_settings(TEMPLATES=templates), TestClient(api) as client:
        response = client.get("/page")
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>Ann at /page, anonymous=True</p>"


@pytest.mark.django_db
def test_load_django_middleware_builds_the_middleware_list() -> None:
    from django.test import override_settings

    from django_bolt.middleware import DjangoMiddlewareStack
    from django_bolt.middleware.django_loader import (
        DEFAULT_EXCLUDED_MIDDLEWARE,
        get_django_middleware_setting,
        load_django_middleware,
    )

    sessions = "django.contrib.sessions.middleware.SessionMiddleware"
    frames = "django.middleware.clickjacking.XFrameOptionsMiddleware"
    with override_settings(MIDDLEWARE=[sessions, frames]):
        assert get_django_middleware_setting() == [sessions, frames]
        assert not DEFAULT_EXCLUDED_MIDDLEWARE
        entries = load_django_middleware({"exclude": [sessions]})
    assert [type(entry) for entry in entries] == [DjangoMiddlewareStack]
    api = BoltAPI(middleware=entries)

    @api.post("/visit")
    async def visit() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.post("/visit")
    assert response.json() == {"ok": True}
    assert response.headers["x-frame-options"] == "DENY"
    assert "set-cookie" not in response.headers  # SessionMiddleware was left out


# --- route options -------------------------------------------------------------------------------


def test_validate_response_per_route_and_per_api() -> None:
    api = BoltAPI()

    @api.get("/checked")
    async def checked() -> Point:
        return {"x": "not an int"}  # type: ignore[return-value]

    @api.get("/unchecked", validate_response=False)
    async def unchecked() -> Point:
        return {"x": "not an int", "extra": True}  # type: ignore[return-value]

    lenient = BoltAPI(validate_response=False)

    @lenient.get("/loose", response_model=Point)
    async def loose() -> dict[str, Any]:
        return {"x": "sent as is"}

    @lenient.get("/strict", response_model=Point, validate_response=True)
    async def strict() -> dict[str, Any]:
        return {"x": "refused"}

    api.mount("/lenient", lenient)
    with TestClient(api, raise_server_exceptions=False) as client:
        assert client.get("/checked").status_code == 500
        response = client.get("/unchecked")
        assert (response.status_code, response.json()) == (200, {"x": "not an int", "extra": True})
        assert client.get("/lenient/loose").json() == {"x": "sent as is"}
        assert client.get("/lenient/strict").status_code == 500


def test_response_model_none_declares_no_type() -> None:
    api = BoltAPI()

    @api.get("/raw", response_model=None)
    async def raw() -> Point:
        return {"x": "anything", "y": 2}  # type: ignore[return-value]

    with TestClient(api) as client:
        assert client.get("/raw").json() == {"x": "anything", "y": 2}
        operation = client.get("/openapi.json").json()["paths"]["/raw"]["get"]
    assert operation["responses"]["200"]["content"] == {"application/json": {"schema": {}}}


class Problem(msgspec.Struct):
    reason: str


def test_response_model_by_status_picks_status_from_a_tuple() -> None:
    api = BoltAPI()

    @api.post("/orders", response_model={201: Point, 409: Problem})
    async def order(conflict: bool = False) -> Any:
        if conflict:
            return 409, {"reason": "duplicate"}
        return {"x": 1}

    @api.delete("/orders/{n}", response_model={204: None, 404: Problem}, status_code=204)
    async def cancel(n: int) -> Any:
        return (404, Problem(reason="no such order")) if n > 9 else None

    with TestClient(api) as client:
        created = client.post("/orders")
        assert (created.status_code, created.json()) == (201, {"x": 1})
        clash = client.post("/orders?conflict=true")
        assert (clash.status_code, clash.json()) == (409, {"reason": "duplicate"})
        assert (client.delete("/orders/1").status_code, client.delete("/orders/1").content) == (
            204,
            b"",
        )
        missing = client.delete("/orders/10")
        assert (missing.status_code, missing.json()) == (404, {"reason": "no such order"})
        paths = client.get("/openapi.json").json()["paths"]
    responses = paths["/orders"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Point"
    }
    assert responses["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "content" not in paths["/orders/{n}"]["delete"]["responses"]["204"]
    with pytest.raises(ValueError, match="int status"):
        api.get("/bad", response_model={"ok": Point})(order)


def test_response_class_event_source_frames_a_generator_handler() -> None:
    api = BoltAPI()

    @api.get("/events", response_class=EventSourceResponse)
    async def events() -> Any:
        yield ServerSentEvent(data={"n": 1}, event="tick")
        yield ServerSentEvent(data="done", id="2")

    with TestClient(api) as client:
        response = client.get("/events")
        operation = client.get("/openapi.json").json()["paths"]["/events"]["get"]
    assert response.headers["content-type"].startswith("text/event-stream")
    # A ServerSentEvent's data is JSON, a str too (0.13's topics/sse.md: quoted).
    assert response.text == 'event: tick\ndata: {"n":1}\n\ndata: "done"\nid: 2\n\n'
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]


def test_generators_stream_and_typed_streams_are_json_lines() -> None:
    api = BoltAPI()

    @api.get("/chunks")
    def chunks() -> Iterator[str]:
        yield "a"
        yield "b"

    @api.get("/points")
    async def points() -> AsyncIterator[Point]:
        yield Point(x=1)
        yield {"x": 2}  # type: ignore[misc]

    @api.get("/returned")
    async def returned() -> Any:
        async def produce() -> AsyncIterator[bytes]:
            yield b"x"
            yield b"y"

        return produce()

    with TestClient(api) as client:
        assert client.get("/chunks").content == b"ab"
        lines = client.get("/points", stream=True)
        assert lines.headers["content-type"] == "application/x-ndjson"
        assert list(lines.iter_lines()) == ['{"x":1}', '{"x":2}']
        assert list(lines.iter_content(chunk_size=4)) == [b'{"x"', b":1}\n", b'{"x"', b":2}\n"]
        assert client.get("/returned").content == b"xy"
        schema = client.get("/openapi.json").json()["paths"]["/points"]["get"]
    content = schema["responses"]["200"]["content"]
    assert content == {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Point"}}}


def test_response_class_documents_media_type_and_redirects() -> None:
    api = BoltAPI()

    @api.get("/page", response_class=HTML)
    async def page() -> str:
        return "<p>hi</p>"

    @api.get("/away", response_class=Redirect)
    async def away() -> Redirect:
        return Redirect("/page")

    with pytest.raises(TypeError, match="response_class"):
        api.get("/bad", response_class=dict)(page)  # type: ignore[arg-type]
    with TestClient(api, follow_redirects=False) as client:
        # As in Django-Bolt the class documents the body; a str is still sent as text/plain.
        assert client.get("/page").headers["content-type"] == "text/plain; charset=utf-8"
        assert client.get("/away").status_code == 307
        paths = client.get("/openapi.json").json()["paths"]
    assert list(paths["/page"]["get"]["responses"]["200"]["content"]) == ["text/html"]
    assert paths["/away"]["get"]["responses"]["307"]["headers"] == {
        "Location": {"schema": {"type": "string"}}
    }


def test_query_method_on_api_router_and_clients() -> None:
    from django_bolt import Router

    api = BoltAPI()
    router = Router(prefix="/search")

    @api.query("/find")
    async def find(request: Request) -> dict[str, Any]:
        return {"method": request.method, "body": request.body.decode()}

    @router.query("")
    async def search(criteria: Point) -> Point:
        return criteria

    api.include_router(router)
    with TestClient(api) as client:
        assert client.query("/find", content=b"q").json() == {"method": "QUERY", "body": "q"}
        assert client.query("/search", json={"x": 5}).json() == {"x": 5}
        assert client.get("/find").status_code == 405

    async def main() -> Any:
        async with AsyncTestClient(api) as client:
            return (await client.query("/search", json={"x": 6})).json()

    assert asyncio.run(main()) == {"x": 6}


def test_include_in_schema_defaults_follow_the_apis() -> None:
    api = BoltAPI()
    hidden = BoltAPI(include_in_schema=False)
    inner = BoltAPI()

    @api.get("/shown")
    async def shown() -> dict[str, int]:
        return {}

    @hidden.get("/secret")
    async def secret() -> dict[str, int]:
        return {}

    @hidden.get("/public", include_in_schema=True)
    async def public() -> dict[str, int]:
        return {}

    @inner.get("/nested")
    async def nested() -> dict[str, int]:
        return {}

    hidden.mount("/inner", inner)
    api.mount("/internal", hidden)
    with TestClient(api) as client:
        paths = set(client.get("/openapi.json").json()["paths"])
        assert client.get("/internal/secret").status_code == 200
    assert paths == {"/shown", "/internal/public"}


def test_router_parent_dependencies_and_listing() -> None:
    from django_bolt import Router

    class Tag(BaseMiddleware):
        async def process_request(self, request: Request) -> Any:
            response = await self.get_response(request)
            response.headers["x-tag"] = "v1"
            return response

    api = BoltAPI()
    v1 = Router("/v1", ["v1"], None, [Tag])
    users = Router(prefix="/users", dependencies=[lambda: None], parent=v1)

    @users.get("/{user_id}", name="user-detail", status_code=200)
    async def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    api.include_router(v1)
    assert users.dependencies and users.get_middleware_chain() == [Tag]
    ((method, path, handler, options),) = v1.get_all_routes()
    assert (method, path, handler) == ("GET", "/v1/users/{user_id}", user)
    assert (options["name"], options["tags"]) == ("user-detail", ["v1"])
    with pytest.raises(TypeError, match="mount"):
        api.include_router(BoltAPI())
    with TestClient(api) as client:
        response = client.get("/v1/users/3")
    assert (response.json(), response.headers["x-tag"]) == ({"id": 3}, "v1")


def test_bolt_api_takes_django_bolt_positional_order_and_logging_options(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = SimpleNamespace(logger_name="compat.requests", log_level="WARNING", skip_paths=[])
    api = BoltAPI("/api", "strip", "shop", None, None, True, config)

    @api.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    assert (api.namespace, api.validate_response, api.include_in_schema) == ("shop", True, None)
    with caplog.at_level("WARNING", logger="compat.requests"), TestClient(api) as client:
        assert client.get("/api/ping").json() == {"ok": True}
    messages = [r.getMessage() for r in caplog.records if r.name == "compat.requests"]
    assert messages[0] == "Request: GET /api/ping"
    assert messages[1].startswith("Response: 200 for GET /api/ping")
    quiet = BoltAPI(enable_logging=False, logging_config=config)
    assert quiet.middleware == ()


def test_logging_and_error_middleware_take_their_keywords() -> None:
    import logging

    from django_bolt.middleware import ErrorHandlerMiddleware, LoggingMiddleware

    async def downstream(request: Any) -> Any:
        raise RuntimeError("boom")

    logger = logging.getLogger("compat.custom")
    logged = LoggingMiddleware(downstream, logger=logger, log_headers=True, log_level=30)
    assert (logged.logger, logged.log_headers, logged.log_body, logged.log_level) == (
        logger,
        True,
        False,
        30,
    )

    class Verbose(ErrorHandlerMiddleware):
        def __init__(self, get_response: Any) -> None:
            super().__init__(get_response, debug=True)

    api = BoltAPI(middleware=[Verbose])

    @api.get("/fail")
    async def fail() -> None:
        raise RuntimeError("boom")

    with TestClient(api) as client:
        detail = client.get("/fail").json()["detail"]
    assert "RuntimeError: boom" in detail and "Traceback" in detail
    assert ErrorHandlerMiddleware(downstream).debug is False


# --- decorators, events, exceptions and auth helpers ---------------------------------------------


def test_middleware_keywords_and_positional_cors() -> None:
    from django_bolt import cors, middleware

    api = BoltAPI()

    @api.get("/open")
    @middleware(type="cors", origins=["https://a.example"], credentials=True)
    async def open_() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/listed")
    @cors(["https://b.example"], ["GET"], ["X-Custom"], False, 600)
    async def listed() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/open", headers={"Origin": "https://a.example"})
        assert response.headers["access-control-allow-origin"] == "https://a.example"
        assert response.headers["access-control-allow-credentials"] == "true"
        preflight = client.options(
            "/listed",
            headers={"Origin": "https://b.example", "Access-Control-Request-Method": "GET"},
        )
    assert preflight.headers["access-control-max-age"] == "600"
    assert "x-custom" in preflight.headers["access-control-allow-headers"].lower()


def test_server_sent_event_positional_data_and_raw_data() -> None:
    api = BoltAPI()

    @api.get("/events")
    async def events() -> EventSourceResponse:
        async def produce() -> Any:
            yield ServerSentEvent({"n": 1})
            yield ServerSentEvent(raw_data='{"already": "json"}', event="raw")

        return EventSourceResponse(produce())

    with TestClient(api) as client:
        text = client.get("/events").text
    assert text == 'data: {"n":1}\n\nevent: raw\ndata: {"already": "json"}\n\n'


def test_http_exception_body_and_callable_errors() -> None:
    api = BoltAPI()
    seen: list[Any] = []

    @api.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        seen.append(exc.errors()[0]["loc"])  # Django-Bolt calls it
        return JSON({"count": len(exc.errors)}, status_code=400)

    @api.get("/typed")
    async def typed() -> None:
        raise NotFound(body=Problem(reason="gone"), headers={"X-Why": "deleted"})

    @api.get("/n/{n}")
    async def number(n: int) -> dict[str, int]:
        return {"n": n}

    with TestClient(api) as client:
        response = client.get("/typed")
        assert (response.status_code, response.json()) == (404, {"reason": "gone"})
        assert response.headers["x-why"] == "deleted"
        assert client.get("/n/x").json() == {"count": 1}
    assert seen == [["path", "n"]]
    error = ResponseValidationError([{"loc": ["response", "x"], "msg": "bad", "type": "t"}])
    assert error.errors() == error.errors and error.errors[0]["msg"] == "bad"
    assert HTTPException(400, body={"a": 1}).body == {"a": 1}


def test_current_user_aliases_and_auth_context_helpers() -> None:
    api = BoltAPI()
    jwt_auth = [JWTAuthentication(secret=SECRET, trust_claims=True)]

    @api.get("/me", auth=jwt_auth)
    async def me(request: Request, user: CurrentUser) -> dict[str, Any]:
        return {
            "username": user.username,
            "user_id": extract_user_id_from_context(request),
            "backend": get_auth_context(request)["auth_backend"],
        }

    @api.get("/maybe", auth=jwt_auth)
    def maybe(user: OptionalCurrentUser) -> dict[str, Any]:
        return {"user": None if user is None else user.username}

    @api.get("/vip", auth=jwt_auth, guards=[Requires("role", "vip")])
    async def vip() -> dict[str, bool]:
        return {"ok": True}

    token = create_jwt_for_user(
        SimpleNamespace(pk=5, username="ann"), secret=SECRET, extra_claims={"role": "vip"}
    )
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(api) as client:
        assert client.get("/me").status_code == 401
        assert client.get("/me", headers=bearer).json() == {
            "username": "ann",
            "user_id": "5",
            "backend": "jwt",
        }
        assert client.get("/maybe").json() == {"user": None}
        assert client.get("/maybe", headers=bearer).json() == {"user": "ann"}
        assert client.get("/vip", headers=bearer).json() == {"ok": True}


def test_session_authentication_takes_django_bolt_keywords() -> None:
    from django_bolt import SessionAuthentication

    auth = SessionAuthentication(login_url="/login/", csrf=False)
    assert (auth.enforce_csrf, auth.login_url) == (False, "/login/")
    assert SessionAuthentication().enforce_csrf is True


# --- compression and JWT keywords ----------------------------------------------------------------


def test_compression_on_by_default_and_tuned_with_django_bolt_keywords(settings: Any) -> None:
    import brotli

    from django_bolt import CompressionConfig

    del settings.BOLT_COMPRESSION  # a project that never mentions compression
    body = "".join(f"item-{i};" for i in range(300))
    default, tuned, off = (
        BoltAPI(),
        BoltAPI(compression=CompressionConfig(brotli_level=0, brotli_lgwin=22, gzip_level=1)),
        BoltAPI(compression=False),
    )
    for api in (default, tuned, off):

        @api.get("/text")
        async def text() -> PlainText:
            return PlainText(body)

    sizes = []
    for api in (default, tuned, off):
        with TestClient(api) as client:
            request = client.build_request("GET", "/text", headers={"accept-encoding": "br"})
            response = client.send(request, stream=True)
            raw = client_answer(response)[2]  # the body as sent, still encoded
        coding = response.headers.get("content-encoding")
        assert (brotli.decompress(raw) if coding else raw) == body.encode()
        sizes.append((coding, len(raw)))
    (default_coding, default_size), (tuned_coding, tuned_size), (off_coding, _) = sizes
    assert (default_coding, tuned_coding, off_coding) == ("br", "br", None)
    assert tuned_size > default_size  # brotli 0 (fastest) leaves more than the default 5
    with pytest.raises(ValueError, match="gzip_level"):
        CompressionConfig(gzip_level=10)


def test_jwt_cookie_token_type_and_jti_keywords() -> None:
    import jwt as pyjwt

    def token(**claims: Any) -> str:
        return pyjwt.encode({"sub": "3", "exp": 4_102_444_800, **claims}, SECRET, "HS256")

    api = BoltAPI()
    access = JWTAuthentication(secret=SECRET, cookie="access_token", require_jti=True)
    refresh = JWTAuthentication(secret=SECRET, token_type="refresh")

    @api.post("/action", auth=[access], guards=[IsAuthenticated()])
    async def action(request: Request) -> dict[str, Any]:
        return {"user_id": request.context["user_id"]}

    @api.post("/refresh", auth=[refresh], guards=[IsAuthenticated()])
    async def rotate(request: Request) -> dict[str, Any]:
        return {"typ": request.auth["typ"]}

    same_site = {"Sec-Fetch-Site": "same-origin"}
    with TestClient(api) as client:
        cookie = {"Cookie": f"access_token={token(jti='j1')}"}
        assert client.post("/action", headers={**cookie, **same_site}).json() == {"user_id": "3"}
        assert client.post("/action", headers=cookie).status_code == 403  # no origin signal
        no_jti = {"Cookie": f"access_token={token()}", **same_site}
        assert client.post("/action", headers=no_jti).status_code == 401
        as_refresh = {"Cookie": f"access_token={token(jti='j2', typ='refresh')}", **same_site}
        assert client.post("/action", headers=as_refresh).status_code == 401
        bearer = {"Authorization": f"Bearer {token(typ='refresh')}"}
        assert client.post("/refresh", headers=bearer).json() == {"typ": "refresh"}
        plain = {"Authorization": f"Bearer {token()}"}
        assert client.post("/refresh", headers=plain).status_code == 401
