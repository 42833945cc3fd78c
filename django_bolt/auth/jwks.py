"""Keys from an identity provider: a JSON Web Key Set, fetched, cached, refreshed and rotated.

``JWTAuthentication(jwks_url=...)``, ``jwks=...`` or ``oidc_issuer=...`` verify tokens with the
key the token's ``kid`` header names. The algorithms stay pinned by the configuration (or by the
provider's discovery document): a key is used only for the algorithms of its own type, so an
``oct`` key in a set can never turn an RS256 route into an HMAC one.

Refreshes: the set is fetched on first use; a request with a known ``kid`` never waits for the
provider. When the set is older than ``refresh_interval`` the next request starts a refresh on a
background thread and goes on with the cached keys. A ``kid`` that the set does not hold starts a
refresh at once and the request waits for it (in the thread pool, not on the event loop), but at
most one such refresh per :data:`UNKNOWN_KID_COOLDOWN` seconds and never two at a time, so
made-up ``kid`` values cannot make the server fetch on every request. A failed fetch keeps the
last good keys.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

import jwt
from jwt.algorithms import get_default_algorithms

from django_bolt.exceptions import ConfigurationError

__all__ = ("UNKNOWN_KID_COOLDOWN", "RemoteKeys", "check_fetch_url")

UNKNOWN_KID_COOLDOWN: Final = 30.0
_FETCH_TIMEOUT: Final = 10.0
_MAX_DOCUMENT: Final = 1 << 20
# The key type each algorithm family verifies with (the JWK "kty").
_KTY_BY_FAMILY: Final = {"RSA": "RSA", "EC": "EC", "OKP": "OKP", "HMAC": "oct"}
_ASYMMETRIC_PREFIXES: Final = ("RS", "PS", "ES", "Ed")


def check_fetch_url(url: str, what: str) -> str:
    """Return ``url`` if keys may be fetched from it: HTTPS, or HTTP to a loopback address."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in ("https", "http"):
        raise ConfigurationError(f"JWTAuthentication {what} must be an absolute HTTPS URL: {url!r}")
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"JWTAuthentication {what} must be HTTPS (plain HTTP is allowed only to a loopback "
            f"address, for tests and local sidecars): {url!r}"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch_json(url: str) -> dict[str, Any]:
    """Return the JSON object at ``url`` (blocking, bounded in time and size)."""
    # check_fetch_url has limited the scheme to https (or http to a loopback address).
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT) as response:  # noqa: S310
        body = response.read(_MAX_DOCUMENT + 1)
    if len(body) > _MAX_DOCUMENT:
        raise ValueError(f"{url}: document larger than {_MAX_DOCUMENT} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url}: not a JSON object")
    return document


def _family_of(algorithm: str) -> str:
    name = type(get_default_algorithms()[algorithm]).__name__
    return {"HMACAlgorithm": "HMAC", "RSAPSSAlgorithm": "RSA", "RSAAlgorithm": "RSA"}.get(
        name, {"ECAlgorithm": "EC", "OKPAlgorithm": "OKP"}.get(name, name)
    )


def parse_key_set(document: dict[str, Any] | str, algorithms: list[str]) -> dict[str, Any]:
    """Return ``{kid: PyJWK}`` of the signing keys usable with ``algorithms`` (kid "" when a
    key has none); ValueError when the document holds no such key."""
    if isinstance(document, str):
        document = json.loads(document)
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("a JWKS document is an object with a 'keys' list")
    kty = _KTY_BY_FAMILY.get(_family_of(algorithms[0]))
    usable: dict[str, Any] = {}
    for entry in keys:
        if not isinstance(entry, dict) or entry.get("kty") != kty:
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", algorithms[0]) not in algorithms:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=entry.get("alg", algorithms[0]))
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a key this library cannot use is skipped, as providers expect
        usable[str(entry.get("kid", ""))] = key
    if not usable:
        raise ValueError(f"the JWKS document has no {kty} signing key for {algorithms}")
    return usable


