"""A reverse-only URLconf: Django's ``reverse()`` and ``{% url %}`` for the API's route names.

Include it in the project's URLconf (``path("", include("django_bolt.urls"))``). It lists
every named route of the project's APIs (found as ``runbolt`` finds them) as a Django URL
pattern whose view never runs: the API serves those paths before Django sees them (and the
fall-through reaches Django only for paths no route has). Routes of an API built with
``namespace=`` reverse as ``"namespace:name"`` only.

A name given with ``name=`` is explicit; one derived from a function or class name is not.
Several methods on one path share a name; an explicit name wins over a derived one for the
same key; two explicit names for different paths are an ``ImproperlyConfigured`` error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path

from django_bolt.discovery import discover_apis

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest, HttpResponse

    from django_bolt.router import RouteInfo

__all__ = ("build_urlpatterns", "urlpatterns")

_PARAMETER: Final = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


def _django_route(template: str) -> str:
    """Return a route template as Django writes it (``/f/{rest:path}`` -> ``f/<path:rest>``)."""

    def convert(match: re.Match[str]) -> str:
        name, converter = match[1], match[2]
        return f"<path:{name}>" if converter == "path" else f"<{name}>"

    return _PARAMETER.sub(convert, template).lstrip("/")


def _never_called(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise RuntimeError("a reverse-only URL pattern of django_bolt.urls was resolved")


def build_urlpatterns(routes: Iterable[RouteInfo]) -> list[Any]:
    """Return reverse-only URL patterns for the named ``routes`` (see the module docstring)."""
    chosen: dict[tuple[str, str], tuple[str, bool]] = {}
    for info in routes:
        if not info.name:
            continue
        key = (info.namespace or "", info.name)
        route = _django_route(info.path)
        previous = chosen.get(key)
        if previous is None or (info.name_explicit and not previous[1]):
            chosen[key] = (route, info.name_explicit)
            continue
        if previous[0] != route and info.name_explicit and previous[1]:
            label = f"{key[0]}:{key[1]}" if key[0] else key[1]
            raise ImproperlyConfigured(
                f"route name {label!r} names both {previous[0]!r} and {route!r}"
            )
    flat: list[Any] = []
    grouped: dict[str, list[Any]] = {}
    for (namespace, name), (route, _) in chosen.items():
        pattern = path(route, _never_called, name=name)
        (grouped.setdefault(namespace, []) if namespace else flat).append(pattern)
    for namespace, patterns in grouped.items():
        flat.append(path("", include((patterns, namespace))))
    return flat


urlpatterns = build_urlpatterns(info for api in discover_apis() for info in api.routes())
