"""Guards: each built-in, combinators, custom sync/async permissions, defaults and precedence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from django_bolt import BoltAPI, Router
from django_bolt.auth import (
    AllowAny,
    APIKeyAuthentication,
    BasePermission,
    HasAllPermissions,
    HasAnyPermission,
    HasPermission,
    IsAdminUser,
    IsAuthenticated,
    IsStaff,
    JWTAuthentication,
    Requires,
)
from django_bolt.testing import TestClient

SECRET = "guard-tests-secret-long-enough-for-hs256-keys"

# Keys map to users with different rights.
KEYS: dict[str, Any] = {
    "plain": {"id": "plain"},
    "staff": {"id": "staff", "is_staff": True},
    "root": {"id": "root", "is_superuser": True},
    "reader": {"id": "reader", "permissions": ["app.read"]},
    "writer": {"id": "writer", "permissions": ["app.read", "app.write"]},
}
AUTH = APIKeyAuthentication(api_keys=KEYS)


def _client(guards: list[Any], auth: list[Any] | None = None) -> TestClient:
    api = BoltAPI()

    @api.get("/r", auth=auth if auth is not None else [AUTH], guards=guards)
    async def handler(request):
        return {"user": request.user.id}

    return TestClient(api)


def _status(guards: list[Any], key: str | None) -> int:
    headers = {"x-api-key": key} if key is not None else {}
    with _client(guards) as client:
        return client.get("/r", headers=headers).status_code


class Sync(BasePermission):
    def has_permission(self, request: Any) -> bool:
        return request.headers.get("x-allow") == "yes"


class Async(BasePermission):
    message = "Async says no"

    async def has_permission(self, request: Any) -> bool:
        await asyncio.sleep(0)
        return request.headers.get("x-allow") == "yes"


@pytest.mark.parametrize(
    ("guards", "key", "status"),
    [
        pytest.param([AllowAny()], None, 200, id="allow-any-anonymous"),
        pytest.param([IsAuthenticated()], None, 401, id="is-authenticated-anonymous"),
        pytest.param([IsAuthenticated()], "plain", 200, id="is-authenticated-key"),
        pytest.param([IsAdminUser()], "staff", 403, id="admin-staff-refused"),
        pytest.param([IsAdminUser()], "root", 200, id="admin-superuser"),
        pytest.param([IsAdminUser()], None, 401, id="admin-anonymous-401"),
        pytest.param([IsStaff()], "plain", 403, id="staff-plain-refused"),
        pytest.param([IsStaff()], "staff", 200, id="staff-ok"),
        pytest.param([IsStaff()], "root", 200, id="staff-superuser-ok"),
        pytest.param([HasPermission("app.read")], "reader", 200, id="perm-ok"),
        pytest.param([HasPermission("app.write")], "reader", 403, id="perm-missing"),
        pytest.param([HasPermission("app.write")], "root", 200, id="perm-superuser"),
        pytest.param([HasAnyPermission("app.write", "app.read")], "reader", 200, id="any-ok"),
        pytest.param([HasAnyPermission("app.write", "app.x")], "reader", 403, id="any-none"),
        pytest.param([HasAllPermissions("app.read", "app.write")], "writer", 200, id="all-ok"),
        pytest.param([HasAllPermissions("app.read", "app.write")], "reader", 403, id="all-part"),
        pytest.param([IsAuthenticated(), IsStaff()], "plain", 403, id="list-is-and"),
        pytest.param([IsStaff() | HasPermission("app.read")], "reader", 200, id="or-right"),
        pytest.param([IsStaff() | HasPermission("app.read")], "plain", 403, id="or-neither"),
        pytest.param([IsStaff() & HasPermission("app.read")], "reader", 403, id="and-one"),
        pytest.param([~IsStaff()], "plain", 200, id="not-ok"),
        pytest.param([~IsStaff()], "staff", 403, id="not-refused"),
        pytest.param([IsStaff], "staff", 200, id="class-not-instance"),
    ],
)
def test_guard(guards: list[Any], key: str | None, status: int) -> None:
    assert _status(guards, key) == status


def test_401_body_and_challenge() -> None:
    with _client(
        [IsAuthenticated()], [JWTAuthentication(secret=SECRET, trust_claims=True)]
    ) as client:
        response = client.get("/r")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_403_body() -> None:
    with _client([IsStaff()]) as client:
        response = client.get("/r", headers={"x-api-key": "plain"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Permission denied"}
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("cls", [pytest.param(Sync, id="sync"), pytest.param(Async, id="async")])
@pytest.mark.parametrize(
    ("allow", "status"), [pytest.param("yes", 200, id="allowed"), pytest.param("no", 403, id="no")]
)
def test_custom_permission(cls: type[BasePermission], allow: str, status: int) -> None:
    with _client([cls()]) as client:
        response = client.get("/r", headers={"x-api-key": "plain", "x-allow": allow})
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": cls.message}


@pytest.mark.parametrize(
    ("guard", "allow", "status"),
    [
        pytest.param(Async() & IsStaff(), "yes", 403, id="async-and-sync"),
        pytest.param(Async() | IsStaff(), "no", 403, id="async-or-sync"),
        pytest.param(Async() | Sync(), "yes", 200, id="async-or"),
        pytest.param(~Async(), "no", 200, id="not-async"),
    ],
)
def test_async_combinators(guard: BasePermission, allow: str, status: int) -> None:
    with _client([guard]) as client:
        response = client.get("/r", headers={"x-api-key": "plain", "x-allow": allow})
    assert response.status_code == status


def test_guard_runs_before_binding() -> None:
    api = BoltAPI()

    @api.post("/items", auth=[AUTH], guards=[IsAuthenticated()])
    async def create(item: dict[str, int]):
        return item

    with TestClient(api) as client:
        # Not even a valid body: the guard answers first, no 422.
        assert client.post("/items", content=b"{not json").status_code == 401


def test_auth_without_guard_serves_anonymous() -> None:
    with _client([]) as client:
        assert client.get("/r").json() == {"user": None}
        assert client.get("/r", headers={"x-api-key": "wrong"}).json() == {"user": None}
        assert client.get("/r", headers={"x-api-key": "staff"}).json() == {"user": "staff"}


def test_request_user_anonymous_without_auth() -> None:
    api = BoltAPI()

    @api.get("/me")
    async def me(request):
        return {"auth": request.user.is_authenticated, "ctx": request.auth}

    with TestClient(api) as client:
        assert client.get("/me").json() == {"auth": False, "ctx": None}


def test_defaults_from_settings(settings: Any) -> None:
    settings.BOLT_AUTHENTICATION_CLASSES = [AUTH]
    settings.BOLT_DEFAULT_PERMISSION_CLASSES = ["django_bolt.auth.IsAuthenticated"]
    api = BoltAPI()

    @api.get("/closed")
    async def closed(request):
        return {"user": request.user.id}

    @api.get("/open", guards=[AllowAny()])
    async def opened():
        return {"open": True}

    with TestClient(api) as client:
        assert client.get("/closed").status_code == 401
        assert client.get("/closed", headers={"x-api-key": "plain"}).json() == {"user": "plain"}
        assert client.get("/open").status_code == 200


def test_route_overrides_router_overrides_api() -> None:
    api = BoltAPI(auth=[AUTH], guards=[IsAdminUser()])
    router = Router(prefix="/router", guards=[IsStaff()])

    @api.get("/api-level")
    async def api_level():
        return {}

    @router.get("/router-level")
    async def router_level():
        return {}

    @router.get("/route-level", guards=[HasPermission("app.read")])
    async def route_level():
        return {}

    api.include_router(router)
    with TestClient(api) as client:

        def status(path: str, key: str) -> int:
            return client.get(path, headers={"x-api-key": key}).status_code

        assert status("/api-level", "staff") == 403
        assert status("/api-level", "root") == 200
        assert status("/router/router-level", "staff") == 200
        assert status("/router/router-level", "reader") == 403
        assert status("/router/route-level", "reader") == 200
        assert status("/router/route-level", "staff") == 403


def test_not_a_guard_is_a_startup_error() -> None:
    api = BoltAPI()

    @api.get("/x", guards=[object()])
    async def x():
        return {}

    with pytest.raises(TypeError, match="not a guard"):
        api.compile()


@pytest.mark.django_db(transaction=True)
def test_django_user_permissions_checked_off_loop() -> None:
    from django.contrib.auth.models import Permission, User

    from django_bolt.auth import BaseAuthentication

    user = User.objects.create_user("ann")
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    user = User.objects.get(pk=user.pk)  # fresh: no permission cache

    class DjangoUserAuth(BaseAuthentication):
        def authenticate(self, request: Any) -> Any:
            return (user, None) if request.headers.get("x-user") == "ann" else None

    api = BoltAPI()

    @api.get("/view", auth=[DjangoUserAuth()], guards=[HasPermission("auth.view_user")])
    async def view():
        return {"ok": True}

    @api.get("/delete", auth=[DjangoUserAuth()], guards=[HasPermission("auth.delete_user")])
    async def delete():
        return {"ok": True}

    with TestClient(api) as client:
        assert client.get("/view", headers={"x-user": "ann"}).status_code == 200
        assert client.get("/delete", headers={"x-user": "ann"}).status_code == 403
        assert client.get("/view").status_code == 401


def test_a_default_setting_that_is_not_a_list_fails_at_start_up(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.BOLT_DEFAULT_PERMISSION_CLASSES = "django_bolt.auth.IsAuthenticated"
    api = BoltAPI()

    @api.get("/x")
    async def x() -> dict[str, bool]:
        return {"x": True}

    with pytest.raises(ImproperlyConfigured, match="expected a list"):
        api.compile()


class _ScriptedAuth:
    """An auth class whose answer the request's ``x-<name>`` header scripts: ``ok`` accepts,
    ``fail`` raises AuthenticationFailed, anything else (or nothing) passes; sync or async."""

    def __init__(self, name: str, is_async: bool) -> None:
        self.name = name
        self.is_async = is_async
        self.backend_name = name

    def _answer(self, request: Any) -> Any:
        from django_bolt.auth import AuthenticationFailed, TokenUser

        said = request.headers.get(f"x-{self.name}")
        if said == "ok":
            return TokenUser(self.name), {"by": self.name}
        if said == "fail":
            raise AuthenticationFailed(f"{self.name} refused")
        return None

    def authenticate(self, request: Any) -> Any:
        if not self.is_async:
            return self._answer(request)

        async def later() -> Any:
            await asyncio.sleep(0)
            return self._answer(request)

        return later()


CHAIN = [_ScriptedAuth("a", True), _ScriptedAuth("b", False), _ScriptedAuth("c", True)]


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param(
            {"x-a": "ok"}, 200, {"user": "a", "backend": "a", "index": 0}, id="async-first"
        ),
        pytest.param(
            {"x-b": "ok"}, 200, {"user": "b", "backend": "b", "index": 1}, id="sync-after-async"
        ),
        pytest.param(
            {"x-c": "ok"}, 200, {"user": "c", "backend": "c", "index": 2}, id="async-last"
        ),
        pytest.param(
            {"x-a": "fail", "x-c": "ok"},
            200,
            {"user": "c", "backend": "c", "index": 2},
            id="fail-then-accept",
        ),
        pytest.param(
            {"x-a": "fail", "x-b": "fail"}, 401, {"detail": "a refused"}, id="first-reason-wins"
        ),
        pytest.param(
            {"x-b": "fail"}, 401, {"detail": "b refused"}, id="sync-reason-in-async-chain"
        ),
        pytest.param({}, 401, {"detail": "Authentication required"}, id="nobody"),
    ],
)
def test_mixed_sync_and_async_auth_classes(
    headers: dict[str, str], status: int, body: dict[str, Any]
) -> None:
    api = BoltAPI()

    @api.get("/who", auth=CHAIN, guards=[IsAuthenticated()])
    async def who(request: Any) -> dict[str, Any]:
        context = request.context
        return {
            "user": request.user.id,
            "backend": context["auth_backend"],
            "index": context["auth_backend_index"],
        }

    with TestClient(api) as client:
        response = client.get("/who", headers=headers)
    assert response.status_code == status
    assert response.json() == body


class _Flag(BasePermission):
    """Allows when the ``x-<name>`` header says yes; sync or async."""

    def __init__(self, name: str, is_async: bool) -> None:
        self.name = name
        self.message = f"{name} says no"
        self.is_async = is_async

    def has_permission(self, request: Any) -> Any:
        allowed = request.headers.get(f"x-{self.name}") == "yes"
        if not self.is_async:
            return allowed

        async def later() -> bool:
            await asyncio.sleep(0)
            return allowed

        return later()


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        pytest.param({"x-p": "yes", "x-q": "yes", "x-r": "yes"}, 200, None, id="all-allow"),
        pytest.param(
            {"x-p": "yes", "x-q": "no", "x-r": "yes"}, 403, "q says no", id="async-middle-refuses"
        ),
        pytest.param(
            {"x-p": "yes", "x-q": "yes", "x-r": "no"},
            403,
            "r says no",
            id="sync-after-async-refuses",
        ),
        pytest.param(
            {"x-p": "no", "x-q": "yes", "x-r": "yes"}, 403, "p says no", id="sync-first-refuses"
        ),
    ],
)
def test_guards_mixing_sync_and_async_run_in_order(
    headers: dict[str, str], status: int, detail: str | None
) -> None:
    api = BoltAPI()
    guards = [_Flag("p", False), _Flag("q", True), _Flag("r", False)]

    @api.get("/g", auth=[AUTH], guards=guards)
    async def handler() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/g", headers={"x-api-key": "plain", **headers})
    assert response.status_code == status
    if detail is not None:
        assert response.json() == {"detail": detail}


def _token(**claims: Any) -> dict[str, str]:
    import jwt as pyjwt

    token = pyjwt.encode({"sub": "7", **claims}, SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("guard", "claims", "status"),
    [
        pytest.param(Requires("tenant_id"), {"tenant_id": "t1"}, 200, id="present"),
        pytest.param(Requires("tenant_id"), {}, 403, id="absent"),
        pytest.param(Requires("is_admin"), {"is_admin": False}, 403, id="false-is-absent"),
        pytest.param(Requires("role", "client"), {"role": "client"}, 200, id="equals"),
        pytest.param(Requires("role", "client", "vip"), {"role": "vip"}, 200, id="any-of"),
        pytest.param(Requires("role", "client"), {"role": "other"}, 403, id="no-match"),
        pytest.param(Requires("role", "client"), {"role": ["x", "client"]}, 200, id="list-claim"),
        pytest.param(Requires("is_staff", True), {"is_staff": True}, 200, id="bool"),
        pytest.param(
            Requires("permissions", all_of=["a.add", "a.change"]),
            {"permissions": ["a.add", "a.change", "a.view"]},
            200,
            id="all-of",
        ),
        pytest.param(
            Requires("permissions", all_of=["a.add", "a.delete"]),
            {"permissions": ["a.add"]},
            403,
            id="all-of-missing-one",
        ),
        pytest.param(
            Requires("permissions", "a.view"), {"permissions": ["a.view"]}, 200, id="perm"
        ),
        pytest.param(
            Requires("role", none_of=["banned", "suspended"]), {"role": "client"}, 200, id="none-of"
        ),
        pytest.param(
            Requires("role", none_of=["banned", "suspended"]), {"role": "banned"}, 403, id="banned"
        ),
        pytest.param(Requires("role", none_of=["banned"]), {}, 200, id="none-of-absent-claim"),
        pytest.param(Requires("role", "client", message="Clients only"), {}, 403, id="message"),
    ],
)
def test_requires_matches_the_tokens_claims(
    guard: Requires, claims: dict[str, Any], status: int
) -> None:
    """Django-Bolt's claim guard, by the rules of its documentation."""
    with _client([guard], auth=[JWTAuthentication(secret=SECRET, trust_claims=True)]) as client:
        response = client.get("/r", headers=_token(**claims))
    assert response.status_code == status
    if status == 403:
        assert response.json() == {"detail": guard.message}


