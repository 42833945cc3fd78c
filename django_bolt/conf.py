"""Django-Bolt's settings: the server's option table and the framework's configuration.

The server's options (:class:`ServerConfig`, :data:`OPTIONS`, :func:`load_server_config`,
:class:`TrustedProxies`) live in :mod:`django_bolt.server.config`, the one table ``runbolt``'s
flags are generated from.

Everything else the framework reads from Django's settings is one field of
:class:`FrameworkConfig` (:mod:`django_bolt._conf`): its own ``BOLT_*`` settings, the
``CORS_*`` settings (django-cors-headers' names and defaults) and the Django settings it uses
(``DEBUG``, ``ALLOWED_HOSTS``, ``SESSION_*``, ...), each declared once with its default, help
text and check. :func:`framework_config` reads and checks them all when an API is compiled,
never on the request path; a value that cannot be used raises ``ImproperlyConfigured`` naming
the setting, the value and what was expected. ``docs/settings.md`` lists both tables.

Both are re-exported here, where users and the docs import them.
"""

from __future__ import annotations

from django_bolt._conf.checks import parse_origin
from django_bolt._conf.framework import (
    DEFAULT_COMPRESSION,
    DEFAULT_CONFIG,
    SETTINGS_TABLE,
    FrameworkConfig,
    Setting,
)
from django_bolt._conf.read import (
    FRAMEWORK_SETTINGS,
    as_framework_config,
    cache_until_settings_change,
    framework_config,
    framework_setting,
    read_framework_config,
    reset_framework_config,
)
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

__all__ = (
    "DEFAULT_COMPRESSION",
    "DEFAULT_CONFIG",
    "FRAMEWORK_SETTINGS",
    "KIB",
    "MIB",
    "OPTIONS",
    "SETTINGS_TABLE",
    "FrameworkConfig",
    "Option",
    "ServerConfig",
    "ServerConfigError",
    "Setting",
    "TrustedProxies",
    "as_framework_config",
    "cache_until_settings_change",
    "default_workers",
    "framework_config",
    "framework_setting",
    "load_server_config",
    "parse_origin",
    "read_framework_config",
    "reset_framework_config",
)
