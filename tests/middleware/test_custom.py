"""Custom middleware: classes and functions at API, router and route level, skips and errors."""

from __future__ import annotations

import logging

import pytest

from django_bolt import BoltAPI, Request, Router
from django_bolt.exceptions import HTTPException
from django_bolt.middleware import (
    BaseMiddleware,
    CompressionConfig,
    ErrorHandlerMiddleware,
    LoggingMiddleware,
    Middleware,
    MiddlewareProtocol,
    TimingMiddleware,
    middleware,
    rate_limit,
    skip_middleware,
)
from django_bolt.responses import JSON, Response
from django_bolt.testing import TestClient


def tagging(name: str) -> type[Middleware]:
    """A middleware class that records its name on the way in and out."""

    class Tag(Middleware):
        async def process_request(self, request):
            request.state.trail = [*getattr(request.state, "trail", []), f"{name}>"]
            response = await self.get_response(request)
            response.headers.append("x-trail", f"<{name}")
            return response

    Tag.__name__ = Tag.__qualname__ = f"Tag{name}"
    return Tag


def test_order_is_api_then_router_then_route_and_reversed_on_the_way_out():
    outer, inner, route_mw = tagging("api"), tagging("router"), tagging("route")
    api = BoltAPI(middleware=[outer])
    router = Router(prefix="/r", middleware=[inner])

    @router.get("/x")
    @middleware(route_mw)
    async def x(request: Request):
        return {"trail": request.state.trail}

    api.include_router(router)
    with TestClient(api) as client:
        response = client.get("/r/x")
    assert response.json() == {"trail": ["api>", "router>", "route>"]}
    # Response phase runs inner first: route, router, api.
    assert response.headers.get_list("x-trail") == ["<route", "<router", "<api"]


def test_nested_routers_run_parent_before_child_and_stacked_decorators_top_first():
    parent_mw, child_mw, first, second = (tagging(n) for n in ("parent", "child", "a", "b"))
    api = BoltAPI()
    parent = Router(prefix="/p", middleware=[parent_mw])
    child = Router(prefix="/c", middleware=[child_mw])

    @child.get("/x")
    @middleware(first)
    @middleware(second)
    async def x(request: Request):
        return request.state.trail

    parent.include_router(child)
    api.include_router(parent)
    with TestClient(api) as client:
        assert client.get("/p/c/x").json() == ["parent>", "child>", "a>", "b>"]


def test_mounting_api_middleware_wraps_the_mounted_api():
    main, sub_mw = tagging("main"), tagging("sub")
    api = BoltAPI(middleware=[main])
    sub = BoltAPI(middleware=[sub_mw])

    @sub.get("/x")
    async def x(request: Request):
        return request.state.trail

    api.mount("/sub", sub)
    with TestClient(api) as client:
        assert client.get("/sub/x").json() == ["main>", "sub>"]


def test_function_middleware_sync_and_async():
    @middleware
    async def stamp(request, call_next):
        response = await call_next(request)
        response.headers["x-stamp"] = "async"
        return response

    @middleware
    def marker(request, call_next):
        request.state.marked = True  # a sync function can act before and pass the call on
        return call_next(request)

    api = BoltAPI()

    @api.get("/x")
    @stamp
    @marker
    async def x(request: Request):
        return {"marked": request.state.marked}

    with TestClient(api) as client:
        response = client.get("/x")
    assert response.json() == {"marked": True}
    assert response.headers["x-stamp"] == "async"


def test_middleware_can_answer_without_running_the_handler():
    calls = []

    class Deny(BaseMiddleware):
        async def process_request(self, request):
            if request.headers.get("x-token") != "ok":
                return JSON({"detail": "no token"}, status_code=403)
            return await self.get_response(request)

    class DictAnswer(Middleware):
        def process_request(self, request):  # sync: returns a value or the rest of the chain
            if request.query.get("short"):
                return {"short": True}
            return self.get_response(request)

    api = BoltAPI(middleware=[Deny, DictAnswer])

    @api.get("/x")
    async def x():
        calls.append(1)
        return {"ok": True}

    with TestClient(api) as client:
        refused = client.get("/x")
        assert (refused.status_code, refused.json()) == (403, {"detail": "no token"})
        short = client.get("/x?short=1", headers={"x-token": "ok"})
        assert (short.status_code, short.json()) == (200, {"short": True})
        assert calls == []
        assert client.get("/x", headers={"x-token": "ok"}).json() == {"ok": True}
        assert calls == [1]


def test_plain_class_following_the_protocol():
    class Plain:
        def __init__(self, get_response):
            self.get_response = get_response

        async def __call__(self, request):
            response = await self.get_response(request)
            response.headers["x-plain"] = "1"
            return response

    assert issubclass(Plain, MiddlewareProtocol)
    api = BoltAPI(middleware=[Plain])

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api) as client:
        assert client.get("/x").headers["x-plain"] == "1"


