"""The ``Host`` header checked against ``ALLOWED_HOSTS``, with Django's own matching rules.

Compiled once at start-up: ``ALLOWED_HOSTS = ["*"]`` compiles to nothing, so the usual
development setting costs no time per request. Otherwise the verdict for each distinct ``Host``
value is remembered (a site sees a handful), and a bad one is answered with a 400 instead of
reaching a handler that might build absolute URLs from it (cache poisoning, password-reset links).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from django.http.request import split_domain_port, validate_host

from django_bolt._conf.framework import DEBUG_ALLOWED_HOSTS
from django_bolt._http.wire import CT_JSON, WireResponse
from django_bolt.conf import FrameworkConfig, as_framework_config

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = ("DEBUG_ALLOWED_HOSTS", "HostValidator", "build_host_validator")

_HOST: Final = b"host"
_INVALID_BODY: Final = b'{"detail":"Invalid HTTP_HOST header"}'
# Distinct Host values are few on a real site; a scanner sending random ones only empties it.
_CACHE_MAX: Final = 256

# Django's logger for this, so existing LOGGING configurations keep filtering it the same way.
security_logger: Final = logging.getLogger("django.security.DisallowedHost")


class HostValidator:
    """``validator(request)`` → None when the Host is allowed, else the 400 to send."""

    __slots__ = ("_allowed", "_cache")

    def __init__(self, allowed_hosts: list[str]) -> None:
        self._allowed = allowed_hosts
        self._cache: dict[bytes, bool] = {}

    def _check(self, raw: bytes) -> bool:
        try:
            host = raw.decode("ascii")
        except UnicodeDecodeError:
            return False
        domain, _port = split_domain_port(host)
        return bool(domain) and validate_host(domain, self._allowed)

    def __call__(self, request: Request) -> WireResponse | None:
        raw: bytes | None = None
        for name, value in request.raw_headers:
            if len(name) == 4 and name.lower() == _HOST:
                if raw is not None:
                    raw = b""  # two Host fields (RFC 9112 section 3.2): never valid
                    break
                raw = value
        if raw is None:
            # HTTP/1.0 without Host: Django checks the server's own name instead.
            server = request.server
            raw = server[0].encode("ascii", "replace") if server is not None else b"localhost"
        cache = self._cache
        ok = cache.get(raw)
        if ok is None:
            ok = self._check(raw)
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[raw] = ok
        if ok:
            return None
        security_logger.warning("Invalid HTTP_HOST header: %r", raw.decode("latin-1"))
        return WireResponse(400, [CT_JSON], _INVALID_BODY)


def build_host_validator(
    config: FrameworkConfig | object | None = None,
) -> HostValidator | None:
    """Return the validator for ``ALLOWED_HOSTS``, or None when every host is allowed.

    ``config`` is the :class:`FrameworkConfig` to use (by default :func:`framework_config`;
    Django's settings object, as older callers pass, means the same). Without configured Django
    settings (a bare BoltAPI) no host is checked.
    """
    current = as_framework_config(config)
    if not current.configured:
        return None
    allowed = list(current.hosts_in_force)
    if "*" in allowed:
        return None
    return HostValidator(allowed)
