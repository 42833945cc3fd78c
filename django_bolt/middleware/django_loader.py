"""Django-Bolt 0.13's ``load_django_middleware``, at its import path and with its behaviour.

Here ``BoltAPI(django_middleware=...)`` says the same thing and is checked more strictly (see
:meth:`DjangoMiddlewareStack.from_config`). Code written for Django-Bolt that builds the list
itself, ``BoltAPI(middleware=load_django_middleware(...))``, runs unchanged: it gets one
:class:`DjangoMiddlewareStack`, which ``@skip_middleware("django")`` leaves out like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_bolt.conf import framework_config
from django_bolt.middleware.django import DjangoMiddlewareStack

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = (
    "DEFAULT_EXCLUDED_MIDDLEWARE",
    "get_django_middleware_setting",
    "load_django_middleware",
)

# Dotted paths ``load_django_middleware`` leaves out unless ``exclude_defaults=False``. Empty, as
# in Django-Bolt; read on each call, so a project may add to it before building its APIs.
DEFAULT_EXCLUDED_MIDDLEWARE: set[str] = set()


def load_django_middleware(
    config: bool | list[str] | tuple[str, ...] | dict[str, Any] | None = True,
    *,
    exclude_defaults: bool = True,
) -> list[DjangoMiddlewareStack]:
    """Django middleware for ``BoltAPI(middleware=...)``, resolved and imported now.

    ``config`` is ``True`` (all of ``settings.MIDDLEWARE``), ``False`` or ``None`` (none), a list
    of dotted paths (exactly these, in this order, listed in ``settings.MIDDLEWARE`` or not), or a
    dict with ``"include"`` and/or ``"exclude"`` lists filtering ``settings.MIDDLEWARE`` (names it
    does not list are ignored). With ``exclude_defaults``, :data:`DEFAULT_EXCLUDED_MIDDLEWARE` is
    dropped from ``True`` and dict selections.

    Returns ``[DjangoMiddlewareStack([...])]``, or ``[]`` when nothing is selected. An entry that
    is not a string raises ``ImproperlyConfigured``; a path that does not import, ``ImportError``.
    """
    if config is False or config is None:
        return []
    if isinstance(config, list | tuple):
        paths = list(config)
    elif config is True or isinstance(config, dict):
        selection: dict[str, Any] = config if isinstance(config, dict) else {}
        include = _dotted_paths(selection["include"]) if "include" in selection else None
        exclude = set(DEFAULT_EXCLUDED_MIDDLEWARE) if exclude_defaults else set()
        if "exclude" in selection:
            exclude.update(_dotted_paths(selection["exclude"]))
        paths = [
            path
            for path in get_django_middleware_setting()
            if (include is None or path in include) and path not in exclude
        ]
    else:
        raise TypeError(f"django_middleware must be True, a list or a dict, not {config!r}")
    classes: list[type] = []
    for path in paths:
        if not isinstance(path, str):
            raise ImproperlyConfigured(
                f"django_middleware entries must be dotted path strings, got {path!r}; pass a "
                "class in BoltAPI(middleware=[DjangoMiddlewareStack([...])])"
            )
        classes.append(import_string(path))  # ImportError, as Django's load_middleware raises
    return [DjangoMiddlewareStack(classes)] if classes else []


def get_django_middleware_setting() -> list[str]:
    """Return ``settings.MIDDLEWARE`` as a list; empty when Django's settings are not configured."""
    return list(framework_config().middleware)


def _dotted_paths(value: Iterable[Any]) -> set[str]:
    if isinstance(value, str) or not all(isinstance(path, str) for path in value):
        raise ImproperlyConfigured(
            f"django_middleware include/exclude must be a list of dotted path strings, "
            f"not {value!r}"
        )
    return set(value)
