"""Reading :class:`~django_bolt._conf.framework.FrameworkConfig` from Django's settings.

:func:`framework_config` reads and checks every setting once, when an API is compiled, and keeps
the result until a setting changes: Django's ``setting_changed`` signal, or a new settings holder
(``override_settings`` swaps one in, also for a deletion, which sends no signal). Values other
modules derive from it are dropped with it through :func:`cache_until_settings_change`: one
mechanism for every cache of settings. Nothing here runs on the request path.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final, TypeVar

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from django_bolt._conf.framework import DEFAULT_CONFIG, SETTINGS_TABLE, FrameworkConfig, Setting

if TYPE_CHECKING:
    import dataclasses
    from collections.abc import Callable, Mapping

__all__ = (
    "FRAMEWORK_SETTINGS",
    "as_framework_config",
    "cache_until_settings_change",
    "framework_config",
    "framework_setting",
    "read_framework_config",
    "reset_framework_config",
)

_T = TypeVar("_T")

_BY_NAME: Final = {setting.name: (f, setting) for f, setting in SETTINGS_TABLE}


def _read(f: dataclasses.Field[Any], setting: Setting, settings: object) -> Any:
    """One setting's value from ``settings``, checked; its default when it is not set."""
    for name in (setting.name, *setting.aliases):
        try:
            raw = getattr(settings, name)
        except AttributeError:
            continue
        except ImproperlyConfigured:
            # Django refuses to hand out an empty SECRET_KEY; it reads as unset here, and what
            # needs a key (JWTAuthentication without secret=) refuses it there.
            return f.default
        try:
            return setting.parse(raw)
        except ValueError as exc:
            source = name if name == setting.name else f"{name} (read as {setting.name})"
            shown = "(value not shown)" if setting.secret else repr(raw)
            raise ImproperlyConfigured(f"{source} = {shown}: expected {exc}") from None
    return f.default


def read_framework_config(settings: object | None) -> FrameworkConfig:
    """Read and check every framework setting from ``settings`` (any object with attributes).

    ``None`` stands for Django settings that are not configured: every field keeps its
    default. A value that cannot be used raises ``ImproperlyConfigured`` naming the setting,
    the value (never a secret's) and what was expected.
    """
    if settings is None:
        return DEFAULT_CONFIG
    values = {f.name: _read(f, setting, settings) for f, setting in SETTINGS_TABLE}
    return FrameworkConfig(**values, configured=True)


def _configured_settings() -> object | None:
    """Django's settings, or None when they are not configured."""
    try:
        # Touching a setting is what loads DJANGO_SETTINGS_MODULE, or raises without one.
        django_settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured:
        return None
    configured: object = django_settings
    return configured


# The config read last, and the settings holder it was read from: override_settings (and so
# pytest-django's ``settings`` fixture) swaps the holder in and out, even for a deletion, which
# sends no setting_changed; a new holder means "read again".
_current: FrameworkConfig | None = None
_current_source: object = None
_derived_caches: Final[list[Callable[[], None]]] = []


def _kept() -> FrameworkConfig | None:
    """Return the config read last, if the settings it was read from are still the ones in use."""
    config = _current
    if config is not None and _current_source is django_settings._wrapped:
        return config
    return None


def framework_config() -> FrameworkConfig:
    """Return the framework's settings, read from Django's settings once and checked.

    Kept until a setting changes. Without configured Django settings: the defaults
    (``configured`` False), not kept, so settings configured later are read.
    """
    global _current, _current_source
    config = _kept()
    if config is None:
        settings = _configured_settings()
        config = read_framework_config(settings)
        if settings is not None:
            # Values derived from the config read before go with it. Two threads may both
            # read here; they build equal objects and either may stay.
            for clear in _derived_caches:
                clear()
            _current, _current_source = config, django_settings._wrapped
    return config


def as_framework_config(settings: object | None) -> FrameworkConfig:
    """Return ``settings`` as a :class:`FrameworkConfig`, for builders that take either.

    A FrameworkConfig is returned as it is; None or Django's settings object (what callers
    that predate FrameworkConfig pass) means :func:`framework_config`; any other object with
    attributes is read by :func:`read_framework_config`.
    """
    if isinstance(settings, FrameworkConfig):
        return settings
    if settings is None or settings is django_settings:
        return framework_config()
    return read_framework_config(settings)


def cache_until_settings_change(build: Callable[[], _T]) -> Callable[[], _T]:
    """Decorate a function of no arguments whose result derives from the settings.

    The result is kept until a setting changes or :func:`framework_config` reads the settings
    again (compiling an API does), as :func:`framework_config`'s is. A value built while
    Django's settings are not configured is kept too, until then.
    """
    cached = functools.cache(build)
    _derived_caches.append(cached.cache_clear)
    return cached


def reset_framework_config(**_: Any) -> None:
    """Forget the settings read so far, and every value derived from them."""
    global _current
    _current = None
    for clear in _derived_caches:
        clear()


setting_changed.connect(reset_framework_config, dispatch_uid="django_bolt.conf")


# --- the older interface: a name -> (default, help) table and a one-setting reader ---------------


def _as_written(value: Any) -> Any:
    # Settings are written as lists; the table shows the defaults as they would be written.
    return list(value) if isinstance(value, tuple) else value


FRAMEWORK_SETTINGS: Final[Mapping[str, tuple[object, str]]] = {
    **{setting.name: (_as_written(f.default), setting.help) for f, setting in SETTINGS_TABLE},
    **{
        alias: (None, f"Another name for {setting.name}, read when that one is not set.")
        for _, setting in SETTINGS_TABLE
        for alias in setting.aliases
    },
}


def framework_setting(name: str, settings: object | None = None) -> object:
    """Read and check one framework setting (at start-up), or return its default.

    ``settings`` defaults to Django's (the defaults when they are not configured). Only this
    setting is checked, so it can be read while another one is broken (``runbolt --dev`` reads
    ``DEBUG`` to decide how to show that error); the framework otherwise uses
    :func:`framework_config`. An older name (``CORS_MAX_AGE``) gives its raw value or None.
    """
    if settings is None:
        settings = _configured_settings()
    if name not in _BY_NAME:
        if name not in FRAMEWORK_SETTINGS:
            raise KeyError(name)
        return getattr(settings, name, None)
    f, setting = _BY_NAME[name]
    if settings is None:
        return f.default
    kept = _kept() if settings is django_settings else None
    return getattr(kept, f.name) if kept is not None else _read(f, setting, settings)
