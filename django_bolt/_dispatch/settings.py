"""What compiling an API reads from Django settings, read in one place, once per compile.

Nothing on the request path reads ``django.conf.settings``: :func:`read_dispatch_settings`
builds everything the settings decide (compression, CORS, default auth and guards, rate-limit
storage, ATOMIC_REQUESTS and signals, allowed hosts, the fall-through to Django, static files,
DEBUG) before the routes are compiled, and :func:`read_runtime_settings` what ``startup`` sizes.
Each value comes through :func:`django_bolt.conf.framework_setting` where the framework has a
default for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings as django_conf_settings
from django.core.exceptions import ImproperlyConfigured

from django_bolt._django.bridge import DjangoBridge, fallthrough_enabled
from django_bolt._django.db import install_connection_tracking, wrap_handler
from django_bolt._django.static import static_files_from_settings
from django_bolt.auth.guards import resolve_entries
from django_bolt.conf import DEFAULT_COMPRESSION, framework_setting
from django_bolt.middleware.compression import build_compressor
from django_bolt.middleware.cors import build_cors_policies
from django_bolt.middleware.hosts import build_host_validator
from django_bolt.middleware.rate_limit import DEFAULT_MAX_KEYS

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt._django.static import StaticFiles
    from django_bolt.middleware.compression import Compressor
    from django_bolt.middleware.cors import CORSPolicy, RouteCORS
    from django_bolt.middleware.hosts import HostValidator

__all__ = (
    "FROM_SETTINGS",
    "DispatchSettings",
    "auth_defaults",
    "django_settings",
    "read_dispatch_settings",
    "read_runtime_settings",
    "resolve_entries",
)

# ``BoltAPI(compression=...)`` not given: the ``BOLT_COMPRESSION`` setting decides.
FROM_SETTINGS: Final[Any] = object()


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """Everything the settings decide for one compile of an API."""

    # Django's settings object, or None when they are not configured (bare tests, scripts).
    settings: object | None
    compressor: Compressor | None
    # The global CORS policy (None: CORS_* not set) and the per-route lookup (``@cors``).
    cors_default: CORSPolicy | None
    cors_for: RouteCORS
    auth_default: list[Any]
    guards_default: list[Any]
    rate_limit_backend: str | None
    rate_limit_max_keys: int
    # ATOMIC_REQUESTS and BOLT_EMIT_SIGNALS applied to a handler (see _django/db.py), or None.
    wrap: Callable[..., Callable[..., Any]] | None
    hosts: HostValidator | None
    bridge: DjangoBridge | None
    static: StaticFiles | None
    debug: bool


def read_dispatch_settings(
    compression: Any, debug: bool | None, fallthrough: bool | None
) -> DispatchSettings:
    """Read the settings an API's compile needs; errors here are configuration errors.

    ``compression``, ``debug`` and ``fallthrough`` are the API's own arguments: given, they win
    over the settings.
    """
    compressor = _make_compressor(compression)
    settings = django_settings()
    # Raises ImproperlyConfigured (allow-all with credentials, a malformed origin) here.
    cors_default, cors_for = build_cors_policies(settings)
    auth_default, guards_default = auth_defaults(settings)
    backend, max_keys = _rate_limit_settings(settings)
    return DispatchSettings(
        settings=settings,
        compressor=compressor,
        cors_default=cors_default,
        cors_for=cors_for,
        auth_default=auth_default,
        guards_default=guards_default,
        rate_limit_backend=backend,
        rate_limit_max_keys=max_keys,
        wrap=_handler_wrapper(settings),
        hosts=build_host_validator(settings),
        bridge=DjangoBridge() if fallthrough_enabled(fallthrough) else None,
        static=static_files_from_settings(),
        debug=debug if debug is not None else _django_debug(settings),
    )


def read_runtime_settings() -> tuple[int, object] | None:
    """Read ``BOLT_SYNC_POOL_SIZE`` and ``BOLT_ALLOWED_FILE_PATHS``; None without settings."""
    try:
        pool_size = framework_setting("BOLT_SYNC_POOL_SIZE")
        allowed = framework_setting("BOLT_ALLOWED_FILE_PATHS")
    except ImproperlyConfigured:
        return None
    return int(pool_size), allowed  # type: ignore[call-overload]


def django_settings() -> object | None:
    """Return Django's settings, or None when they are not configured (bare tests, scripts)."""
    try:
        django_conf_settings.INSTALLED_APPS  # noqa: B018 - touching a setting raises when unconfigured
    except ImproperlyConfigured:
        return None
    configured: object = django_conf_settings
    return configured


def auth_defaults(settings: object | None) -> tuple[list[Any], list[Any]]:
    """Read and resolve ``BOLT_AUTHENTICATION_CLASSES`` and ``BOLT_DEFAULT_PERMISSION_CLASSES``."""
    if settings is None:
        return [], []
    auth = framework_setting("BOLT_AUTHENTICATION_CLASSES", settings)
    guards = framework_setting("BOLT_DEFAULT_PERMISSION_CLASSES", settings)
    return resolve_entries(_as_list(auth)), resolve_entries(_as_list(guards))


def _as_list(value: object) -> list[Any]:
    if not value:
        return []
    if not isinstance(value, list | tuple):
        raise ImproperlyConfigured(f"expected a list of auth classes or guards, got {value!r}")
    return list(value)


def _make_compressor(compression: Any) -> Compressor | None:
    """``BoltAPI(compression=...)`` wins; otherwise ``BOLT_COMPRESSION``; neither given, the
    default ``CompressionConfig()`` (as in Django-Bolt)."""
    if compression is FROM_SETTINGS:
        try:
            compression = framework_setting("BOLT_COMPRESSION")
        except ImproperlyConfigured:
            # Django settings not configured: nobody chose, so the default applies.
            compression = DEFAULT_COMPRESSION
    return build_compressor(compression)


def _rate_limit_settings(settings: object | None) -> tuple[str | None, int]:
    """``BOLT_RATE_LIMIT_BACKEND`` and ``BOLT_RATE_LIMIT_MAX_KEYS``."""
    if settings is None:
        return None, DEFAULT_MAX_KEYS
    backend = framework_setting("BOLT_RATE_LIMIT_BACKEND", settings)
    max_keys = framework_setting("BOLT_RATE_LIMIT_MAX_KEYS", settings)
    if backend is not None and not isinstance(backend, str):
        raise ImproperlyConfigured(
            f"BOLT_RATE_LIMIT_BACKEND must be a cache alias, not {backend!r}"
        )
    if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
        raise ImproperlyConfigured(
            f"BOLT_RATE_LIMIT_MAX_KEYS must be an int >= 1, not {max_keys!r}"
        )
    return backend, max_keys


def _handler_wrapper(settings: object | None) -> Callable[..., Callable[..., Any]] | None:
    """Apply ATOMIC_REQUESTS and BOLT_EMIT_SIGNALS per route at compile time (_django/db.py)."""
    if settings is None:
        return None
    install_connection_tracking()
    emit = bool(framework_setting("BOLT_EMIT_SIGNALS", settings))
    return functools.partial(wrap_handler, emit_signals=emit)


def _django_debug(settings: object | None) -> bool:
    try:
        return bool(getattr(settings, "DEBUG", False))
    except Exception:
        return False
