"""JWKS and OpenID Connect: keys fetched from a local HTTP server started by the test, cached,
selected by kid, rotated, with the algorithms pinned."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

from django_bolt import BoltAPI
from django_bolt.auth import IsAuthenticated, JWTAuthentication, jwks as jwks_module
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

ISSUER_PATH = "/tenant"
AUDIENCE = "my-api"


def _key(kid: str) -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return private, public


class Provider:
    """An identity provider on 127.0.0.1: a JWKS document and an OIDC discovery document."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = {"jwks": 0, "discovery": 0}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/jwks.json":
                    provider.hits["jwks"] += 1
                    body = {"keys": provider.keys}
                elif self.path == ISSUER_PATH + "/.well-known/openid-configuration":
                    provider.hits["discovery"] += 1
                    body = {
                        "issuer": provider.issuer,
                        "jwks_uri": provider.url + "/jwks.json",
                        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
                    }
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.url + ISSUER_PATH
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, private: Any, kid: str | None, **claims: Any) -> dict[str, str]:
        body = {"sub": "1", "iss": self.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 60}
        body.update(claims)
        headers = {"kid": kid} if kid is not None else {}
        token = jwt.encode(body, private, algorithm="RS256", headers=headers)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    idp = Provider()
    yield idp
    idp.server.shutdown()
    idp.server.server_close()


def _api(auth: JWTAuthentication) -> BoltAPI:
    api = BoltAPI()

    @api.get("/me", auth=[auth], guards=[IsAuthenticated()])
    async def me(request: Any) -> dict[str, Any]:
        return {"sub": request.auth["sub"]}

    return api


def test_jwks_url_fetch_cache_kid_selection_and_rotation(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    key1, jwk1 = _key("k1")
    key2, jwk2 = _key("k2")
    provider.keys = [jwk1]
    auth = JWTAuthentication(
        jwks_url=provider.url + "/jwks.json",
        algorithms=["RS256"],
        issuer=provider.issuer,
        audience=AUDIENCE,
        trust_claims=True,
    )
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers=provider.token(key1, "k1")).json() == {"sub": "1"}
        assert provider.hits["jwks"] == 1
        for _ in range(3):  # cached: no fetch per request
            assert client.get("/me", headers=provider.token(key1, "k1", sub="2")).status_code == 200
        assert provider.hits["jwks"] == 1
        # The provider rotates to k2: a token naming it starts a refresh and is accepted.
        provider.keys = [jwk1, jwk2]
        assert client.get("/me", headers=provider.token(key2, "k2")).status_code == 200
        assert provider.hits["jwks"] == 2
        # Made-up kids: at most one refresh per cooldown, the rest refused at once.
        for n in range(5):
            response = client.get("/me", headers=provider.token(key2, f"bogus-{n}"))
            assert response.status_code == 401
            assert response.json() == {"detail": "Unknown signing key"}
        assert provider.hits["jwks"] == 2
        # A token signed by k1's key but naming k2: the signature does not verify.
        assert client.get("/me", headers=provider.token(key1, "k2")).status_code == 401
        # The cooldown over, an unknown kid may refresh again.
        monkeypatch.setattr(jwks_module, "UNKNOWN_KID_COOLDOWN", 0.0)
        auth._remote._unknown_kid_after = 0.0  # type: ignore[union-attr]
        assert client.get("/me", headers=provider.token(key2, "k3")).status_code == 401
        assert provider.hits["jwks"] == 3


def test_algorithms_are_pinned(provider: Provider) -> None:
    key1, jwk1 = _key("k1")
    provider.keys = [jwk1, {"kty": "oct", "kid": "h", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}]
    auth = JWTAuthentication(
        jwks_url=provider.url + "/jwks.json",
        algorithms=["RS256"],
        issuer=provider.issuer,
        audience=AUDIENCE,
        trust_claims=True,
    )
    hs = jwt.encode(
        {"sub": "1", "iss": provider.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 60},
        "secret-secret-secret-secret-secret-xx",
        algorithm="HS256",
        headers={"kid": "h"},
    )
    none_alg = jwt.encode({"sub": "1"}, None, algorithm="none", headers={"kid": "k1"})
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers=provider.token(key1, "k1")).status_code == 200
        # The oct key is never used: an HS256 token naming it finds no key.
        assert client.get("/me", headers={"Authorization": f"Bearer {hs}"}).status_code == 401
        assert client.get("/me", headers={"Authorization": f"Bearer {none_alg}"}).status_code == 401
        wrong_audience = provider.token(key1, "k1", aud="someone-else")
        assert client.get("/me", headers=wrong_audience).json() == {
            "detail": "Invalid token audience"
        }


def test_oidc_discovery(provider: Provider) -> None:
    key1, jwk1 = _key("k1")
    provider.keys = [jwk1]
    auth = JWTAuthentication(oidc_issuer=provider.issuer, audience=AUDIENCE, trust_claims=True)
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers=provider.token(key1, "k1")).status_code == 200
        other_issuer = provider.token(key1, "k1", iss="https://elsewhere")
        assert client.get("/me", headers=other_issuer).json() == {"detail": "Invalid token issuer"}
    assert provider.hits == {"jwks": 1, "discovery": 1}
    # Only the asymmetric algorithms the provider advertised are accepted.
    assert auth._remote.algorithms == ["RS256"]  # type: ignore[union-attr]


def test_a_provider_outage_keeps_the_last_good_keys(provider: Provider) -> None:
    key1, jwk1 = _key("k1")
    provider.keys = [jwk1]
    auth = JWTAuthentication(
        jwks_url=provider.url + "/jwks.json",
        algorithms=["RS256"],
        issuer=provider.issuer,
        audience=AUDIENCE,
        jwks_refresh_interval=1,
        trust_claims=True,
    )
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers=provider.token(key1, "k1")).status_code == 200
        provider.server.shutdown()
        provider.server.server_close()
        auth._remote._loaded_at = time.monotonic() - 5  # type: ignore[union-attr]
        # Stale: a background refresh starts and fails; the cached key still serves.
        for _ in range(3):
            assert client.get("/me", headers=provider.token(key1, "k1", sub="9")).status_code == 200


def test_jwks_document_given_directly_and_configuration_errors() -> None:
    key1, jwk1 = _key("k1")
    auth = JWTAuthentication(jwks={"keys": [jwk1]}, algorithms=["RS256"], trust_claims=True)
    token = jwt.encode({"sub": "1"}, key1, algorithm="RS256", headers={"kid": "k1"})
    no_kid = jwt.encode({"sub": "1"}, key1, algorithm="RS256")
    with TestClient(_api(auth)) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # One key in the set: a token without kid uses it.
        assert client.get("/me", headers={"Authorization": f"Bearer {no_kid}"}).status_code == 200
    for kwargs, message in [
        ({"jwks_url": "http://idp.example/jwks", "issuer": "i", "audience": "a"}, "HTTPS"),
        ({"jwks_url": "ftp://x/jwks", "issuer": "i", "audience": "a"}, "HTTPS"),
        ({"jwks": json.dumps({"keys": [jwk1]}), "secret": "x" * 32}, "not both"),
        ({"jwks": {"keys": [jwk1]}, "jwks_url": "https://x/j"}, "not several"),
        ({"oidc_issuer": "https://idp", "audience": "a", "algorithms": ["HS256"]}, "asymmetric"),
    ]:
        with pytest.raises(ImproperlyConfigured, match=message):
            JWTAuthentication(**kwargs)
