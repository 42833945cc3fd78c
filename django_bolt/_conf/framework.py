"""The framework's settings as one typed, frozen object: :class:`FrameworkConfig`.

One field per Django setting the framework reads; the field's metadata (a :class:`Setting`)
names the setting, its help text, its check and any older names, and the field's default is the
setting's. ``docs/settings.md``'s table is tested against :data:`SETTINGS_TABLE`, so this is the
one place a default is written. Reading is :mod:`django_bolt._conf.read`'s job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from django.conf import global_settings

from django_bolt._conf import checks
from django_bolt.server.config import MIB

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "DEBUG_ALLOWED_HOSTS",
    "DEFAULT_COMPRESSION",
    "DEFAULT_CONFIG",
    "SETTINGS_TABLE",
    "FrameworkConfig",
    "Setting",
)

# What Django allows when DEBUG is on and ALLOWED_HOSTS is empty (HttpRequest.get_host).
DEBUG_ALLOWED_HOSTS: Final = (".localhost", "127.0.0.1", "[::1]")


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


@dataclass(frozen=True, slots=True)
class Setting:
    """Where a :class:`FrameworkConfig` field comes from, and how its value is checked."""

    name: str
    help: str
    # The value as written in settings -> the field's value; ValueError("what was expected").
    parse: Callable[[Any], Any]
    # Other names read, in order, when ``name`` is not set (older or Django-Bolt spellings).
    aliases: tuple[str, ...] = ()
    # Never shown: not in the config's repr, not in an error message.
    secret: bool = False


def _setting(
    name: str,
    default: Any,
    help: str,
    parse: Callable[[Any], Any],
    *,
    aliases: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    meta = Setting(name, help, parse, aliases, secret)
    return field(default=default, repr=not secret, metadata={"setting": meta})


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameworkConfig:
    """Every Django setting the framework reads, checked and frozen; one field per setting.

    A field is named after its setting in lower case (``BOLT_SYNC_POOL_SIZE`` is
    ``bolt_sync_pool_size``). Lists are stored as tuples and paths as strings. Get the
    current one with :func:`framework_config`; ``FrameworkConfig()`` holds the defaults.
    """

    # --- Django-Bolt's own -----------------------------------------------------------------------
    bolt_api: tuple[str, ...] = _setting(
        "BOLT_API",
        (),
        "BoltAPI objects to serve, as 'module:attr' (unset: found in the project's and each "
        "app's api module).",
        checks.api_specs,
    )
    bolt_allowed_file_paths: tuple[str, ...] = _setting(
        "BOLT_ALLOWED_FILE_PATHS",
        (),
        "Directories FileResponse may serve from (empty: any).",
        checks.paths,
    )
    bolt_sync_pool_size: int = _setting(
        "BOLT_SYNC_POOL_SIZE", 40, "Threads that run blocking def handlers.", checks.int_at_least(1)
    )
    bolt_emit_signals: bool = _setting(
        "BOLT_EMIT_SIGNALS",
        False,
        "Send Django's request_started/request_finished for API requests.",
        checks.flag,
    )
    bolt_compression: object = _setting(
        "BOLT_COMPRESSION",
        DEFAULT_COMPRESSION,
        "A CompressionConfig; None or False: off (unset: CompressionConfig(), brotli with "
        "gzip). Checked when an API is compiled.",
        checks.passthrough,
    )
    bolt_memory_spool_threshold: int = _setting(
        "BOLT_MEMORY_SPOOL_THRESHOLD",
        MIB,
        "Uploaded files (of a spooled body) larger than this move to disk (0: all of them).",
        checks.int_at_least(0),
    )
    bolt_authentication_classes: tuple[Any, ...] = _setting(
        "BOLT_AUTHENTICATION_CLASSES",
        (),
        "Default auth classes (instances, classes or dotted paths).",
        checks.entries,
    )
    bolt_default_permission_classes: tuple[Any, ...] = _setting(
        "BOLT_DEFAULT_PERMISSION_CLASSES",
        (),
        "Default guards (instances, classes or dotted paths).",
        checks.entries,
    )
    bolt_rate_limit_backend: str | None = _setting(
        "BOLT_RATE_LIMIT_BACKEND",
        None,
        "Cache alias whose Redis/Memcached server shares rate limits across processes (None: "
        "each process counts on its own).",
        checks.optional_text,
    )
    bolt_rate_limit_max_keys: int = _setting(
        "BOLT_RATE_LIMIT_MAX_KEYS",
        100_000,
        "Most buckets one in-process rate limit keeps.",
        checks.int_at_least(1),
    )
    bolt_static_max_age: int | None = _setting(
        "BOLT_STATIC_MAX_AGE",
        None,
        "Cache-Control max-age (seconds, public) of static files whose names are not hashed "
        "(None: revalidate each time).",
        checks.optional_int_at_least(0),
    )
    bolt_media_max_age: int | None = _setting(
        "BOLT_MEDIA_MAX_AGE",
        None,
        "Cache-Control max-age (seconds, private) of media files (None: revalidate each time).",
        checks.optional_int_at_least(0),
    )
    bolt_asgi_mount_timeout: float = _setting(
        "BOLT_ASGI_MOUNT_TIMEOUT",
        30.0,
        "Seconds a mounted ASGI application has to start its response (504 beyond).",
        checks.positive_number,
    )
    bolt_health_check_timeout: float = _setting(
        "BOLT_HEALTH_CHECK_TIMEOUT",
        5.0,
        "Seconds each readiness check of /ready may take before it counts as failed.",
        checks.positive_number,
    )
    bolt_log_queue_size: int = _setting(
        "BOLT_LOG_QUEUE_SIZE",
        10_000,
        "Most log records waiting for the logging thread; past it new records are dropped "
        "(counted, with a notice on stderr).",
        checks.int_at_least(1),
    )

    # --- CORS: django-cors-headers' names and defaults (its older names are read too) ------------
    cors_allowed_origins: tuple[str, ...] = _setting(
        "CORS_ALLOWED_ORIGINS",
        (),
        "Origins allowed, as scheme://host[:port].",
        checks.origins,
        aliases=("CORS_ORIGIN_WHITELIST",),
    )
    cors_allowed_origin_regexes: tuple[str, ...] = _setting(
        "CORS_ALLOWED_ORIGIN_REGEXES",
        (),
        "Regexes an origin must match whole.",
        checks.regexes,
        aliases=("CORS_ORIGIN_REGEX_WHITELIST",),
    )
    cors_allow_all_origins: bool = _setting(
        "CORS_ALLOW_ALL_ORIGINS",
        False,
        "Allow every origin (Access-Control-Allow-Origin: *).",
        checks.flag,
        aliases=("CORS_ORIGIN_ALLOW_ALL",),
    )
    cors_allow_credentials: bool = _setting(
        "CORS_ALLOW_CREDENTIALS", False, "Send Access-Control-Allow-Credentials: true.", checks.flag
    )
    cors_allow_methods: tuple[str, ...] = _setting(
        "CORS_ALLOW_METHODS",
        ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "QUERY"),
        "Methods answered to preflights ('*' echoes the asked one).",
        checks.strings,
    )
    cors_allow_headers: tuple[str, ...] = _setting(
        "CORS_ALLOW_HEADERS",
        (
            "accept",
            "authorization",
            "content-type",
            "user-agent",
            "x-csrftoken",
            "x-requested-with",
        ),
        "Request headers answered to preflights ('*' echoes the asked ones).",
        checks.strings,
    )
    cors_expose_headers: tuple[str, ...] = _setting(
        "CORS_EXPOSE_HEADERS",
        (),
        "Access-Control-Expose-Headers on actual responses.",
        checks.strings,
    )
    cors_preflight_max_age: int = _setting(
        "CORS_PREFLIGHT_MAX_AGE",
        86400,
        "Access-Control-Max-Age in seconds (0 sends none).",
        checks.int_at_least(0),
        aliases=("CORS_MAX_AGE",),
    )

    # --- Django's settings, with Django's defaults ------------------------------------------------
    debug: bool = _setting(
        "DEBUG",
        global_settings.DEBUG,
        "Django's: error details in responses, the development hosts when ALLOWED_HOSTS is "
        "empty, static files from the finders. A bool or an int: anything else (DEBUG = "
        '"False", a str) stops start-up.',
        checks.django_debug,
    )
    root_urlconf: str | None = _setting(
        "ROOT_URLCONF",
        None,
        "Django's: when set, a path that no API route matches goes to Django's URLs; its "
        "package is where API discovery looks first.",
        checks.optional_text,
    )
    allowed_hosts: tuple[str, ...] = _setting(
        "ALLOWED_HOSTS",
        tuple(global_settings.ALLOWED_HOSTS),
        "Django's: the Host header is checked against it with Django's rules (400 otherwise).",
        checks.strings,
    )
    middleware: tuple[str, ...] = _setting(
        "MIDDLEWARE",
        tuple(global_settings.MIDDLEWARE),
        "Django's: what BoltAPI(django_middleware=True) and load_django_middleware() run.",
        checks.strings,
    )
    append_slash: bool = _setting(
        "APPEND_SLASH",
        global_settings.APPEND_SLASH,
        "Django's: with CommonMiddleware, a path Django knows only with a trailing slash still "
        "goes to Django (which redirects), not to the API's 404.",
        checks.truthy,
    )
    prepend_www: bool = _setting(
        "PREPEND_WWW",
        global_settings.PREPEND_WWW,
        "Django's: with CommonMiddleware, every path a route misses goes to Django (which "
        "redirects).",
        checks.truthy,
    )
    secret_key: str | bytes = _setting(
        "SECRET_KEY",
        global_settings.SECRET_KEY,
        "Django's: JWTAuthentication's key when it is given none (never shown).",
        checks.secret,
        secret=True,
    )
    session_engine: str = _setting(
        "SESSION_ENGINE",
        global_settings.SESSION_ENGINE,
        "Django's: the session store behind request.session.",
        checks.text,
    )
    session_cookie_name: str = _setting(
        "SESSION_COOKIE_NAME",
        global_settings.SESSION_COOKIE_NAME,
        "Django's: the session cookie (and the OpenAPI session scheme).",
        checks.text,
    )
    session_cookie_domain: str | None = _setting(
        "SESSION_COOKIE_DOMAIN",
        global_settings.SESSION_COOKIE_DOMAIN,
        "Django's: the Domain attribute of the session cookie.",
        checks.optional_text,
    )
    session_cookie_path: str = _setting(
        "SESSION_COOKIE_PATH",
        global_settings.SESSION_COOKIE_PATH,
        "Django's: the Path attribute of the session cookie.",
        checks.text,
    )
    session_cookie_secure: bool = _setting(
        "SESSION_COOKIE_SECURE",
        global_settings.SESSION_COOKIE_SECURE,
        "Django's: the Secure attribute of the session cookie.",
        checks.truthy,
    )
    session_cookie_httponly: bool = _setting(
        "SESSION_COOKIE_HTTPONLY",
        global_settings.SESSION_COOKIE_HTTPONLY,
        "Django's: the HttpOnly attribute of the session cookie.",
        checks.truthy,
    )
    session_cookie_samesite: str | None = _setting(
        "SESSION_COOKIE_SAMESITE",
        global_settings.SESSION_COOKIE_SAMESITE,
        "Django's: the SameSite attribute of the session cookie (False: none).",
        checks.samesite,
    )
    session_save_every_request: bool = _setting(
        "SESSION_SAVE_EVERY_REQUEST",
        global_settings.SESSION_SAVE_EVERY_REQUEST,
        "Django's: save every session that was read, modified or not.",
        checks.truthy,
    )
    data_upload_max_memory_size: int | None = _setting(
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
        global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        "Django's: a form body (or a multipart body's fields) larger than this is a 413.",
        checks.optional_int_at_least(0),
    )
    data_upload_max_number_fields: int | None = _setting(
        "DATA_UPLOAD_MAX_NUMBER_FIELDS",
        global_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        "Django's: more form fields than this is a 422 `too_many_fields`.",
        checks.optional_int_at_least(0),
    )
    data_upload_max_number_files: int | None = _setting(
        "DATA_UPLOAD_MAX_NUMBER_FILES",
        global_settings.DATA_UPLOAD_MAX_NUMBER_FILES,
        "Django's: more uploaded files than this is a 400.",
        checks.optional_int_at_least(0),
    )
    file_upload_temp_dir: str | None = _setting(
        "FILE_UPLOAD_TEMP_DIR",
        global_settings.FILE_UPLOAD_TEMP_DIR,
        "Django's: where uploaded files go on disk (None: the system's temporary directory).",
        checks.optional_path,
    )
    static_url: str | None = _setting(
        "STATIC_URL",
        global_settings.STATIC_URL,
        "Django's: the URL prefix STATIC_ROOT is served under (unless DEBUG).",
        checks.optional_text,
    )
    static_root: str | None = _setting(
        "STATIC_ROOT",
        global_settings.STATIC_ROOT,
        "Django's: collected static files, served by the server unless DEBUG.",
        checks.optional_path,
    )
    staticfiles_dirs: tuple[tuple[str, str], ...] = _setting(
        "STATICFILES_DIRS",
        (),
        "Django's: directories (or (prefix, directory) pairs) served under STATIC_URL after "
        "STATIC_ROOT, unless DEBUG.",
        checks.static_dirs,
    )
    secure_csp: str | None = _setting(
        "SECURE_CSP",
        None,
        "Django 6's CSP dict; its Content-Security-Policy (nonces left out) goes on every "
        "static and media file response.",
        checks.csp_policy,
    )
    media_url: str = _setting(
        "MEDIA_URL",
        global_settings.MEDIA_URL,
        "Django's: the URL prefix MEDIA_ROOT is served under (DEBUG too).",
        checks.text,
    )
    media_root: str = _setting(
        "MEDIA_ROOT",
        global_settings.MEDIA_ROOT,
        "Django's: uploaded media, served by the server (DEBUG too).",
        checks.path,
    )
    base_dir: str | None = _setting(
        "BASE_DIR",
        None,
        "startproject's: runbolt --dev watches it for changes (with the working directory).",
        checks.optional_path,
    )
    bolt_broadcast_backend: str = _setting(
        "BOLT_BROADCAST_BACKEND",
        "memory",
        'Where WebSocket broadcast subscribers are found: "memory" (this process) or a '
        "redis:// URL (every process and host using that Redis).",
        checks.broadcast_backend,
    )

    # Not a setting: False when Django's settings were not configured (a bare BoltAPI in a
    # script or test), where every field keeps its default and nothing Django-only is set up.
    configured: bool = False

    @property
    def hosts_in_force(self) -> tuple[str, ...]:
        """``ALLOWED_HOSTS`` as Django applies it: with DEBUG on, an empty list is
        :data:`DEBUG_ALLOWED_HOSTS`."""
        if not self.allowed_hosts and self.debug:
            return DEBUG_ALLOWED_HOSTS
        return self.allowed_hosts


SETTINGS_TABLE: Final[tuple[tuple[dataclasses.Field[Any], Setting], ...]] = tuple(
    (f, f.metadata["setting"]) for f in dataclasses.fields(FrameworkConfig) if f.metadata
)
# The defaults, and the config of a process whose Django settings are not configured.
DEFAULT_CONFIG: Final = FrameworkConfig()
