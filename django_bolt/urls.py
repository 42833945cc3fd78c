"""A reverse-only URLconf for the APIs' route names: ``path("", include("django_bolt.urls"))``.

Django's ``reverse()``, ``reverse_lazy()`` and ``{% url %}`` then resolve the names of the
project's API routes (``name=``, else the handler's function name). A route of an API built
with ``BoltAPI(namespace="missions")`` reverses only as ``"missions:<name>"``; a mounted API
without a namespace of its own takes the mounting API's.

The patterns exist for reversing: the API answers these paths before Django is asked. A request
that reaches one anyway (``/items/abc`` when the route takes ``{item_id:int}``: the pattern is
untyped) gets the API's JSON 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseNotFound
from django.urls import include, path

from django_bolt._dispatch.table import normalize_path
from django_bolt.discovery import discover_apis
from django_bolt.router import join_paths

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from django.urls import URLPattern, URLResolver

    from django_bolt.api import BoltAPI
    from django_bolt.router import RouteInfo

__all__ = ("bolt_urlpatterns", "urlpatterns")

_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")


def _not_served_here(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseNotFound:
    """Answer a path that only matched a reverse-only pattern: the API's JSON 404."""
    return HttpResponseNotFound(b'{"detail":"Not Found"}', content_type="application/json")


def django_route(bolt_path: str) -> str:
    """Return a route path as a Django ``path()`` route (``{x:path}`` keeps its slashes)."""

    def converter(match: re.Match[str]) -> str:
        name, kind = match[1], match[2]
        return f"<path:{name}>" if kind == "path" else f"<{name}>"

    return _PARAM.sub(converter, bolt_path.lstrip("/"))


def _walk(
    api: BoltAPI, prefix: str, namespace: str | None
) -> Iterator[tuple[str | None, str, RouteInfo]]:
    """Yield ``(namespace, full path, route)`` for the API's routes and its mounted APIs'."""
    namespace = api.namespace or namespace
    for info in api.iter_routes():
        yield namespace, normalize_path(join_paths(prefix, info.path), api.trailing_slash), info
    for mount_prefix, child in api._mounts:
        # BoltAPI._flatten's rule for a mounted API's paths.
        yield from _walk(child, join_paths(prefix, join_paths(api.prefix, mount_prefix)), namespace)


def _explicit(info: RouteInfo) -> bool:
    return info.name != getattr(info.endpoint, "__name__", None)


def _names(apis: Iterable[BoltAPI]) -> dict[str | None, dict[str, tuple[str, bool]]]:
    """Return ``{namespace: {name: (path, explicit)}}``, with 0.13's collision rules."""
    found: dict[str | None, dict[str, tuple[str, bool]]] = {}
    for api in apis:
        for namespace, full_path, info in _walk(api, "", None):
            if not info.name:
                continue
            names = found.setdefault(namespace, {})
            explicit = _explicit(info)
            known = names.get(info.name)
            if known is None or (explicit and not known[1]):
                names[info.name] = (full_path, explicit)
            elif known[0] != full_path and explicit and known[1]:
                label = f"{namespace}:{info.name}" if namespace else info.name
                raise ImproperlyConfigured(
                    f"route name {label!r} names two paths: {known[0]!r} and {full_path!r}"
                )
    return found


def bolt_urlpatterns(apis: Iterable[BoltAPI] | None = None) -> list[URLPattern | URLResolver]:
    """Return reverse-only patterns for the routes of ``apis`` (default: the project's APIs)."""
    found = _names(discover_apis() if apis is None else apis)
    patterns: list[URLPattern | URLResolver] = []
    for namespace, names in found.items():
        inner = [
            path(django_route(route), _not_served_here, name=name)
            for name, (route, _) in names.items()
        ]
        if namespace is None:
            patterns.extend(inner)
        else:
            patterns.append(path("", include((inner, namespace), namespace=namespace)))
    return patterns


urlpatterns = bolt_urlpatterns()