def test_exclude_paths_and_methods():
    class Stamp(BaseMiddleware):
        exclude_paths = ("/health", "/docs/**", "/items/*/raw")
        exclude_methods = ("DELETE",)

        async def process_request(self, request):
            response = await self.get_response(request)
            response.headers["x-stamp"] = "1"
            return response

    api = BoltAPI(middleware=[Stamp])

    @api.get("/health")
    async def health():
        return {}

    @api.get("/docs/{a}/{b}")
    async def docs(a: str, b: str):
        return {}

    @api.get("/items/{i}/raw")
    async def raw(i: int):
        return {}

    @api.get("/items/{i}")
    async def item(i: int):
        return {}

    @api.delete("/items/{i}")
    async def remove(i: int):
        return {}

    with TestClient(api) as client:
        assert "x-stamp" not in client.get("/health").headers
        assert "x-stamp" not in client.get("/docs/a/b").headers
        assert "x-stamp" not in client.get("/items/3/raw").headers
        assert "x-stamp" not in client.delete("/items/3").headers
        assert client.get("/items/3").headers["x-stamp"] == "1"


def test_handler_response_headers_and_cookies_survive_and_can_be_changed():
    class Rewrite(Middleware):
        async def process_request(self, request):
            response = await self.get_response(request)
            assert response.headers["x-from-handler"] == "1"
            response.headers["x-from-handler"] = "2"
            del response.headers["x-drop"]
            return response

    api = BoltAPI(middleware=[Rewrite])

    @api.get("/x")
    async def x() -> Response:
        response = Response(b"hi", headers={"x-from-handler": "1", "x-drop": "1"})
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    with TestClient(api) as client:
        response = client.get("/x")
    assert response.headers["x-from-handler"] == "2"
    assert "x-drop" not in response.headers
    assert response.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=Lax",
        "b=2; Path=/; SameSite=Lax",
    ]


def test_streaming_responses_pass_through_and_head_uses_the_get_chain():
    from django_bolt.responses import StreamingResponse

    class Stamp(Middleware):
        async def process_request(self, request):
            response = await self.get_response(request)
            response.headers["x-stamp"] = request.method
            return response

    api = BoltAPI(middleware=[Stamp])

    @api.get("/stream")
    async def stream():
        async def chunks():
            yield b"one,"
            yield b"two"

        return StreamingResponse(chunks(), media_type="text/plain")

    with TestClient(api) as client:
        response = client.get("/stream")
        head = client.head("/stream")
    assert (response.text, response.headers["x-stamp"]) == ("one,two", "GET")
    assert (head.status_code, head.headers["x-stamp"], head.content) == (200, "HEAD", b"")


def test_middleware_cannot_set_a_header_that_splits_the_response():
    class Bad(Middleware):
        async def process_request(self, request):
            response = await self.get_response(request)
            response.headers["x-bad"] = "a\r\nset-cookie: evil=1"
            return response

    api = BoltAPI(middleware=[Bad])

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/x")
    assert response.status_code == 500
    assert "evil" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "exc, status, body",
    [
        pytest.param(HTTPException(418, "teapot"), 418, {"detail": "teapot"}, id="http"),
        pytest.param(RuntimeError("bug"), 500, {"detail": "Internal Server Error"}, id="bug"),
    ],
)
def test_exceptions_in_middleware_use_the_error_handling(exc, status, body):
    class Raising(Middleware):
        async def process_request(self, request):
            raise exc

    api = BoltAPI(middleware=[Raising])

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/x")
    assert (response.status_code, response.json()) == (status, body)


def test_a_middleware_returning_none_is_a_500_not_a_silent_null(caplog):
    class Forgetful(Middleware):
        async def process_request(self, request):
            await self.get_response(request)  # no return

    api = BoltAPI(middleware=[Forgetful])

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/x")
    assert response.status_code == 500
    assert "returned None" in caplog.text


def test_exception_handlers_see_middleware_errors_and_after_phase_errors():
    class AfterBoom(Middleware):
        async def process_request(self, request):
            await self.get_response(request)
            raise KeyError("after")

    api = BoltAPI(middleware=[AfterBoom])

    @api.exception_handler(KeyError)
    async def on_key(request, exc):
        return JSON({"handled": str(exc)}, status_code=409)

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api) as client:
        response = client.get("/x")
    assert (response.status_code, response.json()) == (409, {"handled": "'after'"})


