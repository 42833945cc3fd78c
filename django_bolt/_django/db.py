"""Django's database rules around API requests: connections, ``ATOMIC_REQUESTS`` and signals.

Django closes or checks a thread's connections at every request boundary (its
``close_old_connections`` receiver on ``request_started`` and ``request_finished``): that is how
``CONN_MAX_AGE`` and ``CONN_HEALTH_CHECKS`` work, and how a connection broken by a database
restart is dropped instead of failing forever. Connections are per thread, so the boundary has
to be kept on the thread that holds them. There are two kinds of such threads here:

* **Pool threads** run ``def`` handlers (and everything else sent to the pool). Once
  :func:`install_connection_tracking` has run (when the API compiles), every pool call goes
  through :func:`run_pooled`, which settles the thread's connections after the call, on the
  same thread, but only when the call touched the database. A marker added to each connection's
  ``execute_wrappers`` (and the ``connection_created`` signal) notes that in a thread-local flag;
  a call that never queried costs one attribute read. Before a call, only a connection whose
  ``CONN_MAX_AGE`` has run out since the last settle is closed (one clock read while a
  connection is open).
* **asgiref's thread-sensitive thread** runs every async ORM call (``aget``, ``acount``, ``async
  for``...). Asking that thread to check its connections after each async request would cost
  every request a thread hop. Instead the same marker raises a process-wide flag when a query
  runs there; ``dispatch`` looks at that flag after the handler and, when it is up, queues one
  settle on that thread without waiting for it. Requests that did no database work never see
  the flag up; any number of requests that did share one queued settle. The settle skips a
  connection inside a transaction, so it can never cut into another request's atomic block.

A settle is Django's ``close_if_unusable_or_obsolete`` on each connection the thread opened:
closes it when ``CONN_MAX_AGE`` has passed (at once with the default 0), when an error left it
unusable, or when autocommit was not restored; and re-arms ``CONN_HEALTH_CHECKS`` so the next
use pings first.

``ATOMIC_REQUESTS`` and ``BOLT_EMIT_SIGNALS`` are decided once per route, when the API is
compiled: :func:`wrap_handler` returns the handler itself when neither applies.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from asgiref.sync import SyncToAsync, sync_to_async
from django.core.handlers.base import BaseHandler
from django.core.signals import request_finished, request_started
from django.db import connections, transaction
from django.db.backends.signals import connection_created

from django_bolt.concurrency import is_inline_safe, wrap_pool_calls

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "SHARED",
    "install_connection_tracking",
    "run_pooled",
    "schedule_shared_settle",
    "wrap_handler",
)

logger: Final = logging.getLogger("django_bolt")


class _ThreadState(threading.local):
    """What one pool thread knows about its own connections."""

    # A pool thread (settled by run_pooled) rather than the async ORM's thread (settled by
    # schedule_shared_settle).
    pooled: bool = False
    # A query ran (or a connection opened) since the last settle.
    used: bool = False
    # Earliest ``close_at`` of the connections left open by the last settle.
    deadline: float | None = None


class _Shared:
    """The async ORM thread's flags, read by every event loop thread of the process."""

    __slots__ = ("dirty", "scheduled")

    def __init__(self) -> None:
        self.dirty = False
        self.scheduled = False


_state: Final = _ThreadState()
SHARED: Final = _Shared()
_installed = False
_install_lock: Final = threading.Lock()


def _note_use() -> None:
    state = _state
    if state.pooled:
        state.used = True
    else:
        SHARED.dirty = True


def _mark(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any) -> Any:
    """An ``execute_wrapper`` on every connection: note that this thread used the database."""
    _note_use()
    return execute(sql, params, many, context)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    wrappers = connection.execute_wrappers
    if _mark not in wrappers:
        wrappers.append(_mark)
    # Opening counts as use: with CONN_MAX_AGE = 0 the connection must be closed afterwards.
    _note_use()


