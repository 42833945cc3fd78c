"""JWTAuthentication: valid tokens, every refusal (with its detail), revocation, token creation."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_bolt import BoltAPI
from django_bolt.auth import (
    DjangoCacheRevocationStore,
    HasPermission,
    InMemoryRevocationStore,
    IsAdminUser,
    IsAuthenticated,
    JWTAuthentication,
    create_jwt_for_user,
)
from django_bolt.testing import TestClient

SECRET = "jwt-tests-secret-at-least-32-bytes-long"

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PRIVATE = _RSA.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
RSA_PUBLIC = _RSA.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(**claims: Any) -> str:
    base = {"sub": "7", "exp": int(time.time()) + 600}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def _api(auth: JWTAuthentication, guards: list[Any] | None = None) -> BoltAPI:
    api = BoltAPI()

    @api.get("/me", auth=[auth], guards=guards if guards is not None else [IsAuthenticated()])
    async def me(request):
        user = request.user
        return {"id": user.id, "staff": user.is_staff, "claims": request.auth}

    return api


def _get(auth: JWTAuthentication, headers: dict[str, str]) -> Any:
    with TestClient(_api(auth)) as client:
        return client.get("/me", headers=headers)


def test_valid_token_sets_user_and_claims() -> None:
    token = _token(is_staff=True, scope="x")
    response = _get(JWTAuthentication(secret=SECRET), {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "7"
    assert body["staff"] is True
    assert body["claims"]["scope"] == "x"


def test_secret_defaults_to_secret_key(settings: Any) -> None:
    settings.SECRET_KEY = "a-django-secret-key-long-enough-for-hs256"
    token = jwt.encode({"sub": "1"}, settings.SECRET_KEY, algorithm="HS256")
    response = _get(JWTAuthentication(), {"Authorization": f"Bearer {token}"})
    assert response.json()["id"] == "1"


def _none_token() -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': '7'})}."


def _confused_token() -> str:
    # HS256 signed with the RSA *public* key: accepted by a verifier that lets the token
    # choose the algorithm and uses the public key as an HMAC secret.
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64({"sub": "7", "exp": int(time.time()) + 600})
    import hashlib
    import hmac

    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(RSA_PUBLIC, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


HS = JWTAuthentication(secret=SECRET)
RS = JWTAuthentication(secret=RSA_PUBLIC, algorithms=["RS256"])


@pytest.mark.parametrize(
    ("auth", "header", "detail"),
    [
        pytest.param(HS, None, "Authentication required", id="missing-header"),
        pytest.param(HS, "Bearer " + _token(exp=int(time.time()) - 10), "Token expired", id="exp"),
        pytest.param(
            HS, "Bearer " + _token(nbf=int(time.time()) + 600), "Token not yet valid", id="nbf"
        ),
        pytest.param(
            JWTAuthentication(secret=SECRET, audience="api"),
            "Bearer " + _token(aud="other"),
            "Invalid token audience",
            id="wrong-aud",
        ),
        pytest.param(
            JWTAuthentication(secret=SECRET, issuer="me"),
            "Bearer " + _token(iss="them"),
            "Invalid token issuer",
            id="wrong-iss",
        ),
        pytest.param(HS, "Bearer " + _none_token(), "Token algorithm not allowed", id="alg-none"),
        pytest.param(
            HS,
            "Bearer " + jwt.encode({"sub": "7"}, "k" * 64, algorithm="HS512"),
            "Token algorithm not allowed",
            id="alg-outside-list",
        ),
        pytest.param(
            RS, "Bearer " + _token(), "Token algorithm not allowed", id="hs256-against-rs256"
        ),
        pytest.param(
            RS, "Bearer " + _confused_token(), "Token algorithm not allowed", id="rs-hs-confusion"
        ),
        pytest.param(
            HS,
            "Bearer " + jwt.encode({"sub": "7"}, "another-secret-32-bytes-long-xxxx"),
            "Invalid token signature",
            id="wrong-secret",
        ),
        pytest.param(HS, "Bearer not.a.token", "Invalid token", id="malformed"),
        pytest.param(HS, "Bearer abc", "Invalid token", id="malformed-one-part"),
        pytest.param(HS, _token(), "Invalid authorization header", id="no-bearer-prefix"),
        pytest.param(HS, "Basic dXNlcjpwYXNz", "Invalid authorization header", id="basic-scheme"),
    ],
)
def test_refused(auth: JWTAuthentication, header: str | None, detail: str) -> None:
    response = _get(auth, {"Authorization": header} if header is not None else {})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


def test_rs256_valid() -> None:
    token = jwt.encode({"sub": "9"}, RSA_PRIVATE, algorithm="RS256")
    response = _get(RS, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["id"] == "9"


def test_confused_token_would_pass_a_naive_verifier() -> None:
    # The crafted token really is a valid HS256 signature under the public key bytes: the
    # refusal above comes from the algorithm list, not from a broken token.
    token = _confused_token()
    header, payload, sig = token.split(".")
    import hashlib
    import hmac

    expected = hmac.new(RSA_PUBLIC, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(sig + "==") == expected


def test_audience_and_issuer_accepted() -> None:
    auth = JWTAuthentication(secret=SECRET, audience="api", issuer="me")
    response = _get(auth, {"Authorization": "Bearer " + _token(aud="api", iss="me")})
    assert response.status_code == 200


def test_leeway_accepts_recently_expired() -> None:
    auth = JWTAuthentication(secret=SECRET, leeway=60)
    response = _get(auth, {"Authorization": "Bearer " + _token(exp=int(time.time()) - 5)})
    assert response.status_code == 200


def test_custom_header() -> None:
    auth = JWTAuthentication(secret=SECRET, header="x-token")
    response = _get(auth, {"X-Token": "Bearer " + _token()})
    assert response.status_code == 200


def test_none_algorithm_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="none"):
        JWTAuthentication(secret=SECRET, algorithms=["HS256", "none"])


@pytest.mark.parametrize(
    ("claims", "guard", "status"),
    [
        pytest.param({"is_superuser": True}, IsAdminUser(), 200, id="superuser-claim"),
        pytest.param({}, IsAdminUser(), 403, id="no-superuser-claim"),
        pytest.param({"permissions": ["app.read"]}, HasPermission("app.read"), 200, id="perm"),
        pytest.param({"permissions": ["app.read"]}, HasPermission("app.x"), 403, id="no-perm"),
    ],
)
def test_claims_drive_guards(claims: dict[str, Any], guard: Any, status: int) -> None:
    with TestClient(_api(HS, [guard])) as client:
        response = client.get("/me", headers={"Authorization": "Bearer " + _token(**claims)})
    assert response.status_code == status


@pytest.fixture(params=["memory", "cache"])
def store(request: pytest.FixtureRequest, settings: Any) -> Any:
    if request.param == "memory":
        return InMemoryRevocationStore()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    return DjangoCacheRevocationStore()


def test_revoked_jti(store: Any) -> None:
    auth = JWTAuthentication(secret=SECRET, revocation_store=store)
    kept, revoked = _token(jti="keep-1"), _token(jti="gone-1")
    store.revoke("gone-1", expires_at=time.time() + 600)
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
        response = client.get("/me", headers={"Authorization": f"Bearer {revoked}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Token revoked"}


def test_create_jwt_for_user_round_trip(settings: Any) -> None:
    settings.SECRET_KEY = "a-django-secret-key-long-enough-for-hs256"

    class User:
        pk = 42
        username = "ann"
        is_staff = True
        is_superuser = False

    token = create_jwt_for_user(User(), extra_claims={"permissions": ["app.read"]})
    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == "42"
    assert claims["username"] == "ann"
    assert claims["is_staff"] is True
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    with TestClient(_api(JWTAuthentication(), [HasPermission("app.read")])) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["id"] == "42"


def test_create_jwt_for_user_expiry_and_secret() -> None:
    class User:
        id = 1

    token = create_jwt_for_user(User(), secret=SECRET, expires_in=-10)
    response = _get(HS, {"Authorization": f"Bearer {token}"})
    assert response.json() == {"detail": "Token expired"}


def test_request_context_has_django_bolt_shape() -> None:
    api = BoltAPI()

    @api.get("/ctx", auth=[HS])
    async def ctx(request):
        return {"context": request.context}

    with TestClient(api) as client:
        context = client.get("/ctx", headers={"Authorization": "Bearer " + _token()}).json()
        anonymous = client.get("/ctx").json()
    assert context["context"]["user_id"] == "7"
    assert context["context"]["auth_backend"] == "jwt"
    assert context["context"]["auth_backend_index"] == 0
    assert context["context"]["is_staff"] is False
    assert context["context"]["is_superuser"] is False
    assert context["context"]["auth_claims"]["sub"] == "7"
    assert anonymous == {"context": None}


def test_verified_token_cache_still_checks_time_and_isolates_claims(monkeypatch: Any) -> None:
    import django_bolt.auth.jwt as jwt_module

    auth = JWTAuthentication(secret=SECRET)
    api = BoltAPI()

    @api.get("/edit", auth=[auth], guards=[IsAuthenticated()])
    async def edit(request):
        seen = request.auth.get("mark")
        request.auth["mark"] = "handler wrote this"
        return {"seen": seen}

    exp = int(time.time()) + 600
    token = _token(exp=exp, nbf=int(time.time()) - 5)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(api) as client:
        assert client.get("/edit", headers=headers).json() == {"seen": None}
        # Second time from the cache: the first handler's edit is not visible.
        assert client.get("/edit", headers=headers).json() == {"seen": None}

        class Later:
            @staticmethod
            def time() -> float:
                return exp + 1.0

        monkeypatch.setattr(jwt_module, "time", Later)
        response = client.get("/edit", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Token expired"}


def test_cached_token_is_still_read_from_each_headers_spelling() -> None:
    """The cache is keyed by the raw header value: a token verified once under "Bearer" is
    not accepted under another scheme, and other spellings of "Bearer" still parse."""
    auth = JWTAuthentication(secret=SECRET)
    token = _token()
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        refused = client.get("/me", headers={"Authorization": f"Basic {token}"})
        assert refused.status_code == 401
        assert refused.json() == {"detail": "Invalid authorization header"}
        for spelling in (f"bearer {token}", f"BEARER   {token}  "):
            response = client.get("/me", headers={"Authorization": spelling})
            assert response.status_code == 200, spelling
            assert response.json()["id"] == "7"
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        tampered = client.get("/me", headers={"Authorization": f"Bearer {forged}"})
        assert tampered.status_code == 401
