"""Django-style shortcuts for handlers: ``render`` a template into an HTML response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string

from django_bolt.enums import MediaType
from django_bolt.responses import Response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django_bolt.request import Request

__all__ = ("render",)


def render(
    request: Request,
    template_name: str | list[str],
    context: Mapping[str, Any] | None = None,
    content_type: str = MediaType.HTML,
    status: int = 200,
    using: str | None = None,
) -> Response:
    """``template_name`` rendered with ``context`` by Django's template engine, as a response.

    The request is given to the engine, so context processors run as in a Django view
    (``request``, ``user``, ``messages``...). Templates load and render synchronously, as in
    Django's own ``render``: fine for templates on disk, cached by Django's loaders.
    """
    content = render_to_string(template_name, context, request, using=using)
    return Response(content, status_code=status, media_type=str(content_type))