@pytest.mark.parametrize(
    "guard",
    [Requires("role", none_of=["banned"]), Requires("role", "x", message="secret rule")],
    ids=["none-of", "custom-message"],
)
def test_requires_refuses_anonymous_requests_with_401_and_no_message(guard: Requires) -> None:
    with _client([guard], auth=[JWTAuthentication(secret=SECRET, trust_claims=True)]) as client:
        response = client.get("/r")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required"}
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_requires_reads_api_key_info_and_user_attributes() -> None:
    # KEYS["staff"] has is_staff (a user attribute); KEYS["reader"] carries a permission.
    with _client([Requires("is_staff", True)]) as client:
        assert client.get("/r", headers={"x-api-key": "staff"}).status_code == 200
        assert client.get("/r", headers={"x-api-key": "plain"}).status_code == 403
    with _client([Requires("permissions", "app.read")]) as client:
        assert client.get("/r", headers={"x-api-key": "reader"}).status_code == 200
        assert client.get("/r", headers={"x-api-key": "plain"}).status_code == 403


@pytest.mark.parametrize(
    "build",
    [
        lambda: Requires(""),
        lambda: Requires("role", "a", all_of=["b"]),
        lambda: Requires("role", all_of=[]),
        lambda: Requires("role", none_of="banned"),
        lambda: Requires("role", {"a": 1}),  # type: ignore[arg-type]
        lambda: Requires("role", message=""),
    ],
    ids=[
        "no-claim",
        "two-quantifiers",
        "empty-all-of",
        "string-none-of",
        "dict-value",
        "empty-msg",
    ],
)
def test_requires_misuse_is_a_configuration_error(build: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        build()
