"""The current user as a handler argument, and the auth context helpers (Django-Bolt's names).

``def me(user: CurrentUser)`` receives the authenticated user or answers 401;
``OptionalCurrentUser`` receives it or ``None``. They are ``Depends`` aliases, so they cost
nothing on routes that do not use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from django_bolt.exceptions import Unauthorized
from django_bolt.params import Depends
from django_bolt.request import Request  # noqa: TC001 - the binder reads the annotation

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = (
    "CurrentUser",
    "OptionalCurrentUser",
    "extract_user_id_from_context",
    "get_auth_context",
    "get_current_user",
    "get_current_user_sync",
    "require_current_user",
    "require_current_user_sync",
)


async def get_current_user(request: Request) -> Any:
    """Return the authenticated user (``await request.auser()``), or None when there is none."""
    user = await request.auser()
    if user is None or not user.is_authenticated:
        return None
    return user


def get_current_user_sync(request: Request) -> Any:
    """:func:`get_current_user` for sync code (reads ``request.user``)."""
    user = request.user
    if not user or not user.is_authenticated:
        return None
    return user


async def require_current_user(request: Request) -> Any:
    """Return the authenticated user; 401 when there is none."""
    user = await get_current_user(request)
    if user is None:
        raise Unauthorized("Authentication required")
    return user


def require_current_user_sync(request: Request) -> Any:
    """:func:`require_current_user` for sync code."""
    user = get_current_user_sync(request)
    if user is None:
        raise Unauthorized("Authentication required")
    return user


# Any at run time: annotate with your user model through Annotated[User, Depends(...)].
CurrentUser = Annotated[Any, Depends(require_current_user)]
OptionalCurrentUser = Annotated[Any, Depends(get_current_user)]


def extract_user_id_from_context(request: Request | Mapping[str, Any]) -> Any:
    """``request.context["user_id"]``, or None for an anonymous request.

    ``request`` is the request, or (as Django-Bolt 0.13 also takes) a mapping with a
    ``"context"`` key.
    """
    return get_auth_context(request).get("user_id")


def get_auth_context(request: Request | Mapping[str, Any]) -> dict[str, Any]:
    """``request.context`` (``user_id``, ``is_staff``, ``auth_backend``, ...), ``{}`` if none.

    ``request`` is the request, or a mapping with a ``"context"`` key (0.13's dict spelling).
    """
    context = request.get("context")
    if isinstance(context, dict):
        return context
    return dict(context) if context else {}
