"""Values a request carries for handlers and auth classes: ``State`` and ``DeferredUser``.

Kept apart from ``request.py`` (which is compiled): ``State`` is a ``dict`` subclass and its
attribute access is hidden from type checkers, neither of which a compiled class may be.
``django_bolt.request`` exports both names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ("DeferredUser", "State")


class State(dict[str, Any]):
    """Free-form per-request values, by attribute or by key: ``state.a`` is ``state["a"]``.

    Attribute style is this framework's own; key style is how Django-Bolt code writes it
    (``request.state["tenant"] = t``). Both views are the one dict, so middleware written either
    way sees what the other stored. A missing attribute raises ``AttributeError`` (so ``getattr``
    with a default works) and a missing key ``KeyError``.
    """

    __slots__ = ()

    if not TYPE_CHECKING:
        # Hidden from type checkers on purpose: typed code keeps being told that an attribute
        # it reads on ``State`` was never declared (use ``state["name"]`` for typed access).

        def __getattr__(self, name: str) -> Any:
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name: str, value: Any) -> None:
            self[name] = value

        def __delattr__(self, name: str) -> None:
            try:
                del self[name]
            except KeyError:
                raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"State({dict.__repr__(self)})"


class DeferredUser:
    """A user an auth class stands in for until the row is needed (JWT's ``ClaimsUser``).

    ``await request.auser()`` calls :meth:`aresolve` and keeps the loaded user on the request.
    """

    __slots__ = ()

    async def aresolve(self) -> Any:
        """Return the loaded user."""
        raise NotImplementedError
