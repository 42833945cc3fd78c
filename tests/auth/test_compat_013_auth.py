"""Django-Bolt 0.13's behaviour where an audit found ours apart: the cache store's keys, a jti on
access tokens, bare tokens in a header of their own, set-valued ``all_of``, typed claim matching,
the API-key context, and which user (token or row) ``request.user`` and the guards ask."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt.auth import (
    APIKeyAuthentication,
    DjangoCacheRevocation,
    HasPermission,
    InMemoryRevocation,
    IsAdminUser,
    IsAuthenticated,
    IsStaff,
    JWTAuthentication,
    Requires,
    create_token_pair,
    rotate_refresh_token,
)
from django_bolt.exceptions import Forbidden
from django_bolt.testing import TestClient

SECRET = "compat-013-auth-secret-at-least-32-bytes"


def _token(**claims: Any) -> str:
    return jwt.encode({"sub": "1", **claims}, SECRET, algorithm="HS256")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _guarded(guard: Any, **auth_options: Any) -> BoltAPI:
    api = BoltAPI()

    @api.get("/r", auth=[JWTAuthentication(secret=SECRET, **auth_options)], guards=[guard])
    async def handler() -> dict[str, bool]:
        return {"ok": True}

    return api


# --- 1. DjangoCacheRevocation keeps 0.13's keys ---------------------------------------------------


def test_cache_store_reads_the_revocations_a_013_deployment_left_in_its_cache() -> None:
    jti, fam, user = (uuid.uuid4().hex for _ in range(3))
    # What Django-Bolt 0.13's DjangoCacheRevocation() wrote: "revoked:" then its layout.
    cache.set(f"revoked:{jti}", 1, 60)
    cache.set(f"revoked:fam:{fam}", 1, 60)
    cache.set(f"revoked:ver:{user}", 3, 60)
    store = DjangoCacheRevocation()
    assert store.key_prefix == "revoked:"
    api = BoltAPI()

    @api.get("/me", auth=[JWTAuthentication(secret=SECRET, revocation_store=store)])
    async def me(request: Any) -> dict[str, Any]:
        return {"context": request.context is not None}

    with TestClient(api) as client:
        refused = client.get("/me", headers=_bearer(_token(jti=jti)))
    assert refused.json() == {"context": False}
    assert asyncio.run(store.is_family_revoked(fam))
    assert asyncio.run(store.get_user_version(user)) == 3
    asyncio.run(store.revoke("written-here", exp=None))
    assert cache.get("revoked:written-here") == 1


# --- 2. Access tokens of a pair carry a jti -------------------------------------------------------


def test_pair_access_token_passes_a_revocation_route_and_logout_revokes_it() -> None:
    store = InMemoryRevocation()
    api = BoltAPI()
    auth = [JWTAuthentication(secret=SECRET, revocation_store=store, trust_claims=True)]

    @api.get("/data", auth=auth, guards=[IsAuthenticated()])
    async def data() -> dict[str, bool]:
        return {"ok": True}

    @api.post("/logout", auth=auth, guards=[IsAuthenticated()])
    async def logout(request: Any) -> dict[str, str]:
        claims = request["context"]["auth_claims"]  # the docs' logout, as written for 0.13
        await store.revoke(claims["jti"], exp=claims.get("exp"))
        return {"status": "logged out"}

    pair = create_token_pair("5", secret=SECRET, method="pwd")
    with TestClient(api) as client:
        assert client.get("/data", headers=_bearer(pair.access_token)).json() == {"ok": True}
        assert client.post("/logout", headers=_bearer(pair.access_token)).status_code == 200
        refused = client.get("/data", headers=_bearer(pair.access_token))
    assert (refused.status_code, refused.json()) == (401, {"detail": "Token revoked"})


def test_every_access_token_gets_its_own_jti() -> None:
    store = InMemoryRevocation()
    first = create_token_pair("5", secret=SECRET)
    second = create_token_pair("5", secret=SECRET)
    rotated = asyncio.run(rotate_refresh_token(first.refresh_claims, store=store, secret=SECRET))
    access_only = asyncio.run(
        rotate_refresh_token(second.refresh_claims, store=store, secret=SECRET, rotate=False)
    )
    ids = [
        jwt.decode(p.access_token, SECRET, algorithms=["HS256"])["jti"]
        for p in (first, second, rotated, access_only)
    ]
    ids += [first.refresh_claims["jti"], second.refresh_claims["jti"]]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids)


# --- 3. A header of its own takes the bare token --------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "status", "detail"),
    [
        pytest.param("x-token", "{t}", 200, None, id="custom-bare"),
        pytest.param("x-token", "Bearer {t}", 200, None, id="custom-bearer"),
        pytest.param("x-token", "bearer  {t} ", 200, None, id="custom-bearer-any-case"),
        pytest.param("x-token", "Bearer ", 401, "Invalid token", id="custom-no-token"),
        pytest.param(
            "authorization", "{t}", 401, "Invalid authorization header", id="authorization-bare"
        ),
    ],
)
def test_custom_header_accepts_the_bare_token(
    header: str, value: str, status: int, detail: str | None
) -> None:
    api = BoltAPI()
    path = "/custom" if header == "x-token" else "/authorization"

    @api.get(
        path, auth=[JWTAuthentication(secret=SECRET, header=header)], guards=[IsAuthenticated()]
    )
    async def handler(request: Any) -> dict[str, Any]:
        return {"sub": request.auth["sub"]}

    with TestClient(api) as client:
        response = client.get(path, headers={header: value.format(t=_token())})
    assert response.status_code == status
    assert response.json() == ({"sub": "1"} if detail is None else {"detail": detail})


# --- 4. all_of / none_of take any collection but a string -----------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"a.x", "a.y"}, id="set"),
        pytest.param(frozenset({"a.x", "a.y"}), id="frozenset"),
        pytest.param(("a.x", "a.y"), id="tuple"),
        pytest.param(["a.x", "a.y"], id="list"),
    ],
)
def test_all_of_accepts_sets_tuples_and_lists(values: Any) -> None:
    api = _guarded(Requires("roles", all_of=values))
    with TestClient(api) as client:
        assert client.get("/r", headers=_bearer(_token(roles=["a.y", "a.x"]))).status_code == 200
        assert client.get("/r", headers=_bearer(_token(roles=["a.x"]))).status_code == 403
    excluded = _guarded(Requires("role", none_of=set(values)))
    with TestClient(excluded) as client:
        assert client.get("/r", headers=_bearer(_token(role="a.x"))).status_code == 403
        assert client.get("/r", headers=_bearer(_token(role="b"))).status_code == 200


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(set(), id="empty-set"),
        pytest.param(frozenset(), id="empty-frozenset"),
        pytest.param("ab", id="string"),
        pytest.param(b"ab", id="bytes"),
    ],
)
def test_all_of_still_refuses_empty_and_strings(given: Any) -> None:
    with pytest.raises(ImproperlyConfigured):
        Requires("roles", all_of=given)
    with pytest.raises(ImproperlyConfigured):
        Requires("roles", none_of=given)


# --- 5. Claims match with their JSON type --------------------------------------------------------


@pytest.mark.parametrize(
    ("guard", "claims", "status"),
    [
        pytest.param(Requires("beta", True), {"beta": True}, 200, id="bool-bool"),
        pytest.param(Requires("beta", True), {"beta": 1}, 403, id="bool-int"),
        pytest.param(Requires("beta", True), {"beta": 1.0}, 403, id="bool-float"),
        pytest.param(Requires("level", 1), {"level": 1}, 200, id="int-int"),
        pytest.param(Requires("level", 1), {"level": True}, 403, id="int-bool"),
        pytest.param(Requires("level", 1), {"level": 1.0}, 403, id="int-float"),
        pytest.param(Requires("level", 3), {"level": "3"}, 403, id="int-str"),
        pytest.param(Requires("score", 2.0), {"score": 2.0}, 200, id="float-float"),
        pytest.param(Requires("score", 2.0), {"score": 2}, 403, id="float-int"),
        pytest.param(Requires("code", "1"), {"code": 1}, 403, id="str-int"),
        pytest.param(Requires("flags", 1), {"flags": [True]}, 403, id="int-in-bool-list"),
        pytest.param(Requires("flags", 1), {"flags": [1]}, 200, id="int-in-int-list"),
        pytest.param(Requires("flags", True), {"flags": [1]}, 403, id="bool-in-int-list"),
        pytest.param(Requires("flags", all_of=[1, 2]), {"flags": [1, 2.0]}, 403, id="all-of"),
        pytest.param(Requires("level", none_of=[1]), {"level": True}, 200, id="none-of-bool"),
        pytest.param(Requires("level", none_of=[1]), {"level": 1}, 403, id="none-of-int"),
        pytest.param(Requires("is_staff", True), {"is_staff": True}, 200, id="flag-true"),
        pytest.param(Requires("is_staff"), {"is_staff": False}, 403, id="flag-false-absent"),
    ],
)
def test_claims_match_only_values_of_their_type(guard: Any, claims: Any, status: int) -> None:
    with TestClient(_guarded(guard)) as client:
        assert client.get("/r", headers=_bearer(_token(**claims))).status_code == status


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"is_staff": 1}, id="staff-int"),
        pytest.param({"is_staff": "yes"}, id="staff-str"),
        pytest.param({"is_superuser": "false"}, id="superuser-str-false"),
        pytest.param({"is_superuser": 1}, id="superuser-int"),
        pytest.param({"permissions": "blog.add"}, id="permissions-str"),
        pytest.param({"permissions": ["blog.add", 1]}, id="permissions-mixed"),
    ],
)
def test_a_token_with_mistyped_authority_claims_is_refused(claims: Any) -> None:
    # bool("false") is True: read as a flag, this token would be a superuser's.
    api = _guarded(IsAdminUser(), trust_claims=True)
    with TestClient(api) as client:
        response = client.get("/r", headers=_bearer(_token(**claims)))
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token"})


def test_null_authority_claims_count_as_absent() -> None:
    claims = {"is_staff": None, "is_superuser": None, "permissions": None}
    with TestClient(_guarded(IsAuthenticated())) as client:
        assert client.get("/r", headers=_bearer(_token(**claims))).status_code == 200


# --- 6. The API-key context --------------------------------------------------------------------


def test_api_key_context_names_the_key_without_revealing_it() -> None:
    api = BoltAPI()
    keys = APIKeyAuthentication(
        api_keys={"key-one-secret", "key-two-secret"},
        key_permissions={"key-one-secret": ["reports.view"]},
    )

    @api.get("/ctx", auth=[keys], guards=[IsAuthenticated()])
    async def ctx(request: Any) -> dict[str, Any]:
        return {"context": request.context, "user": request.user.id}

    with TestClient(api) as client:
        one = client.get("/ctx", headers={"x-api-key": "key-one-secret"}).json()
        again = client.get("/ctx", headers={"x-api-key": "key-one-secret"}).json()
        two = client.get("/ctx", headers={"x-api-key": "key-two-secret"}).json()
    context = one["context"]
    assert context == {
        "user_id": context["user_id"],
        "is_staff": False,
        "is_superuser": False,
        "auth_backend": "api_key",
        "auth_backend_index": 0,
        "permissions": ["reports.view"],
    }
    user_id = context["user_id"]
    assert user_id.startswith("apikey:") and "key-one" not in user_id
    assert one["user"] == user_id == again["context"]["user_id"]
    assert two["context"]["user_id"].startswith("apikey:") and two["context"]["user_id"] != user_id


# --- 7. request.user is the row; claim guards read the token -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_request_user_flags_are_the_rows_as_in_the_docs_delete_example() -> None:
    root = User.objects.create_user("root", is_superuser=True, is_staff=True)
    plain = User.objects.create_user("plain")
    api = BoltAPI()

    @api.delete(
        "/articles/{article_id}",
        auth=[JWTAuthentication(secret=SECRET)],
        guards=[IsAuthenticated()],
    )
    async def delete_article(request: Any, article_id: int) -> dict[str, Any]:
        user = request.user
        if user.id != -1 and not user.is_superuser:
            raise Forbidden(detail="You can only delete your own articles")
        return {"deleted": article_id, "context_superuser": request.context["is_superuser"]}

    pair = create_token_pair(root, secret=SECRET)  # no is_superuser claim, as every pair
    lying = _token(sub=str(plain.pk), is_superuser=True, is_staff=True)
    with TestClient(api) as client:
        allowed = client.delete("/articles/5", headers=_bearer(pair.access_token))
        refused = client.delete("/articles/5", headers=_bearer(lying))
    # The context keeps 0.13's reading of the token.
    assert allowed.json() == {"deleted": 5, "context_superuser": False}
    assert refused.status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("guard", "who", "claims", "status"),
    [
        pytest.param(IsAdminUser(), "root", {}, 200, id="admin-row-superuser"),
        pytest.param(IsAdminUser(), "plain", {"is_superuser": True}, 403, id="admin-claim-only"),
        pytest.param(IsStaff(), "staff", {}, 200, id="staff-row"),
        pytest.param(IsStaff(), "plain", {"is_staff": True}, 403, id="staff-claim-only"),
        pytest.param(
            Requires("is_superuser", True), "root", {}, 403, id="requires-reads-the-token"
        ),
        pytest.param(
            Requires("is_superuser", True),
            "plain",
            {"is_superuser": True},
            200,
            id="requires-claim",
        ),
    ],
)
def test_user_flag_guards_read_the_row_and_requires_reads_the_token(
    guard: Any, who: str, claims: dict[str, Any], status: int
) -> None:
    users = {
        "root": User.objects.create_user("root", is_superuser=True),
        "staff": User.objects.create_user("staff", is_staff=True),
        "plain": User.objects.create_user("plain"),
    }
    api = BoltAPI()

    @api.get("/r", auth=[JWTAuthentication(secret=SECRET)], guards=[guard])
    async def handler(request: Any) -> dict[str, Any]:
        return {"loaded": request.user.is_loaded}

    token = _token(sub=str(users[who].pk), **claims)
    with TestClient(api) as client:
        response = client.get("/r", headers=_bearer(token))
    assert response.status_code == status
    if status == 200:
        # A user-flag guard loaded the row (in the pool) once; the handler finds it loaded.
        assert response.json() == {"loaded": not isinstance(guard, Requires)}


def test_trust_claims_guards_ask_no_database() -> None:
    # No django_db mark: any query here would fail the test.
    admin = _guarded(IsAdminUser(), trust_claims=True)
    perm = _guarded(HasPermission("blog.add"))
    with TestClient(admin) as client:
        assert client.get("/r", headers=_bearer(_token(is_superuser=True))).status_code == 200
        assert client.get("/r", headers=_bearer(_token())).status_code == 403
    with TestClient(perm) as client:
        # HasPermission reads the token: its permissions, and is_superuser granting them all.
        assert (
            client.get("/r", headers=_bearer(_token(permissions=["blog.add"]))).status_code == 200
        )
        assert client.get("/r", headers=_bearer(_token(is_superuser=True))).status_code == 200
        assert client.get("/r", headers=_bearer(_token())).status_code == 403
