"""Django-Bolt 0.13 names around the request and the test client: ``request.META``'s server
fields, ``DjangoMiddlewareStack.middleware_classes``, the auth-context helpers' arguments,
``TestClient(cors_allowed_origins=...)`` and ``django.contrib.messages`` under
``django_middleware``.
"""

from __future__ import annotations

from typing import Protocol

from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

from django_bolt import BoltAPI, Request, extract_user_id_from_context, get_auth_context
from django_bolt.middleware import DjangoMiddlewareStack
from django_bolt.testing import TestClient


def meta_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/meta")
    async def meta(request: Request) -> dict[str, object]:
        environ = request.META
        return {key: environ.get(key) for key in ("SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT")}

    return api


def test_meta_has_script_name_and_the_server_from_host():
    with TestClient(meta_api()) as client:
        default = client.get("/meta")
        with_port = client.get("/meta", headers={"Host": "api.example.com:8443"})
        ipv6 = client.get("/meta", headers={"Host": "[::1]:9000"})
    with TestClient(meta_api(), base_url="https://secure.example.com") as client:
        https = client.get("/meta")
    assert default.json() == {"SCRIPT_NAME": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80"}
    assert with_port.json()["SERVER_NAME"] == "api.example.com"
    assert with_port.json()["SERVER_PORT"] == "8443"
    assert (ipv6.json()["SERVER_NAME"], ipv6.json()["SERVER_PORT"]) == ("[::1]", "9000")
    assert (https.json()["SERVER_NAME"], https.json()["SERVER_PORT"]) == (
        "secure.example.com",
        "443",
    )


def test_middleware_stack_lists_its_classes():
    stack = DjangoMiddlewareStack([SessionMiddleware, MessageMiddleware])
    assert stack.middleware_classes == [SessionMiddleware, MessageMiddleware]
    named = DjangoMiddlewareStack(
        middleware_classes=["django.contrib.sessions.middleware.SessionMiddleware"]
    )
    assert named.middleware_classes == [SessionMiddleware]


def test_auth_context_helpers_take_a_request_or_a_mapping():
    context = {"user_id": "7", "auth_backend": "jwt"}
    assert extract_user_id_from_context({"context": context}) == "7"
    assert get_auth_context({"context": context}) == context
    assert extract_user_id_from_context({}) is None
    assert get_auth_context({"context": None}) == {}

    api = BoltAPI()

    @api.get("/who")
    async def who(request: Request) -> dict[str, object]:
        return {"id": extract_user_id_from_context(request), "ctx": get_auth_context(request)}

    with TestClient(api) as client:
        assert client.get("/who").json() == {"id": None, "ctx": {}}


def test_test_client_applies_cors_allowed_origins():
    api = BoltAPI()

    @api.post("/items")
    async def items() -> dict[str, bool]:
        return {"ok": True}

    origin = "https://app.example.com"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    with TestClient(api, cors_allowed_origins=[origin]) as client:
        answered = client.options("/items", headers=preflight)
        actual = client.post("/items", headers={"Origin": origin})
        other = client.post("/items", headers={"Origin": "https://evil.example.net"})
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-origin"] == origin
    assert actual.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers
    with TestClient(BoltAPI()) as plain:
        assert (
            "access-control-allow-origin" not in plain.get("/x", headers={"Origin": origin}).headers
        )


def test_messages_work_under_django_middleware(db):
    api = BoltAPI(
        django_middleware=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ]
    )

    @api.post("/note")
    async def note(request: Request) -> dict[str, bool]:
        messages.success(request, "saved")
        return {"ok": True}

    @api.get("/notes")
    async def notes(request: Request) -> list[str]:
        return [str(message) for message in messages.get_messages(request)]

    with TestClient(api) as client:
        assert client.post("/note").json() == {"ok": True}
        assert client.get("/notes").json() == ["saved"]
        assert client.get("/notes").json() == []


class TenantRequest(Request, Protocol):
    """0.13's way to type a request that middleware extended."""

    @property
    def tenant(self) -> str: ...


def test_a_request_protocol_can_be_declared_and_annotated():
    api = BoltAPI()

    @api.get("/typed/{n}")
    async def typed(request: TenantRequest, n: int) -> dict[str, object]:
        return {"path": request.path, "n": n, "plain": type(request) is Request}

    with TestClient(api) as client:
        assert client.get("/typed/3").json() == {"path": "/typed/3", "n": 3, "plain": True}
    assert issubclass(TenantRequest, Request)
    assert Request[int, int, int] is Request