def install_connection_tracking() -> None:
    """Hook the marker onto every connection opened from now on (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        connection_created.connect(_on_connection_created, dispatch_uid="django_bolt._db")
        # Connections this thread already opened (system checks, a test's setup) get it too.
        for conn in connections.all(initialized_only=True):
            if _mark not in conn.execute_wrappers:
                conn.execute_wrappers.append(_mark)
        # Every pool call from now on settles its thread's connections (run_pooled).
        wrap_pool_calls(run_pooled)
        _installed = True


def _settle() -> float | None:
    """Django's request-boundary check on this thread's connections; the next deadline."""
    deadline: float | None = None
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # someone's transaction: never closed from under it
        conn.close_if_unusable_or_obsolete()
        close_at = conn.close_at
        if conn.connection is not None and close_at is not None:
            deadline = close_at if deadline is None else min(deadline, close_at)
    return deadline


def run_pooled(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``fn(**kwargs)`` in a pool thread, keeping Django's connection rules for the thread."""
    state = _state
    state.pooled = True
    deadline = state.deadline
    if deadline is not None and time.monotonic() >= deadline:
        # CONN_MAX_AGE ran out while the thread was idle: close before the handler reuses it.
        state.deadline = _settle()
    try:
        return fn(**kwargs)
    finally:
        if state.used:
            state.used = False
            try:
                state.deadline = _settle()
            except Exception:
                # Closing a broken connection can fail too; the call's own outcome matters more.
                logger.exception("closing database connections after a request failed")


def _settle_shared() -> None:
    SHARED.scheduled = False
    SHARED.dirty = False
    try:
        _settle()
    except Exception:
        logger.exception("closing database connections after a request failed")


def schedule_shared_settle() -> None:
    """Queue one settle on asgiref's thread-sensitive thread (where the async ORM runs)."""
    shared = SHARED
    if shared.scheduled:
        return
    shared.scheduled = True
    # Not awaited: the response need not wait. FIFO on that single thread, so the settle runs
    # before any query queued after this request, exactly where the next request would start.
    try:
        SyncToAsync.single_thread_executor.submit(_settle_shared)
    except RuntimeError:  # the interpreter is shutting down: nothing left to settle for
        shared.scheduled = False


# --- fork -------------------------------------------------------------------------------------


def _after_fork_in_child() -> None:
    """Executors whose threads did not survive ``fork()`` would queue work forever: renew them.

    Connections are not touched here: closing one in the child would end the parent's session
    on the shared socket. The parent closes them before forking (``runbolt`` does). The sync
    pool drops its own threads (``concurrency``).
    """
    SHARED.dirty = False
    SHARED.scheduled = False
    if getattr(SyncToAsync.single_thread_executor, "_threads", None):
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# --- per route, at compile time ---------------------------------------------------------------


def _atomic_aliases(fn: Callable[..., Any]) -> list[str]:
    exempt: set[str] = getattr(fn, "_non_atomic_requests", set())
    return [
        alias
        for alias, settings_dict in connections.settings.items()
        if settings_dict.get("ATOMIC_REQUESTS") and alias not in exempt
    ]


def _send_sync(signal: Any) -> None:
    signal.send(sender=BaseHandler)


async def _send_async(signal: Any) -> None:
    asend = getattr(signal, "asend", None)
    if asend is not None:
        # Django >= 5.0: sync receivers (close_old_connections) run on the thread-sensitive
        # thread, i.e. on the connections the async ORM uses.
        await asend(sender=BaseHandler)
        return
    await sync_to_async(signal.send)(sender=BaseHandler)


def wrap_handler(
    fn: Callable[..., Any], *, inline: bool | None, emit_signals: bool
) -> Callable[..., Any]:
    """``fn`` wrapped for ``ATOMIC_REQUESTS`` (``def`` handlers) and Django's request signals.

    Returns ``fn`` itself when neither applies, so such routes pay nothing. Generators are left
    alone (their body runs while the response streams, outside any wrapper), and so are ``def``
    handlers that run inline on the event loop: they provably touch no database.
    """
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        return fn
    is_async = inspect.iscoroutinefunction(fn)
    if not is_async and (inline or (inline is None and is_inline_safe(fn))):
        return fn
    if is_async:
        if not emit_signals:
            # Django refuses ATOMIC_REQUESTS for async views; each async ORM call commits on
            # its own, so there is no request-wide transaction to wrap.
            return fn

        @functools.wraps(fn)
        async def signalled(**kwargs: Any) -> Any:
            await _send_async(request_started)
            try:
                return await fn(**kwargs)
            finally:
                await _send_async(request_finished)

        return signalled

    target = fn
    aliases = _atomic_aliases(fn)
    if aliases:
        # Built once: an Atomic keeps its state on the connection, so one decorator instance
        # serves every thread. Nested like Django's make_view_atomic, one block per database.
        for alias in aliases:
            target = transaction.atomic(using=alias)(target)
    if not emit_signals:
        return target

    inner = target

    @functools.wraps(fn)
    def signalled_sync(**kwargs: Any) -> Any:
        # In the pool thread that runs the handler: Django's receivers (close_old_connections)
        # act on this thread's connections, as they would under WSGI.
        _send_sync(request_started)
        try:
            return inner(**kwargs)
        finally:
            _send_sync(request_finished)

    return signalled_sync
