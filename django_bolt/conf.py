"""Django-Bolt's settings: the server's option table (re-exported) and the framework's settings.

The server's options (:class:`ServerConfig`, :data:`OPTIONS`, :func:`load_server_config`,
:class:`TrustedProxies`) live in :mod:`django_bolt.server.config`, the one table ``runbolt``'s
flags are generated from; they are re-exported here, where users and the docs import them.

The framework's own settings (:data:`FRAMEWORK_SETTINGS`) are read once at start-up by the
framework layer, never by the server and never on the request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from django.conf import settings as django_settings

from django_bolt.server.config import (
    KIB,
    MIB,
    OPTIONS,
    Option,
    ServerConfig,
    ServerConfigError,
    TrustedProxies,
    default_workers,
    load_server_config,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = (
    "DEFAULT_COMPRESSION",
    "FRAMEWORK_SETTINGS",
    "KIB",
    "MIB",
    "OPTIONS",
    "Option",
    "ServerConfig",
    "ServerConfigError",
    "TrustedProxies",
    "default_workers",
    "framework_setting",
    "load_server_config",
)


class _DefaultCompression:
    """``BOLT_COMPRESSION`` left unset: Django-Bolt's default, a ``CompressionConfig()``.

    A marker rather than the config itself: ``None`` and ``False`` are the user's way of saying
    "off", so the unset case needs a value of its own, and building the config here would load
    the compression libraries with the settings.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "CompressionConfig()"


DEFAULT_COMPRESSION: Final = _DefaultCompression()

# Framework settings read once at start-up by the framework layer (not the server).
FRAMEWORK_SETTINGS: Final[Mapping[str, tuple[object, str]]] = {
    "BOLT_API": ([], "Explicit 'module:attr' list of BoltAPI objects to serve."),
    "BOLT_ALLOWED_FILE_PATHS": ([], "Directories FileResponse may serve from."),
    "BOLT_SYNC_POOL_SIZE": (40, "Threads that run blocking def handlers."),
    "BOLT_EMIT_SIGNALS": (False, "Send Django's request_started/finished for API requests."),
    "BOLT_COMPRESSION": (
        DEFAULT_COMPRESSION,
        "CompressionConfig; None or False: off (unset: CompressionConfig(), brotli with gzip).",
    ),
    "BOLT_MEMORY_SPOOL_THRESHOLD": (
        1024 * 1024,
        "Uploaded files (of a spooled body) larger than this move to disk (0: all of them).",
    ),
    "BOLT_AUTHENTICATION_CLASSES": ([], "Default auth classes (instances, classes or paths)."),
    "BOLT_DEFAULT_PERMISSION_CLASSES": ([], "Default guards (instances, classes or paths)."),
    "BOLT_RATE_LIMIT_BACKEND": (
        None,
        "Cache alias whose Redis/Memcached server shares rate limits across processes "
        "(None: each process counts on its own).",
    ),
    "BOLT_RATE_LIMIT_MAX_KEYS": (100_000, "Most buckets one in-process rate limit keeps."),
    # CORS: django-cors-headers' names and defaults (corsheaders.defaults), read by
    # middleware/cors.py; its older names (CORS_ORIGIN_WHITELIST, ...) are read there too.
    "CORS_ALLOWED_ORIGINS": ([], "Origins allowed, as scheme://host[:port]."),
    "CORS_ALLOWED_ORIGIN_REGEXES": ([], "Regexes an origin must match whole."),
    "CORS_ALLOW_ALL_ORIGINS": (False, "Allow every origin (Access-Control-Allow-Origin: *)."),
    "CORS_ALLOW_CREDENTIALS": (False, "Send Access-Control-Allow-Credentials: true."),
    "CORS_ALLOW_METHODS": (
        ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"],
        "Methods answered to preflights ('*' echoes the asked one).",
    ),
    "CORS_ALLOW_HEADERS": (
        [
            "accept",
            "authorization",
            "content-type",
            "user-agent",
            "x-csrftoken",
            "x-requested-with",
        ],
        "Request headers answered to preflights ('*' echoes the asked ones).",
    ),
    "CORS_EXPOSE_HEADERS": ([], "Access-Control-Expose-Headers on actual responses."),
    "CORS_PREFLIGHT_MAX_AGE": (86400, "Access-Control-Max-Age in seconds (0 sends none)."),
    "CORS_MAX_AGE": (None, "Django-Bolt's name for CORS_PREFLIGHT_MAX_AGE (that one wins)."),
}


def framework_setting(name: str, settings: object | None = None) -> object:
    """Read one framework setting (at start-up), falling back to its documented default."""
    default, _ = FRAMEWORK_SETTINGS[name]
    return getattr(django_settings if settings is None else settings, name, default)
