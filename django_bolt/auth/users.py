"""The Django user behind a token: loaded by ``sub`` on first use, and the backend registry.

Under :class:`~django_bolt.auth.JWTAuthentication` ``request.user`` is a :class:`ClaimsUser`:
``is_authenticated`` and the ``permissions`` claim are answered from the verified claims without
a query; any other attribute (``id``, ``email``, ``is_staff``, ``is_superuser``, ...) is the
row's, as in Django-Bolt 0.13, loaded once with the auth class's ``get_user_sync`` (or
``get_user``), and ``await request.auser()`` loads it without blocking the event loop. The
token's own ``is_staff``/``is_superuser`` stay readable as ``claims_is_staff`` and
``claims_is_superuser``. A token whose user no longer exists is refused with 401 the moment the
user is needed.

``register_auth_backend(name, backend)`` / ``load_user(user_id, name)`` are Django-Bolt's
registry: code that only has a context dict (a background task, a WebSocket consumer) loads the
user the way the route's auth class would.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.functional import LazyObject, empty

from django_bolt._django.db import run_orm
from django_bolt.exceptions import HTTPException
from django_bolt.request import DeferredUser

__all__ = (
    "USER_NOT_FOUND",
    "ClaimsUser",
    "default_get_user_sync",
    "get_registered_backend",
    "load_user",
    "load_user_sync",
    "register_auth_backend",
)

USER_NOT_FOUND: Final = "User not found"


def default_get_user_sync(user_id: Any) -> Any:
    """Return the user whose primary key is ``user_id`` (the ``sub`` claim), or None."""
    if user_id is None or user_id == "":
        return None
    model = get_user_model()
    try:
        return model._default_manager.get(pk=user_id)
    except (model.DoesNotExist, ValidationError, ValueError, TypeError):
        # A sub that the primary key cannot hold ("abc" for an integer key) is no user either.
        return None


def _overrides(backend: Any, name: str) -> bool:
    """Whether ``backend``'s class defines its own ``name`` (not the framework's)."""
    for klass in type(backend).__mro__:
        if name in klass.__dict__:
            return not klass.__dict__.get("_bolt_framework_loader", False)
    return False


def _run_on_other_thread(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` on a helper thread and wait: the caller's thread runs an event loop,
    where Django refuses ORM queries (the loop waits for the query, as in Django-Bolt)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="bolt-user-load", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _blocking_load(backend: Any, user_id: Any, context: dict[str, Any]) -> Any:
    """Load the user synchronously with whichever loader the backend defines."""
    if _overrides(backend, "get_user") and not _overrides(backend, "get_user_sync"):
        result = backend.get_user(user_id, context)
        if inspect.isawaitable(result):
            # An async loader only: run it on a loop of its own (this thread may not have one).
            return asyncio.run(_await(result))
        return result
    return backend.get_user_sync(user_id)


async def _await(pending: Any) -> Any:
    return await pending


def load_user_sync(backend: Any, user_id: Any, context: dict[str, Any] | None = None) -> Any:
    """Return the backend's user for ``user_id`` (None when there is none), blocking.

    On a thread that runs an event loop the query runs on a helper thread (Django refuses the
    ORM on a loop thread); elsewhere it runs here.
    """
    context = context or {}
    if backend is None:
        loader: Any = default_get_user_sync
        args: tuple[Any, ...] = (user_id,)
    else:
        loader, args = _blocking_load, (backend, user_id, context)
    if asyncio._get_running_loop() is not None:
        return _run_on_other_thread(loader, *args)
    return loader(*args)


async def aload_user(backend: Any, user_id: Any, context: dict[str, Any] | None = None) -> Any:
    """Return the backend's user for ``user_id`` without blocking the event loop."""
    context = context or {}
    if backend is None:
        return await run_orm(default_get_user_sync, {"user_id": user_id})
    if _overrides(backend, "get_user") or not _overrides(backend, "get_user_sync"):
        result = backend.get_user(user_id, context)
        return await result if inspect.isawaitable(result) else result
    return await run_orm(backend.get_user_sync, {"user_id": user_id})