def test_middleware_wraps_handler_errors_and_sees_the_request_after_auth():
    seen = []

    class Watch(Middleware):
        async def process_request(self, request):
            try:
                return await self.get_response(request)
            except HTTPException as exc:
                seen.append(exc.status_code)
                raise

    api = BoltAPI(middleware=[Watch])

    @api.get("/x")
    async def x():
        raise HTTPException(404, "gone")

    with TestClient(api) as client:
        assert client.get("/x").status_code == 404
    assert seen == [404]


def test_builtin_timing_error_and_logging_middleware(caplog):
    api = BoltAPI(middleware=[LoggingMiddleware, TimingMiddleware, ErrorHandlerMiddleware])

    @api.get("/x")
    async def x(request: Request):
        return {"id": request.state.request_id}

    @api.get("/boom")
    async def boom():
        raise ValueError("secret detail")

    @api.get("/health")
    async def health():
        return {}

    with caplog.at_level(logging.INFO, logger="django_bolt"), TestClient(api) as client:
        response = client.get("/x")
        failed = client.get("/boom")
        client.get("/health")
    assert response.headers["x-request-id"] == response.json()["id"]
    assert response.headers["x-response-time"].endswith("s")
    assert (failed.status_code, failed.json()) == (500, {"detail": "Internal Server Error"})
    messages = [r.getMessage() for r in caplog.records if r.name == "django_bolt.requests"]
    assert "Request: GET /x" in messages
    assert any(m.startswith("Response: 200 for GET /x") for m in messages)
    assert not any("/health" in m for m in messages)  # excluded by default


def test_skip_middleware_by_class_by_name_and_all():
    first, second = tagging("one"), tagging("two")

    @middleware
    async def fn_mw(request, call_next):
        request.state.trail = [*getattr(request.state, "trail", []), "fn>"]
        return await call_next(request)

    api = BoltAPI(middleware=[first, second])

    def trail(request):
        return getattr(request.state, "trail", [])

    @api.get("/all")
    @fn_mw
    async def everything(request: Request):
        return trail(request)

    @api.get("/by-class")
    @skip_middleware(first)
    async def by_class(request: Request):
        return trail(request)

    @api.get("/by-name")
    @skip_middleware("Tagtwo", "fn_mw")
    @fn_mw
    async def by_name(request: Request):
        return trail(request)

    @api.get("/none")
    @skip_middleware("*")
    @fn_mw
    async def none(request: Request):
        return trail(request)

    with TestClient(api) as client:
        assert client.get("/all").json() == ["one>", "two>", "fn>"]
        assert client.get("/by-class").json() == ["two>"]
        assert client.get("/by-name").json() == ["one>"]
        assert client.get("/none").json() == []


def test_skip_builtin_names(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    api = BoltAPI(compression=CompressionConfig(backend="gzip", minimum_size=10))

    @api.get("/limited")
    @rate_limit(rps=1, burst=1)
    async def limited():
        return {"body": "x" * 100}

    @api.get("/free")
    @skip_middleware("rate_limit", "compression", "cors")
    @rate_limit(rps=1, burst=1)
    async def free():
        return {"body": "x" * 100}

    headers = {"Origin": "https://app.example.com", "Accept-Encoding": "gzip"}
    with TestClient(api) as client:
        first = client.get("/limited", headers=headers)
        assert first.headers["content-encoding"] == "gzip"
        assert first.headers["access-control-allow-origin"] == "https://app.example.com"
        assert client.get("/limited", headers=headers).status_code == 429
        for _ in range(3):
            free_response = client.get("/free", headers=headers)
            assert free_response.status_code == 200
            assert "content-encoding" not in free_response.headers
            assert "access-control-allow-origin" not in free_response.headers


def test_routes_without_middleware_compile_no_policy():
    api = BoltAPI()

    @api.get("/plain")
    async def plain():
        return {}

    @api.get("/wrapped")
    @middleware(TimingMiddleware)
    async def wrapped():
        return {}

    table = api.compile()
    assert table.match("/plain")[0].methods["GET"].policy is None
    assert table.match("/wrapped")[0].methods["GET"].policy is not None


def test_middleware_declaration_errors():
    with pytest.raises(TypeError, match="pass the class"):
        BoltAPI(middleware=[TimingMiddleware(None)])

    async def fn(request, call_next):
        return await call_next(request)

    with pytest.raises(TypeError, match="cannot be a function"):
        Router(middleware=[fn])
    with pytest.raises(ValueError, match="no 'type'"):
        BoltAPI(middleware=[{"rps": 1}])
    with pytest.raises(ValueError, match="'cors' or 'rate_limit'"):
        BoltAPI(middleware=[{"type": "gzip"}])

    class NotCallable:
        def __init__(self, get_response):
            pass

    with pytest.raises(TypeError, match="no __call__"):
        BoltAPI(middleware=[NotCallable])
    with pytest.raises(TypeError, match="must be a list"):
        BoltAPI(middleware=TimingMiddleware)
