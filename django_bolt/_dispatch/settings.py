"""What compiling an API reads from the settings, read in one place, once per compile.

Nothing on the request path reads ``django.conf.settings``: :func:`read_dispatch_settings`
builds everything the settings decide (compression, CORS, default auth and guards, rate-limit
storage, ATOMIC_REQUESTS and signals, allowed hosts, the fall-through to Django, static files,
DEBUG) from :func:`django_bolt.conf.framework_config` before the routes are compiled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from django_bolt._django.bridge import DjangoBridge, fallthrough_enabled
from django_bolt._django.db import install_connection_tracking, wrap_handler
from django_bolt._django.static import static_files_from_settings
from django_bolt.auth.guards import resolve_entries
from django_bolt.conf import FrameworkConfig, framework_config
from django_bolt.middleware.compression import build_compressor
from django_bolt.middleware.cors import build_cors_policies
from django_bolt.middleware.hosts import build_host_validator

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
    "read_dispatch_settings",
    "resolve_entries",
)

# ``BoltAPI(compression=...)`` not given: the ``BOLT_COMPRESSION`` setting decides.
FROM_SETTINGS: Final[Any] = object()


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """Everything the settings decide for one compile of an API."""

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
    # BoltAPI(error_formatter=...): writes the 429s of rate limits too (set by BoltAPI.compile).
    error_formatter: Callable[[Any, Any], Any] | None = None


def read_dispatch_settings(
    compression: Any, debug: bool | None, fallthrough: bool | None
) -> DispatchSettings:
    """Read the settings an API's compile needs; errors here are configuration errors.

    ``compression``, ``debug`` and ``fallthrough`` are the API's own arguments: given, they win
    over the settings (``BOLT_COMPRESSION``, ``DEBUG``, ``ROOT_URLCONF``).
    """
    config = framework_config()
    if compression is FROM_SETTINGS:
        compression = config.bolt_compression
    # Raises ImproperlyConfigured (allow-all with credentials, a malformed origin) here.
    cors_default, cors_for = build_cors_policies(config)
    auth_default, guards_default = auth_defaults(config)
    return DispatchSettings(
        compressor=build_compressor(compression),
        cors_default=cors_default,
        cors_for=cors_for,
        auth_default=auth_default,
        guards_default=guards_default,
        rate_limit_backend=config.bolt_rate_limit_backend,
        rate_limit_max_keys=config.bolt_rate_limit_max_keys,
        wrap=_handler_wrapper(config),
        hosts=build_host_validator(config),
        bridge=DjangoBridge() if fallthrough_enabled(fallthrough) else None,
        static=static_files_from_settings(),
        debug=debug if debug is not None else config.debug,
    )


def auth_defaults(config: FrameworkConfig | None = None) -> tuple[list[Any], list[Any]]:
    """Resolve ``BOLT_AUTHENTICATION_CLASSES`` and ``BOLT_DEFAULT_PERMISSION_CLASSES``."""
    config = framework_config() if config is None else config
    return (
        resolve_entries(config.bolt_authentication_classes),
        resolve_entries(config.bolt_default_permission_classes),
    )


def _handler_wrapper(config: FrameworkConfig) -> Callable[..., Callable[..., Any]] | None:
    """Apply ATOMIC_REQUESTS and BOLT_EMIT_SIGNALS per route at compile time (_django/db.py)."""
    if not config.configured:
        return None
    install_connection_tracking()
    return functools.partial(wrap_handler, emit_signals=config.bolt_emit_signals)