class ClaimsUser(LazyObject, DeferredUser):  # type: ignore[misc]
    """``request.user`` under JWT: the Django user of ``sub``, its row loaded on first use.

    ``is_authenticated`` and ``permissions`` (the claim) need no row; ``is_staff`` and
    ``is_superuser`` are the row's, as Django-Bolt 0.13's lazy user answers them (the token's
    say-so is ``claims_is_staff``/``claims_is_superuser``). ``isinstance(request.user, User)``
    holds (and loads the row), as with Django's lazy user.
    """

    def __init__(self, backend: Any, user_id: Any, claims: dict[str, Any], fields: Any) -> None:
        # Stored in __dict__ directly: LazyObject's __setattr__ would load the user.
        self.__dict__["_bolt"] = (backend, user_id, claims, fields)
        super().__init__()

    # Answered without a query: a verified token is an authenticated user.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def claims_is_staff(self) -> bool:
        """The token's ``is_staff`` claim (False when absent); ``is_staff`` is the row's."""
        return bool(self.__dict__["_bolt"][3][2])

    @property
    def claims_is_superuser(self) -> bool:
        """The token's ``is_superuser`` claim (False when absent); ``is_superuser`` is the
        row's."""
        return bool(self.__dict__["_bolt"][3][3])

    @property
    def permissions(self) -> frozenset[str]:
        """The ``permissions`` claim (what ``HasPermission`` and ``Requires`` read)."""
        return frozenset(self.__dict__["_bolt"][3][4])

    @property
    def claims(self) -> dict[str, Any]:
        """The verified claims of the token."""
        return dict(self.__dict__["_bolt"][2])

    @property
    def user_id(self) -> Any:
        """The ``sub`` claim, as the token carries it (a string)."""
        return self.__dict__["_bolt"][1]

    @property
    def is_loaded(self) -> bool:
        """Whether the row has been loaded."""
        return self._wrapped is not empty

    def _setup(self) -> None:
        backend, user_id, claims, _ = self.__dict__["_bolt"]
        self._wrapped = _found(load_user_sync(backend, user_id, claims))

    async def aresolve(self) -> Any:
        """Return the loaded user, querying without blocking the loop the first time."""
        if self._wrapped is empty:
            backend, user_id, claims, _ = self.__dict__["_bolt"]
            self._wrapped = _found(await aload_user(backend, user_id, claims))
        return self._wrapped

    def __repr__(self) -> str:
        if self._wrapped is empty:
            return f"<ClaimsUser sub={self.__dict__['_bolt'][1]!r} (not loaded)>"
        return repr(self._wrapped)


def _found(user: Any) -> Any:
    if user is None:
        # The token was good but names nobody (the user was deleted since).
        raise HTTPException(401, USER_NOT_FOUND, {"WWW-Authenticate": "Bearer"})
    return user


# --- Django-Bolt's registry --------------------------------------------------------------------

_registry: dict[str, Any] = {}


def register_auth_backend(backend_name: str, backend_instance: Any) -> None:
    """Make ``backend_instance`` the one :func:`load_user` uses for ``backend_name``."""
    _registry[backend_name] = backend_instance


def get_registered_backend(backend_name: str) -> Any | None:
    """Return the backend registered under ``backend_name``, or None."""
    return _registry.get(backend_name)


async def load_user(
    user_id: Any, backend_name: str | None, auth_context: dict[str, Any] | None = None
) -> Any | None:
    """Return the user ``user_id`` as the backend registered under ``backend_name`` loads it.

    None for an empty id, or when the user does not exist. A name nobody registered (a session,
    say) loads by primary key from the user model; a registered backend without a loader (an
    API-key class) loads nobody.
    """
    if user_id is None or user_id == "":
        return None
    backend = _registry.get(backend_name) if backend_name else None
    if backend is not None and not callable(getattr(backend, "get_user_sync", None)):
        getter = getattr(backend, "get_user", None)
        if getter is None:
            return None
        result = getter(user_id, auth_context or {})
        return await result if inspect.isawaitable(result) else result
    return await aload_user(backend, user_id, auth_context)