def discover(issuer: str) -> tuple[str, list[str]]:
    """Return the ``jwks_uri`` and the signing algorithms of an OpenID Connect issuer."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _fetch_json(url)
    if document.get("issuer") != issuer:
        raise ValueError(f"{url}: the document's issuer is {document.get('issuer')!r}")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise ValueError(f"{url}: no jwks_uri")
    check_fetch_url(jwks_uri, "jwks_uri (from discovery)")
    advertised = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    known = get_default_algorithms()
    algorithms = [
        a for a in advertised if isinstance(a, str) and a in known and a[:2] in _ASYMMETRIC_PREFIXES
    ]
    if not algorithms:
        raise ValueError(f"{url}: no asymmetric signing algorithm advertised: {advertised!r}")
    # One key type per backend: the first advertised algorithm's family decides.
    family = _family_of(algorithms[0])
    return jwks_uri, [a for a in algorithms if _family_of(a) == family]


class RemoteKeys:
    """A key set: given once (``document``), or fetched from ``url`` / an ``oidc_issuer``."""

    def __init__(
        self,
        *,
        algorithms: list[str] | None,
        url: str | None = None,
        document: dict[str, Any] | str | None = None,
        oidc_issuer: str | None = None,
        refresh_interval: float = 300,
    ) -> None:
        self.url = url
        self.oidc_issuer = oidc_issuer
        self.refresh_interval = refresh_interval
        self.algorithms = algorithms
        self._keys: dict[str, Any] = {}
        self._loaded_at: float | None = None
        self._unknown_kid_after = 0.0
        self._fetching = threading.Lock()
        self.last_error: str | None = None
        if document is not None:
            if algorithms is None:
                raise ConfigurationError("JWTAuthentication(jwks=...) needs algorithms=")
            try:
                self._keys = parse_key_set(document, algorithms)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"JWTAuthentication jwks: {exc}") from None
            self._loaded_at = float("inf")  # given, never refreshed

    @property
    def remote(self) -> bool:
        """Whether the keys come from the network (and are refreshed)."""
        return self.url is not None or self.oidc_issuer is not None

    def key(self, kid: str | None) -> Any:
        """Return the cached key for ``kid`` (a set of one key serves a token without kid), or
        None; starts a background refresh when the set is stale."""
        loaded = self._loaded_at
        if loaded is not None and time.monotonic() - loaded > self.refresh_interval:
            self._refresh_in_background()
        keys = self._keys
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def may_refresh_for_unknown(self) -> bool:
        """Whether a token with an unknown ``kid`` may wait for a refresh now."""
        if not self.remote or self._fetching.locked():
            return False
        return time.monotonic() >= self._unknown_kid_after

    def refresh_for_unknown(self) -> None:
        """Fetch now for an unknown ``kid`` (blocking; run it in the pool)."""
        if not self._fetching.acquire(blocking=False):
            return  # someone else is fetching: this request does not wait
        try:
            first = self._loaded_at is None
            self._fetch()
            # The first successful load starts no cooldown; every other fetch for an unknown
            # kid (a rotation, a made-up kid, a failed first load) does.
            if not first or self._loaded_at is None:
                self._unknown_kid_after = time.monotonic() + UNKNOWN_KID_COOLDOWN
        finally:
            self._fetching.release()

    def _refresh_in_background(self) -> None:
        if not self._fetching.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self._fetch()
            finally:
                self._fetching.release()

        threading.Thread(target=run, name="bolt-jwks-refresh", daemon=True).start()

    def _fetch(self) -> None:
        try:
            url = self.url
            if url is None:
                url, advertised = discover(str(self.oidc_issuer))
                if self.algorithms is None:
                    self.algorithms = advertised
                self.url = url
            keys = parse_key_set(_fetch_json(url), self.algorithms or [])
        except Exception as exc:  # network, JSON, no usable key: keep the last good keys
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self._loaded_at is not None:
                self._loaded_at = time.monotonic()  # retry after another interval, not at once
            return
        self._keys = keys
        self._loaded_at = time.monotonic()
        self.last_error = None
