"""Django-Bolt 0.13's auth names and request.user under JWT, through the TestClient."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User

from django_bolt import BoltAPI
from django_bolt.auth import (
    APIKeyAuthentication,
    AuthContext,
    CurrentUser,
    IsAuthenticated,
    IsStaff,
    JWTAuthentication,
    Requires,
    Token,
    create_jwt_for_user,
    get_current_user,
    get_default_authentication_classes,
    get_default_permission_classes,
    load_user,
    register_auth_backend,
)
from django_bolt.params import Depends
from django_bolt.testing import TestClient

SECRET = "compat-users-secret-at-least-32-bytes!!"


def _bearer(user: Any, **extra: Any) -> dict[str, str]:
    token = create_jwt_for_user(user, secret=SECRET, extra_claims=extra or None)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.django_db(transaction=True)
def test_request_user_is_the_django_user_loaded_by_sub() -> None:
    ann = User.objects.create_user("ann", email="ann@example.com", is_staff=True)
    api = BoltAPI()
    auth = [JWTAuthentication(secret=SECRET)]

    @api.get("/async", auth=auth, guards=[IsAuthenticated()])
    async def in_async(request: Any) -> dict[str, Any]:
        user = await request.auser()
        return {"id": user.id, "email": user.email, "same": request.user is user}

    @api.get("/sync", auth=auth, guards=[IsStaff()])
    def in_sync(request: Any) -> dict[str, Any]:
        return {"id": request.user.id, "email": request.user.email}

    @api.get("/current", auth=auth)
    async def current(user: CurrentUser) -> dict[str, Any]:
        return {"email": user.email, "is_user": isinstance(user, User)}

    @api.get("/depends", auth=auth)
    async def depends(user: Any = Depends(get_current_user)) -> dict[str, Any]:  # noqa: B008
        return {"username": user.username}

    @api.get("/lazy-on-loop", auth=auth)
    async def lazy_on_loop(request: Any) -> dict[str, Any]:
        # A sync read in an async handler: the query runs off the loop thread and is waited for.
        return {"email": request.user.email, "pk": request.user.pk}

    headers = _bearer(ann)
    with TestClient(api) as client:
        assert client.get("/async", headers=headers).json() == {
            "id": ann.pk,
            "email": "ann@example.com",
            "same": True,
        }
        assert client.get("/sync", headers=headers).json() == {
            "id": ann.pk,
            "email": "ann@example.com",
        }
        assert client.get("/current", headers=headers).json() == {
            "email": "ann@example.com",
            "is_user": True,
        }
        assert client.get("/depends", headers=headers).json() == {"username": "ann"}
        assert client.get("/lazy-on-loop", headers=headers).json() == {
            "email": "ann@example.com",
            "pk": ann.pk,
        }
        # The user is deleted: the still-valid token is refused where the user is needed.
        User.objects.filter(pk=ann.pk).delete()
        for path in ("/async", "/sync", "/current", "/lazy-on-loop"):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.json() == {"detail": "User not found"}


@pytest.mark.django_db(transaction=True)
def test_claim_guards_read_the_claims_without_loading_the_user() -> None:
    api = BoltAPI()

    @api.get("/ctx", auth=[JWTAuthentication(secret=SECRET)], guards=[Requires("is_staff", True)])
    async def ctx(request: Any) -> dict[str, Any]:
        return {"user_id": request.context["user_id"], "loaded": request.user.is_loaded}

    token = jwt.encode({"sub": "999", "is_staff": True}, SECRET, algorithm="HS256")
    with TestClient(api) as client:
        response = client.get("/ctx", headers={"Authorization": f"Bearer {token}"})
    # No row 999, and none was looked for: the guard and the context come from the claims.
    assert response.json() == {"user_id": "999", "loaded": False}


def test_trust_claims_opts_out_of_the_query() -> None:
    api = BoltAPI()

    @api.get("/me", auth=[JWTAuthentication(secret=SECRET, trust_claims=True)])
    async def me(request: Any) -> dict[str, Any]:
        return {"id": request.user.id, "class": type(request.user).__name__}

    token = jwt.encode({"sub": "12"}, SECRET, algorithm="HS256")
    with TestClient(api) as client:  # no database access is allowed in this test
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json() == {
            "id": "12",
            "class": "TokenUser",
        }


@pytest.mark.django_db(transaction=True)
def test_custom_user_query_and_the_backend_registry() -> None:
    bob = User.objects.create_user("bob", email="bob@example.com")
    seen: list[Any] = []

    class ByUsername(JWTAuthentication):
        async def get_user(self, user_id: Any, auth_context: dict[str, Any]) -> Any:
            seen.append(user_id)
            return await User.objects.aget(username=auth_context["username"])

    class SyncOnly(JWTAuthentication):
        def get_user_sync(self, user_id: Any) -> Any:
            seen.append(("sync", user_id))
            return User.objects.filter(pk=user_id).first()

    api = BoltAPI()

    @api.get("/by-name", auth=[ByUsername(secret=SECRET)])
    async def by_name(request: Any) -> dict[str, Any]:
        return {"email": (await request.auser()).email}

    @api.get("/sync-only", auth=[SyncOnly(secret=SECRET)])
    def sync_only(request: Any) -> dict[str, Any]:
        return {"email": request.user.email}

    token = jwt.encode({"sub": "not-a-pk", "username": "bob"}, SECRET, algorithm="HS256")
    with TestClient(api) as client:
        response = client.get("/by-name", headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"email": "bob@example.com"}
        assert client.get("/sync-only", headers=_bearer(bob)).json() == {"email": "bob@example.com"}
    assert seen == ["not-a-pk", ("sync", str(bob.pk))]

    register_auth_backend("compat-jwt", SyncOnly(secret=SECRET))
    register_auth_backend("compat-keys", APIKeyAuthentication({"k"}))
    assert asyncio.run(load_user(str(bob.pk), "compat-jwt")) == bob
    assert asyncio.run(load_user(str(bob.pk), "never-registered")) == bob  # pk lookup
    assert asyncio.run(load_user(str(bob.pk), "compat-keys")) is None  # no user table
    assert asyncio.run(load_user("", "compat-jwt")) is None
    assert asyncio.run(load_user("123456", "compat-jwt")) is None


def test_token_create_encode_decode_and_claims() -> None:
    token = Token.create("42", expires_delta=timedelta(minutes=5), is_staff=True, role="admin")
    assert token.claims["sub"] == "42" and token.claims["role"] == "admin"
    assert token.is_admin is True  # staff implies admin, as in Django-Bolt
    encoded = token.encode(SECRET)
    decoded = Token.decode(encoded, SECRET)
    assert (decoded.sub, decoded.is_staff, decoded.extras) == ("42", True, {"role": "admin"})
    assert decoded.exp == token.exp
    with pytest.raises(ValueError, match="Failed to decode"):
        Token.decode(encoded, SECRET, algorithm="HS512")  # algorithm pinned
    with pytest.raises(ValueError, match="Failed to decode"):
        Token.decode(encoded, "another-secret-that-is-long-enough-000")
    with pytest.raises(ValueError, match="future"):
        Token(exp=datetime.now(UTC) - timedelta(seconds=1), sub="1")
    with pytest.raises(ValueError, match="sub"):
        Token(exp=datetime.now(UTC) + timedelta(hours=1), sub="")

    api = BoltAPI()

    @api.get("/t", auth=[JWTAuthentication(secret=SECRET, trust_claims=True)])
    async def t(request: Any) -> dict[str, Any]:
        return {"perms": sorted(request.user.permissions)}

    minted = Token.create("7", permissions=["a.b"]).encode(SECRET)
    with TestClient(api) as client:
        assert client.get("/t", headers={"Authorization": f"Bearer {minted}"}).json() == {
            "perms": ["a.b"]
        }


def test_auth_context_and_default_classes(settings: Any) -> None:
    context = AuthContext(user_id="1", backend="jwt", claims={"sub": "1"})
    assert (context.user_id, context.is_staff, context.backend) == ("1", False, "jwt")
    settings.BOLT_AUTHENTICATION_CLASSES = ["django_bolt.auth.JWTAuthentication"]
    settings.BOLT_DEFAULT_PERMISSION_CLASSES = [IsAuthenticated]
    (auth,) = get_default_authentication_classes()
    assert isinstance(auth, JWTAuthentication)
    (guard,) = get_default_permission_classes()
    assert isinstance(guard, IsAuthenticated)
    settings.BOLT_DEFAULT_PERMISSION_CLASSES = []
    assert type(get_default_permission_classes()[0]).__name__ == "AllowAny"


def test_api_key_in_the_authorization_header_as_bearer() -> None:
    api = BoltAPI()
    keys = APIKeyAuthentication(api_keys={"sk-1"}, header="authorization")

    @api.get("/k", auth=[keys], guards=[IsAuthenticated()])
    async def k() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        assert client.get("/k", headers={"Authorization": "Bearer sk-1"}).status_code == 200
        assert client.get("/k", headers={"Authorization": "bearer sk-1"}).status_code == 200
        assert client.get("/k", headers={"Authorization": "sk-1"}).status_code == 200
        assert client.get("/k", headers={"Authorization": "Bearer sk-2"}).status_code == 401
        assert client.get("/k", headers={"Authorization": "Basic sk-1"}).status_code == 401


def test_query_param_token_is_off_by_default_and_read_when_named() -> None:
    api = BoltAPI()
    token = jwt.encode({"sub": "5"}, SECRET, algorithm="HS256")

    @api.get("/plain", auth=[JWTAuthentication(secret=SECRET, trust_claims=True)])
    async def plain(request: Any) -> dict[str, Any]:
        return {"user": request.context and request.context["user_id"]}

    query_auth = JWTAuthentication(
        secret=SECRET, trust_claims=True, query_param="token", cookie="access_token"
    )

    @api.get("/q", auth=[query_auth], guards=[IsAuthenticated()])
    async def q(request: Any) -> dict[str, Any]:
        return {"user": request.context["user_id"]}

    @api.post("/q", auth=[query_auth], guards=[IsAuthenticated()])
    async def q_post(request: Any) -> dict[str, Any]:
        return {"user": request.context["user_id"]}

    with TestClient(api) as client:
        assert client.get(f"/plain?token={token}").json() == {"user": None}
        assert client.get(f"/q?token={token}").json() == {"user": "5"}
        assert client.get("/q?token=garbage").status_code == 401
        assert client.get("/q?token=").status_code == 401
        # A query token is not sent by the browser on its own: no cross-site check for it...
        assert client.post(f"/q?token={token}").json() == {"user": "5"}
        # ...while the cookie still has it.
        client.cookies.set("access_token", token)
        assert client.post("/q").status_code == 403
