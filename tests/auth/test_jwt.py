"""JWTAuthentication: valid tokens, every refusal (with its detail), revocation, token creation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

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
from django_bolt.auth.base import AUTH_REQUIRED
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
    response = _get(
        JWTAuthentication(trust_claims=True, secret=SECRET), {"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "7"
    assert body["staff"] is True
    assert body["claims"]["scope"] == "x"


def test_secret_defaults_to_secret_key(settings: Any) -> None:
    settings.SECRET_KEY = "a-django-secret-key-long-enough-for-hs256"
    token = jwt.encode({"sub": "1"}, settings.SECRET_KEY, algorithm="HS256")
    response = _get(JWTAuthentication(trust_claims=True), {"Authorization": f"Bearer {token}"})
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


def _deep_header_token() -> str:
    nested = b"[" * 5_000 + b"]" * 5_000
    header = base64.urlsafe_b64encode(nested).rstrip(b"=").decode()
    return f"{header}.{_b64({'sub': '7'})}.c2ln"


HS = JWTAuthentication(trust_claims=True, secret=SECRET)
RS = JWTAuthentication(trust_claims=True, secret=RSA_PUBLIC, algorithms=["RS256"])


@pytest.mark.parametrize(
    ("auth", "header", "detail"),
    [
        pytest.param(HS, None, "Authentication required", id="missing-header"),
        pytest.param(HS, "Bearer " + _token(exp=int(time.time()) - 10), "Token expired", id="exp"),
        pytest.param(
            HS, "Bearer " + _token(nbf=int(time.time()) + 600), "Token not yet valid", id="nbf"
        ),
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, audience="api"),
            "Bearer " + _token(aud="other"),
            "Invalid token audience",
            id="wrong-aud",
        ),
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, issuer="me"),
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
        # Issue 12 (defect 7): the header is JSON decoded before any signature check.
        pytest.param(HS, "Bearer " + _deep_header_token(), "Invalid token", id="nested-header"),
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
    auth = JWTAuthentication(trust_claims=True, secret=SECRET, audience="api", issuer="me")
    response = _get(auth, {"Authorization": "Bearer " + _token(aud="api", iss="me")})
    assert response.status_code == 200


def test_leeway_accepts_recently_expired() -> None:
    auth = JWTAuthentication(trust_claims=True, secret=SECRET, leeway=60)
    response = _get(auth, {"Authorization": "Bearer " + _token(exp=int(time.time()) - 5)})
    assert response.status_code == 200


def test_custom_header() -> None:
    auth = JWTAuthentication(trust_claims=True, secret=SECRET, header="x-token")
    response = _get(auth, {"X-Token": "Bearer " + _token()})
    assert response.status_code == 200


def test_none_algorithm_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="none"):
        JWTAuthentication(trust_claims=True, secret=SECRET, algorithms=["HS256", "none"])


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
    auth = JWTAuthentication(trust_claims=True, secret=SECRET, revocation_store=store)
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
    with TestClient(
        _api(JWTAuthentication(trust_claims=True), [HasPermission("app.read")])
    ) as client:
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

    auth = JWTAuthentication(trust_claims=True, secret=SECRET)
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
    auth = JWTAuthentication(trust_claims=True, secret=SECRET)
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


# --- Django-Bolt 0.13's keywords -----------------------------------------------------------------

_EC = ec.generate_private_key(ec.SECP256R1())
EC_PRIVATE = _EC.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
EC_PUBLIC = _EC.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _cookie_api(*auth: JWTAuthentication) -> BoltAPI:
    api = BoltAPI()

    @api.get("/me", auth=list(auth), guards=[IsAuthenticated()])
    async def me(request):
        return {"id": request.user.id}

    @api.post("/me", auth=list(auth), guards=[IsAuthenticated()])
    async def change(request):
        return {"changed": request.user.id}

    return api


COOKIE = JWTAuthentication(trust_claims=True, secret=SECRET, cookie="access")


@pytest.mark.parametrize(
    ("cookies", "headers", "status", "detail"),
    [
        pytest.param({"access": _token()}, {}, 200, None, id="raw-token"),
        pytest.param({"access": "Bearer " + _token()}, {}, 200, None, id="bearer-prefix"),
        pytest.param(
            {}, {"Authorization": "Bearer " + _token()}, 401, AUTH_REQUIRED, id="header-ignored"
        ),
        pytest.param({"access": ""}, {}, 401, AUTH_REQUIRED, id="empty-cookie"),
        pytest.param({"other": _token()}, {}, 401, AUTH_REQUIRED, id="another-cookie"),
        pytest.param({"access": "junk"}, {}, 401, "Invalid token", id="bad-token"),
        pytest.param(
            {"access": _token(exp=int(time.time()) - 5)}, {}, 401, "Token expired", id="expired"
        ),
    ],
)
def test_cookie_token(cookies, headers, status, detail) -> None:
    with TestClient(_cookie_api(COOKIE), cookies=cookies) as client:
        response = client.get("/me", headers=headers)
    assert response.status_code == status
    assert response.json() == ({"id": "7"} if detail is None else {"detail": detail})


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 403, id="no-origin-signal"),
        pytest.param({"Sec-Fetch-Site": "same-origin"}, 200, id="fetch-same-origin"),
        pytest.param({"Sec-Fetch-Site": "none"}, 200, id="fetch-none"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, 403, id="fetch-cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, 403, id="fetch-same-site-subdomain"),
        pytest.param(
            {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
            403,
            id="fetch-header-wins-over-origin",
        ),
        pytest.param({"Origin": "http://testserver"}, 200, id="origin-same"),
        pytest.param({"Origin": "HTTP://TestServer:80"}, 200, id="origin-case-default-port"),
        pytest.param({"Origin": "https://testserver"}, 403, id="origin-other-scheme"),
        pytest.param({"Origin": "http://testserver:8080"}, 403, id="origin-other-port"),
        pytest.param({"Origin": "http://evil.example"}, 403, id="origin-other-host"),
        pytest.param({"Origin": "null"}, 403, id="origin-opaque"),
        pytest.param({"Origin": "http://x@testserver"}, 403, id="origin-with-userinfo"),
        pytest.param({"Referer": "http://testserver/form?a=1"}, 200, id="referer-same"),
        pytest.param({"Referer": "http://evil.example/testserver"}, 403, id="referer-other"),
        pytest.param(
            {"Origin": "http://evil.example", "Referer": "http://testserver/"},
            403,
            id="origin-wins-over-referer",
        ),
    ],
)
def test_cookie_token_csrf_on_unsafe_methods(headers, status) -> None:
    with TestClient(_cookie_api(COOKIE), cookies={"access": _token()}) as client:
        safe = client.get("/me", headers=headers)
        unsafe = client.post("/me", headers=headers)
        # The second time the token comes from the cache: the check still runs.
        again = client.post("/me", headers=headers)
    assert safe.status_code == 200
    assert unsafe.status_code == again.status_code == status
    if status == 403:
        assert unsafe.json() == {"detail": "CSRF Failed: the request did not come from this site"}
    else:
        assert unsafe.json() == {"changed": "7"}


def test_csrf_applies_only_to_the_credential_that_was_accepted() -> None:
    header = JWTAuthentication(trust_claims=True, secret=SECRET)
    cross_site = {"Sec-Fetch-Site": "cross-site"}
    with TestClient(_cookie_api(header, COOKIE)) as client:
        # A header token is not sent by the browser on its own: a stale cookie changes nothing.
        by_header = client.post(
            "/me",
            headers={**cross_site, "Authorization": "Bearer " + _token(), "Cookie": "access=old"},
        )
        by_cookie = client.post("/me", headers={**cross_site, "Cookie": f"access={_token()}"})
        # A cookie that does not verify is no credential: 401, not a CSRF refusal.
        bad_cookie = client.post("/me", headers={**cross_site, "Cookie": "access=junk"})
    assert by_header.status_code == 200
    assert by_cookie.status_code == 403
    assert (bad_cookie.status_code, bad_cookie.json()) == (401, {"detail": "Invalid token"})


def test_csrf_false_lets_cookie_tokens_through() -> None:
    auth = JWTAuthentication(trust_claims=True, secret=SECRET, cookie="access", csrf=False)
    with TestClient(_cookie_api(auth), cookies={"access": _token()}) as client:
        response = client.post("/me", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200


def test_keywords_take_django_bolts_positional_order() -> None:
    # (secret, algorithms, header, cookie, audience, issuer, ...) as in Django-Bolt 0.13.
    auth = JWTAuthentication(
        SECRET, None, "authorization", "access", "api", "me", trust_claims=True
    )
    assert (auth.algorithms, auth.cookie, auth.audience, auth.issuer, auth.leeway) == (
        ["HS256"],
        "access",
        "api",
        "me",
        0,
    )
    with TestClient(_cookie_api(auth), cookies={"access": _token(aud="api", iss="me")}) as client:
        assert client.get("/me").json() == {"id": "7"}


@pytest.mark.parametrize(
    ("algorithm", "private", "public"),
    [
        pytest.param("RS256", RSA_PRIVATE, RSA_PUBLIC, id="rs256"),
        pytest.param("PS256", RSA_PRIVATE, RSA_PUBLIC, id="ps256"),
        pytest.param("ES256", EC_PRIVATE, EC_PUBLIC, id="es256"),
        pytest.param(
            "RS256", RSA_PRIVATE, RSA_PRIVATE, id="private-pem-verifies-by-its-public-half"
        ),
        pytest.param("RS256", RSA_PRIVATE, RSA_PUBLIC.decode(), id="pem-as-str"),
    ],
)
def test_public_key_verifies_asymmetric_tokens(algorithm, private, public) -> None:
    auth = JWTAuthentication(trust_claims=True, public_key=public, algorithms=[algorithm])
    token = jwt.encode({"sub": "9", "exp": int(time.time()) + 60}, private, algorithm=algorithm)
    assert _get(auth, {"Authorization": f"Bearer {token}"}).json()["id"] == "9"
    # A token signed by another key, and an HS256 token made with the public key as a secret.
    other = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "ES256"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    forged = jwt.encode({"sub": "9"}, other, algorithm=algorithm)
    refused = _get(auth, {"Authorization": f"Bearer {forged}"})
    assert refused.json() == {"detail": "Invalid token signature"}
    confused = _get(auth, {"Authorization": f"Bearer {_confused_token()}"})
    assert confused.json() == {"detail": "Token algorithm not allowed"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"secret": SECRET, "public_key": RSA_PUBLIC}, "not both", id="two-keys"),
        pytest.param({"secret": ""}, "empty", id="empty-secret"),
        pytest.param({"algorithms": []}, "at least one", id="no-algorithm"),
        pytest.param({"algorithms": ["HS256", "none"]}, "none", id="none"),
        pytest.param({"algorithms": ["HS999"]}, "unsupported", id="unknown-algorithm"),
        pytest.param(
            {"public_key": RSA_PUBLIC, "algorithms": ["RS256", "ES256"]},
            "mix key types",
            id="mixed-asymmetric",
        ),
        pytest.param({"algorithms": ["HS256", "RS256"]}, "mix key types", id="hmac-and-rsa"),
        pytest.param({"algorithms": ["RS256"]}, "needs public_key", id="asymmetric-no-key"),
        pytest.param(
            {"public_key": b"not a key", "algorithms": ["RS256"]}, "not a usable", id="bad-pem"
        ),
        pytest.param(
            {"public_key": RSA_PUBLIC, "algorithms": ["ES256"]}, "not a usable", id="wrong-curve"
        ),
        pytest.param({"public_key": RSA_PUBLIC}, "asymmetric", id="public-key-with-hs256"),
        pytest.param({"leeway": -1}, "leeway", id="negative-leeway"),
        pytest.param({"jwks_url": "https://idp.example/jwks"}, "needs issuer= and", id="jwks_url"),
        pytest.param({"jwks": {"keys": []}}, "no RSA signing key", id="jwks"),
        pytest.param({"oidc_issuer": "https://idp.example"}, "needs audience=", id="oidc"),
        pytest.param({"jwks_refresh_interval": 0}, "jwks_refresh_interval", id="refresh-0"),
        pytest.param({"revocation_store": object()}, "is_revoked", id="store-without-lookup"),
        pytest.param({"revoked_token_handler": "x"}, "callable", id="handler-not-callable"),
    ],
)
def test_configuration_mistakes_stop_start_up(kwargs, message) -> None:
    # ImproperlyConfigured (Django-Bolt's type) and ValueError (ours before) both catch it.
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        JWTAuthentication(trust_claims=True, **kwargs)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("auth", "claims", "detail"),
    [
        pytest.param(HS, {}, None, id="no-type"),
        pytest.param(HS, {"typ": "access"}, None, id="access"),
        pytest.param(HS, {"token_type": 5}, None, id="non-string-type-ignored"),
        pytest.param(HS, {"typ": "refresh"}, "Invalid token type", id="refresh"),
        pytest.param(HS, {"typ": "Refresh"}, "Invalid token type", id="keycloak-refresh"),
        pytest.param(HS, {"typ": "Offline"}, "Invalid token type", id="keycloak-offline"),
        pytest.param(HS, {"typ": "ID"}, "Invalid token type", id="keycloak-id"),
        pytest.param(HS, {"token_type": "refresh"}, "Invalid token type", id="simplejwt-refresh"),
        pytest.param(HS, {"token_use": "id"}, "Invalid token type", id="cognito-id"),
        pytest.param(
            HS, {"typ": "access", "token_use": "refresh"}, "Invalid token type", id="any-claim"
        ),
    ],
)
def test_access_routes_refuse_refresh_and_id_tokens(auth, claims, detail) -> None:
    response = _get(auth, {"Authorization": "Bearer " + _token(**claims)})
    if detail is None:
        assert (response.status_code, response.json()["id"]) == (200, "7")
    else:
        assert (response.status_code, response.json()) == (401, {"detail": detail})


REFRESH = JWTAuthentication(trust_claims=True, secret=SECRET, token_type="refresh")


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        pytest.param({"typ": "refresh"}, True, id="typ"),
        pytest.param({"typ": "refresh", "token_type": "refresh"}, True, id="claims-agree"),
        pytest.param({"typ": "Refresh"}, False, id="exact-case"),
        pytest.param({"typ": "access"}, False, id="access"),
        pytest.param({}, False, id="no-typ"),
        pytest.param({"token_type": "refresh"}, False, id="only-token_type"),
        pytest.param({"typ": "refresh", "token_type": "access"}, False, id="claims-disagree"),
    ],
)
def test_token_type_demands_that_typ(claims, accepted) -> None:
    response = _get(REFRESH, {"Authorization": "Bearer " + _token(**claims)})
    assert response.status_code == (200 if accepted else 401)
    if not accepted:
        assert response.json() == {"detail": "Invalid token type"}


@pytest.mark.parametrize(
    ("auth", "jti", "status"),
    [
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, require_jti=True),
            "a1",
            200,
            id="has-jti",
        ),
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, require_jti=True),
            None,
            401,
            id="no-jti",
        ),
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, require_jti=True),
            "",
            401,
            id="empty-jti",
        ),
        # PyJWT itself refuses a jti that is not a string.
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, require_jti=True),
            5,
            401,
            id="number",
        ),
        pytest.param(
            JWTAuthentication(
                trust_claims=True, secret=SECRET, revocation_store=InMemoryRevocationStore()
            ),
            None,
            401,
            id="implied-by-a-store",
        ),
        pytest.param(HS, None, 200, id="not-required"),
    ],
)
def test_require_jti(auth, jti, status) -> None:
    response = _get(auth, {"Authorization": "Bearer " + _token(jti=jti)})
    assert response.status_code == status
    if status == 401:
        detail = "Invalid token" if isinstance(jti, int) else "Token has no jti"
        assert response.json() == {"detail": detail}


class _AsyncStore:
    """A Django-Bolt-style store: ``async is_revoked`` and no ``is_async`` flag."""

    def __init__(self, revoked: set[str]) -> None:
        self.revoked = revoked

    async def is_revoked(self, jti: str) -> bool:
        await asyncio.sleep(0)
        return jti in self.revoked


def _handlers() -> list[Any]:
    async def by_jti(jti):
        return jti == "gone"

    async def by_claims(jti, claims):
        # e.g. a session that ended: the claims say which one.
        return claims.get("sid") == "ended"

    def sync_handler(jti):
        return jti == "gone"

    return [by_jti, by_claims, sync_handler]


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(
            JWTAuthentication(trust_claims=True, secret=SECRET, revoked_token_handler=h),
            id=h.__name__,
        )
        for h in _handlers()
    ]
    + [
        pytest.param(
            JWTAuthentication(
                trust_claims=True, secret=SECRET, revocation_store=_AsyncStore({"gone"})
            ),
            id="async-store",
        )
    ],
)
def test_revoked_token_handler_runs_on_every_request(auth) -> None:
    kept = _token(jti="kept")
    revoked = _token(jti="gone", sid="ended")
    assert auth.require_jti
    with TestClient(_api(auth)) as client:
        for _ in range(2):  # the second time from the cache
            assert client.get("/me", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
            response = client.get("/me", headers={"Authorization": f"Bearer {revoked}"})
            assert (response.status_code, response.json()) == (401, {"detail": "Token revoked"})


def test_leeway_is_zero_by_default() -> None:
    # Django-Bolt allows 60 seconds; this framework none unless asked (see docs/api.md).
    response = _get(HS, {"Authorization": "Bearer " + _token(exp=int(time.time()) - 2)})
    assert response.json() == {"detail": "Token expired"}
