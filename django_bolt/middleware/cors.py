"""Cross-Origin Resource Sharing: django-cors-headers' settings, compiled once per policy.

The global policy comes from the ``CORS_*`` settings (the names and defaults of
django-cors-headers); ``@cors(...)`` replaces parts of it for one route. Each policy is compiled
at start-up into a :class:`CORSPolicy` whose header blocks are already bytes, so a request pays
one scan of its headers for ``Origin``; a route with no policy never reaches this module.

Deliberate differences from django-cors-headers, all towards refusing: origin regexes must match
the whole origin (``re.fullmatch``), the origin ``null`` is never answered (sandboxed frames and
``file:`` pages all send it, so allowing it allows them all), and allow-all together with
credentials stops start-up instead of being reflected as "any origin with cookies".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from django.core.exceptions import ImproperlyConfigured

from django_bolt._http.wire import WireResponse, add_vary
from django_bolt.conf import DEFAULT_CONFIG, FrameworkConfig, as_framework_config, parse_origin

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = (
    "DEFAULT_ALLOW_HEADERS",
    "DEFAULT_ALLOW_METHODS",
    "CORSConfig",
    "CORSPolicy",
    "build_cors_policies",
    "cors",
    "cors_overrides",
    "entry_overrides",
    "route_cors",
)

F = TypeVar("F", bound=Callable[..., Any])


# for_route(handler, cors_entries) -> the route's compiled policy or None
RouteCORS = Callable[..., "CORSPolicy | None"]

# django-cors-headers' defaults, declared once in FrameworkConfig (django_bolt/_conf/).
DEFAULT_ALLOW_METHODS: Final = DEFAULT_CONFIG.cors_allow_methods
DEFAULT_ALLOW_HEADERS: Final = DEFAULT_CONFIG.cors_allow_headers
DEFAULT_PREFLIGHT_MAX_AGE: Final = DEFAULT_CONFIG.cors_preflight_max_age

_ROUTE_ATTR: Final = "_bolt_cors"
_WILDCARD: Final = "*"

_REQUEST_METHOD: Final = b"access-control-request-method"
_REQUEST_HEADERS: Final = b"access-control-request-headers"
_ORIGIN: Final = b"Origin"  # the Vary token, spelled as 0.13 spells it
# A preflight answer varies with what it was asked too (0.13 names both fields).
_VARY_PREFLIGHT: Final = (
    b"vary",
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
)
_ALLOW_ORIGIN: Final = b"access-control-allow-origin"
_ALLOW_ANY: Final = (_ALLOW_ORIGIN, b"*")
_ALLOW_CREDENTIALS: Final = (b"access-control-allow-credentials", b"true")
_ALLOW_METHODS: Final = b"access-control-allow-methods"
_ALLOW_HEADERS: Final = b"access-control-allow-headers"
_NULL: Final = b"null"


@dataclass(frozen=True, slots=True)
class CORSConfig:
    """One CORS policy, field for field the ``CORS_*`` settings of django-cors-headers.

    ``allowed_origins`` are serialized origins (``"https://app.example.com"``, no path);
    ``allowed_origin_regexes`` must match an origin whole. Checked when built: a mistake raises
    ``ImproperlyConfigured`` at start-up, not on a request.
    """

    allowed_origins: tuple[str, ...] = ()
    allowed_origin_regexes: tuple[str, ...] = ()
    allow_all_origins: bool = False
    allow_credentials: bool = False
    allow_methods: tuple[str, ...] = DEFAULT_ALLOW_METHODS
    allow_headers: tuple[str, ...] = DEFAULT_ALLOW_HEADERS
    expose_headers: tuple[str, ...] = ()
    preflight_max_age: int = DEFAULT_PREFLIGHT_MAX_AGE

    def __post_init__(self) -> None:
        # Settings are usually lists: freeze them, and normalise case once here.
        set_ = object.__setattr__
        methods = _strings(self.allow_methods, "allow_methods")
        headers = _strings(self.allow_headers, "allow_headers")
        set_(self, "allowed_origins", tuple(_origins(self.allowed_origins)))
        set_(self, "allowed_origin_regexes", _strings(self.allowed_origin_regexes, "regexes"))
        set_(self, "allow_methods", tuple(m.upper() for m in methods))
        set_(self, "allow_headers", tuple(h.lower() for h in headers))
        set_(self, "expose_headers", _strings(self.expose_headers, "expose_headers"))
        for name in ("allow_all_origins", "allow_credentials"):
            if type(getattr(self, name)) is not bool:
                raise ImproperlyConfigured(f"CORS {name} must be True or False")
        age = self.preflight_max_age
        if type(age) is not int or age < 0:
            raise ImproperlyConfigured(f"CORS_PREFLIGHT_MAX_AGE must be an int >= 0, not {age!r}")
        if self.allow_all_origins and self.allow_credentials:
            # A credentialed response cannot say "*"; reflecting every origin instead would hand
            # any site the user's cookies. django-cors-headers reflects; we refuse.
            raise ImproperlyConfigured(
                "CORS_ALLOW_ALL_ORIGINS (or origins=['*']) cannot be combined with "
                "CORS_ALLOW_CREDENTIALS=True: list the trusted origins instead"
            )

    @property
    def enabled(self) -> bool:
        """True when some origin can be allowed at all."""
        return bool(self.allow_all_origins or self.allowed_origins or self.allowed_origin_regexes)

    @classmethod
    def from_config(cls, config: FrameworkConfig) -> CORSConfig:
        """Return the policy the ``CORS_*`` settings in ``config`` describe."""
        return cls(
            allowed_origins=config.cors_allowed_origins,
            allowed_origin_regexes=config.cors_allowed_origin_regexes,
            allow_all_origins=config.cors_allow_all_origins,
            allow_credentials=config.cors_allow_credentials,
            allow_methods=config.cors_allow_methods,
            allow_headers=config.cors_allow_headers,
            expose_headers=config.cors_expose_headers,
            preflight_max_age=config.cors_preflight_max_age,
        )

    @classmethod
    def from_settings(cls, settings: object) -> CORSConfig:
        """Return the policy of the ``CORS_*`` settings in ``settings`` (a settings object).

        django-cors-headers' older names are read too. Prefer :meth:`from_config`.
        """
        return cls.from_config(as_framework_config(settings))


def _strings(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ImproperlyConfigured(f"CORS {what} must be a list of strings, not {values!r}")
    out = tuple(values)
    for value in out:
        if not isinstance(value, str):
            raise ImproperlyConfigured(f"CORS {what} must be a list of strings, not {values!r}")
    return out


def _origins(values: object) -> Iterable[str]:
    for origin in _strings(values, "allowed origins"):
        try:
            yield parse_origin(origin)
        except ValueError as exc:
            raise ImproperlyConfigured(f"CORS origin: {exc}") from None


class CORSPolicy:
    """A :class:`CORSConfig` compiled for dispatch."""

    __slots__ = (
        "_actual",
        "_any_header",
        "_any_method",
        "_credentials",
        "_origins",
        "_preflight",
        "_regexes",
        "allow_all",
        "config",
    )

    def __init__(self, config: CORSConfig) -> None:
        self.config = config
        self.allow_all = config.allow_all_origins
        self._origins = frozenset(o.encode("latin-1") for o in config.allowed_origins)
        try:
            self._regexes = tuple(re.compile(p) for p in config.allowed_origin_regexes)
        except re.error as exc:
            raise ImproperlyConfigured(f"CORS_ALLOWED_ORIGIN_REGEXES: {exc}") from exc
        self._credentials = config.allow_credentials
        self._any_method = _WILDCARD in config.allow_methods
        self._any_header = _WILDCARD in config.allow_headers
        # Header blocks sent with an allowed origin, encoded once.
        actual: list[tuple[bytes, bytes]] = []
        if config.allow_credentials:
            actual.append(_ALLOW_CREDENTIALS)
        if config.expose_headers:
            actual.append(
                (b"access-control-expose-headers", ", ".join(config.expose_headers).encode())
            )
        self._actual = tuple(actual)
        preflight: list[tuple[bytes, bytes]] = []
        if config.allow_credentials:
            preflight.append(_ALLOW_CREDENTIALS)
        if not self._any_method:
            preflight.append((_ALLOW_METHODS, ", ".join(config.allow_methods).encode()))
        if not self._any_header:
            preflight.append((_ALLOW_HEADERS, ", ".join(config.allow_headers).encode()))
        if config.preflight_max_age:
            preflight.append((b"access-control-max-age", str(config.preflight_max_age).encode()))
        self._preflight = tuple(preflight)

    def _allowed(self, origin: bytes) -> bytes | None:
        """Return the ``Access-Control-Allow-Origin`` value for ``origin``, or None."""
        if origin == _NULL:
            return None
        if self.allow_all:
            return b"*"  # never with credentials: refused when the config was built
        if origin.lower() in self._origins:
            return origin
        if self._regexes:
            text = origin.decode("latin-1")
            for regex in self._regexes:
                if regex.fullmatch(text):
                    return origin
        return None

    def allows_origin(self, origin: bytes) -> bool:
        """Tell whether ``origin`` is one of the allowed origins (a WebSocket handshake's check)."""
        return self._allowed(origin) is not None

    def preflight(self, request: Request) -> WireResponse | None:
        """Return the answer to a preflight (OPTIONS + Origin + Access-Control-Request-Method), or
        None.

        A disallowed origin still gets its answer, without CORS headers: the browser then
        refuses the actual request, and nothing behind the route (auth, the handler) runs.
        """
        if request.method != "OPTIONS":
            return None
        origin = request.origin
        method = asked = None
        for name, value in request.raw_headers:
            lower = name.lower()
            if lower == _REQUEST_METHOD:
                method = value
            elif lower == _REQUEST_HEADERS:
                asked = value if asked is None else asked + b"," + value
        if origin is None or method is None:
            return None  # a plain OPTIONS request: the route answers it
        headers: list[tuple[bytes, bytes]] = [_VARY_PREFLIGHT]
        allow = self._allowed(origin)
        if allow is not None:
            headers.append((_ALLOW_ORIGIN, allow))
            headers.extend(self._preflight)
            # A wildcard list is answered with what was asked: "*" is not a wildcard on a
            # credentialed request (Fetch standard), the echo works either way.
            if self._any_method:
                headers.append((_ALLOW_METHODS, method.strip()))
            if self._any_header and asked:
                headers.append((_ALLOW_HEADERS, b", ".join(h.strip() for h in asked.split(b","))))
        # 204 No Content, as 0.13 answers a preflight.
        return WireResponse(204, headers, b"")

    def __call__(self, request: Request, response: WireResponse) -> WireResponse:
        """Add the headers for an actual (non-preflight) request to ``response``."""
        headers = response.raw_headers
        # One Vary field, merged with what compression (or the handler) put there.
        add_vary(headers, _ORIGIN)
        origin = request.origin
        if origin is not None:
            self.allow(origin, headers)
        return response

    def allow(self, origin: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        """Return the headers an allowed ``origin`` gets on an actual request (none for another)."""
        allowed = self._allowed(origin)
        if allowed is not None:
            headers.append((_ALLOW_ORIGIN, allowed))
            headers.extend(self._actual)


# --- configuration -------------------------------------------------------------------------------


def cors(
    origins: Iterable[str] | None = None,
    methods: Iterable[str] | None = None,
    headers: Iterable[str] | None = None,
    credentials: bool | None = None,
    max_age: int | None = None,
    *,
    expose_headers: Iterable[str] | None = None,
    origin_regexes: Iterable[str] | None = None,
) -> Callable[[F], F]:
    """Return this route's CORS policy: each argument given replaces that part of the global one.

    ``origins=["*"]`` allows every origin. Giving ``origins`` (or ``origin_regexes``) replaces
    both the global origin list and regexes, so a route can be narrower than the API.
    """
    overrides = cors_overrides(
        origins=origins,
        methods=methods,
        headers=headers,
        credentials=credentials,
        max_age=max_age,
        expose_headers=expose_headers,
        origin_regexes=origin_regexes,
    )

    def decorator(fn: F) -> F:
        setattr(fn, _ROUTE_ATTR, overrides)
        return fn

    return decorator


def cors_overrides(
    origins: Iterable[str] | str | None = None,
    *,
    methods: Iterable[str] | None = None,
    headers: Iterable[str] | None = None,
    credentials: bool | None = None,
    max_age: int | None = None,
    expose_headers: Iterable[str] | None = None,
    origin_regexes: Iterable[str] | None = None,
) -> dict[str, Any]:
    """``@cors`` arguments (or a ``{"type": "cors", ...}`` entry) as :class:`CORSConfig` fields."""
    if isinstance(origins, str):
        origins = [origins]
    overrides: dict[str, Any] = {}
    if origins is not None or origin_regexes is not None:
        listed = _strings(origins if origins is not None else (), "origins")
        overrides["allow_all_origins"] = _WILDCARD in listed
        overrides["allowed_origins"] = tuple(o for o in listed if o != _WILDCARD)
        overrides["allowed_origin_regexes"] = _strings(
            origin_regexes if origin_regexes is not None else (), "origin_regexes"
        )
    if methods is not None:
        overrides["allow_methods"] = _strings(methods, "methods")
    if headers is not None:
        overrides["allow_headers"] = _strings(headers, "headers")
    if credentials is not None:
        overrides["allow_credentials"] = credentials
    if max_age is not None:
        overrides["preflight_max_age"] = max_age
    if expose_headers is not None:
        overrides["expose_headers"] = _strings(expose_headers, "expose_headers")
    return overrides


def entry_overrides(entry: dict[str, Any]) -> dict[str, Any]:
    """Return a ``{"type": "cors", ...}`` middleware entry as overrides (same keys as ``@cors``)."""
    options = {k: v for k, v in entry.items() if k != "type"}
    try:
        return cors_overrides(**options)
    except TypeError as exc:
        raise ImproperlyConfigured(f"cors middleware entry {entry!r}: {exc}") from None


def route_cors(fn: object) -> dict[str, Any] | None:
    """Return the overrides ``@cors`` put on ``fn``, or None."""
    found = getattr(fn, _ROUTE_ATTR, None)
    return found if isinstance(found, dict) else None


def build_cors_policies(
    config: FrameworkConfig | object | None = None,
) -> tuple[CORSPolicy | None, RouteCORS]:
    """Return (the global policy or None, ``for_route(fn)``) from the ``CORS_*`` settings.

    ``config`` is the :class:`FrameworkConfig` to use (by default :func:`framework_config`;
    Django's settings object, as older callers pass, means the same). ``for_route`` gives a
    ``@cors`` route its own compiled policy and every other route the global one, so a project
    without CORS compiles nothing and pays nothing per request.
    """
    base = CORSConfig.from_config(as_framework_config(config))
    default = CORSPolicy(base) if base.enabled else None

    def for_route(fn: object, entries: Sequence[dict[str, Any]] = ()) -> CORSPolicy | None:
        overrides = route_cors(fn)
        if overrides is None and not entries:
            return default
        # Outermost entry first (API, routers), then the route's own @cors.
        merged: dict[str, Any] = {}
        for entry in entries:
            merged.update(entry_overrides(entry))
        merged.update(overrides or {})
        config = replace(base, **merged)
        if not config.enabled:
            return None
        return CORSPolicy(config)

    return default, for_route
