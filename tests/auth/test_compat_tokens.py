"""Token pairs, rotation with reuse detection, logout everywhere, session caps, and the three
revocation stores (memory, Django cache, Django ORM) under Django-Bolt 0.13's names."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt.auth import (
    DjangoCacheRevocation,
    DjangoORMRevocation,
    InMemoryRevocation,
    IsAuthenticated,
    JWTAuthentication,
    JWTAuthViews,
    TokenRotationError,
    create_token_pair,
    rotate_refresh_token,
)
from django_bolt.testing import TestClient

SECRET = "compat-tokens-secret-at-least-32-bytes!"

STORES = ["memory", "cache", "orm"]


def _store(kind: str) -> Any:
    if kind == "memory":
        return InMemoryRevocation()
    if kind == "cache":
        return DjangoCacheRevocation(key_prefix=f"t{time.monotonic_ns()}:")
    return DjangoORMRevocation()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_store_revoke_consume_and_families(kind: str) -> None:
    store = _store(kind)

    async def scenario() -> None:
        assert not await store.is_revoked("a")
        await store.revoke("a", exp=time.time() + 60)
        assert await store.is_revoked("a")
        assert await store.consume("b", exp=time.time() + 60)
        assert not await store.consume("b", exp=time.time() + 60)  # only the first caller
        assert await store.is_revoked("b")
        await store.revoke("gone", exp=time.time() - 5)  # already expired: nothing kept
        assert not await store.is_revoked("gone")
        assert not await store.is_family_revoked("f")
        await store.revoke_family("f")
        assert await store.is_family_revoked("f")

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["memory", "cache"])
def test_user_versions(kind: str) -> None:
    store = _store(kind)

    async def scenario() -> list[int]:
        return [
            await store.get_user_version("9"),
            await store.bump_user_version("9"),
            await store.bump_user_version("9"),
            await store.get_user_version("9"),
        ]

    assert asyncio.run(scenario()) == [0, 1, 2, 2]


def test_cache_store_refuses_a_cache_without_atomic_add(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    store = DjangoCacheRevocation(cache_alias="dummy")
    with pytest.raises(ImproperlyConfigured, match="atomic"):
        asyncio.run(store.consume("x"))


def test_orm_store_model_label_is_checked() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"app_label\.ModelName"):
        DjangoORMRevocation(model="a.b.c")
    with pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"):
        asyncio.run(DjangoORMRevocation(model="nowhere.Model").is_revoked("x"))


@pytest.mark.django_db(transaction=True)
def test_orm_store_rejects_tokens_through_jwt_authentication() -> None:
    store = DjangoORMRevocation()
    api = BoltAPI()
    auth = JWTAuthentication(secret=SECRET, revocation_store=store, trust_claims=True)

    @api.get("/me", auth=[auth], guards=[IsAuthenticated()])
    async def me(request: Any) -> dict[str, Any]:
        return {"sub": request.auth["sub"]}

    @api.post("/logout", auth=[auth], guards=[IsAuthenticated()])
    async def logout(request: Any) -> dict[str, bool]:
        claims = request["context"]["auth_claims"]
        await store.revoke(claims["jti"], exp=claims["exp"])
        return {"ok": True}

    pair = create_token_pair("3", secret=SECRET)
    headers = {"Authorization": f"Bearer {pair.refresh_token}"}
    access = {"Authorization": f"Bearer {pair.access_token}"}
    with TestClient(api) as client:
        # The access token has its own jti: it passes until a logout revokes it.
        assert client.get("/me", headers=access).json() == {"sub": "3"}
        assert client.post("/logout", headers=access).json() == {"ok": True}
        assert client.get("/me", headers=access).json() == {"detail": "Token revoked"}
        # The refresh token is refused on an access route whatever the store says.
        assert client.get("/me", headers=headers).json() == {"detail": "Invalid token type"}
    token = create_token_pair("3", secret=SECRET).refresh_claims
    assert asyncio.run(store.consume(token["jti"], exp=token["exp"]))
    assert store.purge_expired() == 0


def test_pair_claims_and_reserved_names() -> None:
    pair = create_token_pair("8", secret=SECRET, method="pwd", claims={"role": "x"}, version=2)
    assert pair.access_claims["typ"] == "access" and pair.refresh_claims["typ"] == "refresh"
    assert pair.access_claims["amr"] == ["pwd"] and pair.access_claims["ver"] == 2
    assert {"jti", "fam"} <= set(pair.refresh_claims) and "fam" not in pair.access_claims
    assert pair.access_claims["jti"] != pair.refresh_claims["jti"]
    assert pair.refresh_claims["exp"] - pair.refresh_claims["iat"] == 86400 * 7
    assert pair.access_claims["exp"] - pair.access_claims["iat"] == 900
    with pytest.raises(ValueError, match="reserved"):
        create_token_pair("8", secret=SECRET, claims={"ver": 0})


@pytest.mark.parametrize("kind", ["memory", "cache"])
def test_rotation_reuse_versions_and_session_cap(kind: str) -> None:
    store = _store(kind)

    async def scenario() -> None:
        first = create_token_pair("4", secret=SECRET, method="pwd")
        second = await rotate_refresh_token(first.refresh_claims, store=store, secret=SECRET)
        assert second.refresh_claims["fam"] == first.refresh_claims["fam"]
        assert second.refresh_claims["jti"] != first.refresh_claims["jti"]
        assert second.access_claims["amr"] == ["pwd"]
        assert second.access_claims["oat"] == first.access_claims["oat"]
        # The first token again: reuse, so the family dies and the second one with it.
        with pytest.raises(TokenRotationError, match="reused"):
            await rotate_refresh_token(first.refresh_claims, store=store, secret=SECRET)
        with pytest.raises(TokenRotationError, match="family revoked"):
            await rotate_refresh_token(second.refresh_claims, store=store, secret=SECRET)
        # Log out everywhere: a pair minted before the bump no longer rotates.
        fresh = create_token_pair("4", secret=SECRET)
        await store.bump_user_version("4")
        with pytest.raises(TokenRotationError, match="version"):
            await rotate_refresh_token(fresh.refresh_claims, store=store, secret=SECRET)
        current = create_token_pair("4", secret=SECRET, version=1)
        # The session cap: the new access token never outlives it, and past it rotation stops.
        capped = await rotate_refresh_token(
            current.refresh_claims, store=store, secret=SECRET, max_session_lifetime=100
        )
        assert capped.access_claims["exp"] - capped.access_claims["iat"] <= 100
        old = create_token_pair("4", secret=SECRET, version=1, oat=int(time.time()) - 200)
        with pytest.raises(TokenRotationError, match="maximum lifetime"):
            await rotate_refresh_token(
                old.refresh_claims, store=store, secret=SECRET, max_session_lifetime=100
            )
        no_oat = dict(current.refresh_claims, jti="other")
        del no_oat["oat"]
        with pytest.raises(TokenRotationError, match="origin"):
            await rotate_refresh_token(no_oat, store=store, secret=SECRET, max_session_lifetime=100)
        # rotate=False: an access token only, the refresh token stays usable.
        keep = create_token_pair("4", secret=SECRET, version=1)
        only = await rotate_refresh_token(
            keep.refresh_claims, store=store, secret=SECRET, rotate=False
        )
        assert only.refresh_token == "" and only.access_claims["typ"] == "access"
        await rotate_refresh_token(keep.refresh_claims, store=store, secret=SECRET, rotate=False)

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_jwt_auth_views_login_refresh_reuse_logout() -> None:
    User.objects.create_user("cat", password="pw-123456")
    store = InMemoryRevocation()
    api = BoltAPI()
    JWTAuthViews(store=store, secret=SECRET, secure_cookies=False).register(api)

    @api.get("/me", auth=[JWTAuthentication(secret=SECRET, cookie="access_token")])
    async def me(request: Any) -> dict[str, Any]:
        user = await request.auser()
        return {"username": user.username}

    with TestClient(api) as client:
        bad = client.post("/auth/login", json={"username": "cat", "password": "nope"})
        assert bad.status_code == 401
        login = client.post("/auth/login", json={"username": "cat", "password": "pw-123456"})
        assert login.status_code == 200
        set_cookie = login.headers.get_list("set-cookie")
        assert any("refresh_token=" in c and "Path=/auth" in c for c in set_cookie)
        assert all("HttpOnly" in c for c in set_cookie)
        assert client.get("/me").json() == {"username": "cat"}
        first_refresh = client.cookies.get("refresh_token")
        headers = {"Origin": "http://testserver"}
        assert client.post("/auth/refresh", headers=headers).status_code == 200
        second_refresh = client.cookies.get("refresh_token")
        assert second_refresh != first_refresh
        # Replaying the rotated-out token revokes the family: the current one dies too.
        client.cookies.set("refresh_token", first_refresh, path="/auth")
        assert client.post("/auth/refresh", headers=headers).status_code == 401
        client.cookies.set("refresh_token", second_refresh, path="/auth")
        assert client.post("/auth/refresh", headers=headers).status_code == 401
        # A new login, then log out everywhere: its refresh token no longer rotates.
        client.cookies.clear()
        client.post("/auth/login", json={"username": "cat", "password": "pw-123456"})
        token = client.cookies.get("refresh_token")
        assert client.post("/auth/logout-all", headers=headers).status_code == 200
        client.cookies.set("refresh_token", token, path="/auth")
        assert client.post("/auth/refresh", headers=headers).status_code == 401
        # Logout revokes this session's family.
        client.cookies.clear()
        client.post("/auth/login", json={"username": "cat", "password": "pw-123456"})
        token = client.cookies.get("refresh_token")
        assert client.post("/auth/logout", headers=headers).status_code == 200
        client.cookies.set("refresh_token", token, path="/auth")
        assert client.post("/auth/refresh", headers=headers).status_code == 401
