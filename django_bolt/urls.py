"""A reverse-only URLconf: Django's ``reverse()`` and ``{% url %}`` for the API's route names.

Include it in the project's URLconf (``path("", include("django_bolt.urls"))``). It lists
every named route of the project's APIs (found as ``runbolt`` finds them) as a Django URL
pattern that exists for reversing: the API serves those paths before Django sees them. A
request that reaches one anyway (``/items/abc`` when the route takes ``{item_id:int}``: the
pattern is untyped) gets the API's JSON 404. Routes of an API built with ``namespace=``
reverse as ``"namespace:name"`` only; a mounted API without a namespace takes its parent's.

A name given with ``name=`` is explicit; one derived from a function or class name is not.
Several methods on one path share a name; an explicit name wins over a derived one for the
same key; two explicit names for different paths are an ``ImproperlyConfigured`` error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseNotFound
from django.urls import include, path

from django_bolt.discovery import discover_apis

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.urls import URLPattern, URLResolver

    from django_bolt.api import BoltAPI
    from django_bolt.router import RouteInfo

__all__ = ("bolt_urlpatterns", "build_urlpatterns", "django_route", "urlpatterns")

_PARAMETER: Final = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


def django_route(template: str) -> str:
    """Return a route template as Django writes it (``/f/{rest:path}`` -> ``f/<path:rest>``)."""

    def convert(match: re.Match[str]) -> str:
        name, converter = match[1], match[2]
        return f"<path:{name}>" if converter == "path" else f"<{name}>"

    return _PARAMETER.sub(convert, template).lstrip("/")


def _not_served_here(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseNotFound:
    """Answer a path that only matched a reverse-only pattern: the API's JSON 404."""
    return HttpResponseNotFound(b'{"detail":"Not Found"}', content_type="application/json")


def build_urlpatterns(routes: Iterable[RouteInfo]) -> list[Any]:
    """Return reverse-only URL patterns for the named ``routes`` (see the module docstring)."""
    chosen: dict[tuple[str, str], tuple[str, bool]] = {}
    for info in routes:
        if not info.name:
            continue
        key = (info.namespace or "", info.name)
        route = django_route(info.path)
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
        pattern = path(route, _not_served_here, name=name)
        (grouped.setdefault(namespace, []) if namespace else flat).append(pattern)
    for namespace, patterns in grouped.items():
        flat.append(path("", include((patterns, namespace))))
    return flat


def bolt_urlpatterns(apis: Iterable[BoltAPI] | None = None) -> list[URLPattern | URLResolver]:
    """Return reverse-only patterns for the routes of ``apis`` (default: the project's APIs)."""
    chosen = discover_apis() if apis is None else apis
    return build_urlpatterns(info for api in chosen for info in api.routes())


urlpatterns = bolt_urlpatterns()
