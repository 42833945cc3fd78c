"""What an error formatter is told about a refusal of auth and guards.

0.13's BoltError table: ``exception`` is None for an error of its core, and a guard's 401 or 403
is one (as are no route, a method a path does not serve, and a rate limit). An
``HTTPException`` a handler raises itself is passed to the formatter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_bolt import BoltAPI
from django_bolt.auth import (
    APIKeyAuthentication,
    BasePermission,
    IsAdminUser,
    IsAuthenticated,
    JWTAuthentication,
    Requires,
    SessionAuthentication,
    create_jwt_for_user,
)
from django_bolt.auth.base import CSRF_FAILED
from django_bolt.exceptions import AuthRefusal, HTTPException
from django_bolt.middleware import rate_limit
from django_bolt.responses import Response
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from django_bolt.error_handlers import BoltError

SECRET = "refusal-tests-secret-long-enough-for-hs256"
KEYS: dict[str, Any] = {"plain": {"id": "plain"}, "staff": {"id": "staff", "is_staff": True}}


class _User:
    pk = id = 7


class AsyncNever(BasePermission):
    async def has_permission(self, request: Any) -> bool:
        return False


def _api(seen: list[BoltError]) -> BoltAPI:
    def format_error(error: BoltError, request: Any) -> Response:
        seen.append(error)
        return Response({"kind": error.kind, "detail": error.detail}, status_code=error.status)

    api = BoltAPI(error_formatter=format_error)
    keys = [APIKeyAuthentication(api_keys=KEYS)]

    @api.get("/signed-in", auth=keys, guards=[IsAuthenticated()])
    async def signed_in() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/admin", auth=keys, guards=[IsAdminUser()])
    async def admin() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/staff-claim", auth=keys, guards=[Requires("is_staff", True)])
    async def staff_claim() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/async-guard", auth=keys, guards=[AsyncNever()])
    async def async_guard() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/jwt", auth=[JWTAuthentication(secret=SECRET)], guards=[IsAuthenticated()])
    async def jwt() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/own-401")
    async def own_401() -> dict[str, bool]:
        raise HTTPException(401, "Log in first", {"WWW-Authenticate": "Bearer"})

    @api.get("/own-403", auth=keys, guards=[IsAuthenticated()])
    async def own_403() -> dict[str, bool]:
        raise HTTPException(403, "Not yours")

    @api.get("/limited")
    @rate_limit(rps=1, burst=1)
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    return api


def test_a_guard_refusal_reaches_the_formatter_without_an_exception() -> None:
    seen: list[BoltError] = []
    plain = {"x-api-key": "plain"}
    with TestClient(_api(seen)) as client:
        answers = [
            client.get("/signed-in"),
            client.get("/signed-in", headers={"x-api-key": "wrong"}),
            client.get("/admin", headers=plain),
            client.get("/staff-claim", headers=plain),
            client.get("/async-guard", headers=plain),
            client.get("/jwt", headers={"Authorization": "Bearer not-a-token"}),
        ]
    statuses = [response.status_code for response in answers]
    assert statuses == [401, 401, 403, 403, 403, 401]
    assert [error.kind for error in seen] == [
        "not_authenticated",
        "not_authenticated",
        "forbidden",
        "forbidden",
        "forbidden",
        "not_authenticated",
    ]
    assert [error.exception for error in seen] == [None] * 6
    # The challenge still reaches the client.
    assert answers[-1].headers["www-authenticate"].startswith("Bearer")


def test_a_handler_s_own_http_exception_is_passed_on_a_guard_s_is_not() -> None:
    seen: list[BoltError] = []
    with TestClient(_api(seen)) as client:
        own_401 = client.get("/own-401")
        own_403 = client.get("/own-403", headers={"x-api-key": "plain"})
        guard_401 = client.get("/own-403")
    assert [r.status_code for r in (own_401, own_403, guard_401)] == [401, 403, 401]
    assert isinstance(seen[0].exception, HTTPException)
    assert seen[0].exception.detail == "Log in first"
    assert seen[0].kind == "not_authenticated"
    assert isinstance(seen[1].exception, HTTPException)
    assert seen[1].exception.detail == "Not yours"
    assert seen[2].kind == "not_authenticated"
    assert seen[2].exception is None


def test_every_error_of_the_core_comes_without_an_exception() -> None:
    seen: list[BoltError] = []
    with TestClient(_api(seen)) as client:
        statuses = [
            client.get("/nowhere").status_code,
            client.delete("/signed-in").status_code,
            client.get("/limited").status_code,
            client.get("/limited").status_code,
            client.get("/signed-in").status_code,
        ]
    assert statuses == [404, 405, 200, 429, 401]
    assert [error.kind for error in seen] == [
        "not_found",
        "method_not_allowed",
        "rate_limited",
        "not_authenticated",
    ]
    assert all(error.exception is None for error in seen)


def test_an_exception_handler_for_http_exception_still_sees_a_guard_refusal() -> None:
    api = BoltAPI()
    caught: list[HTTPException] = []

    @api.exception_handler(HTTPException)
    async def on_http(request: Any, exc: HTTPException) -> dict[str, Any]:
        caught.append(exc)
        return {"refused": exc.status_code}

    @api.get("/r", auth=[APIKeyAuthentication(api_keys=KEYS)], guards=[IsAuthenticated()])
    async def r() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/r")
    assert response.status_code == 401
    assert response.json() == {"refused": 401}
    # An HTTPException still (handlers keep working), of the class that marks a refusal.
    assert isinstance(caught[0], AuthRefusal)


def test_the_csrf_origin_refusal_comes_without_an_exception() -> None:
    seen: list[BoltError] = []

    def format_error(error: BoltError, request: Any) -> Response:
        seen.append(error)
        return Response({"kind": error.kind, "detail": error.detail}, status_code=error.status)

    api = BoltAPI(error_formatter=format_error)
    jwt_cookie = JWTAuthentication(secret=SECRET, cookie="access", csrf=True)

    @api.post("/cookie-write", auth=[jwt_cookie], guards=[IsAuthenticated()])
    async def cookie_write() -> dict[str, bool]:
        return {"ok": True}

    token = create_jwt_for_user(_User(), secret=SECRET)
    with TestClient(api) as client:
        client.cookies.set("access", token)
        response = client.post("/cookie-write", headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["detail"] == CSRF_FAILED
    assert seen[0].kind == "forbidden"
    assert seen[0].exception is None


def test_the_session_csrf_refusal_comes_without_an_exception() -> None:
    seen: list[BoltError] = []

    def format_error(error: BoltError, request: Any) -> Response:
        seen.append(error)
        return Response({"kind": error.kind, "detail": error.detail}, status_code=error.status)

    api = BoltAPI(error_formatter=format_error)

    @api.post("/session-write", auth=[SessionAuthentication()], guards=[IsAuthenticated()])
    async def session_write() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.post("/session-write", headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["detail"] == CSRF_FAILED
    assert seen[0].exception is None
