"""Django's database rules around API requests: connections, ``ATOMIC_REQUESTS`` and signals.

Connections are per thread, so their care has to happen on the thread that holds them. Two kinds
of threads hold connections here:

* **Pool threads** run ``def`` handlers (and everything else sent to the pool). Once
  :func:`install_connection_tracking` has run (when the API compiles), every pool call goes
  through :func:`run_pooled`. A marker added to each connection's ``execute_wrappers`` (and the
  ``connection_created`` signal) notes in a thread-local flag that a call touched the database;
  a call that never queried costs one attribute read afterwards.
* **asgiref's thread-sensitive thread** runs every async ORM call. The same marker raises a
  process-wide flag there; ``dispatch`` looks at it after the handler and, when it is up, queues
  one settle on that thread without waiting for it.

What happens to a connection depends on its database's settings (as Django-Bolt 0.13 does it):

* **Neither a positive** ``CONN_MAX_AGE`` **nor** ``CONN_HEALTH_CHECKS`` (Django's defaults): the
  thread keeps its connection between requests; reconnecting for every request costs a TCP and
  authentication round trip (PostgreSQL: most of a small query's time). After a call that used
  it, a connection whose query raised is pinged, and dropped when it does not answer; so is one
  left outside autocommit. A dead connection means the database restarted or failed over, so
  every thread drops its connection to that database before its next call (a generation
  counter per alias, compared before each call).
* **A positive** ``CONN_MAX_AGE`` **(or** ``None``**) or** ``CONN_HEALTH_CHECKS``: Django's own
  request-boundary check (``close_if_unusable_or_obsolete``) runs before each call on a thread
  holding such a connection and after each call that used it: timed recycling and health checks
  work as under Django.
* **A connection pool** (``OPTIONS["pool"]``, where Django requires ``CONN_MAX_AGE = 0``): the
  check after each call that used it gives the connection back to the pool, so a thread holds
  a pooled connection only while it has work.

A connection inside an atomic block is never touched, so a settle can never cut into another
request's transaction.

``ATOMIC_REQUESTS`` and ``BOLT_EMIT_SIGNALS`` are decided once per route, when the API is
compiled: :func:`wrap_handler` returns the handler itself when neither applies.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
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
    """What one thread knows about its own connections."""

    # A pool thread (settled by run_pooled) rather than the async ORM's thread (settled by
    # schedule_shared_settle).
    pooled: bool = False
    # A query ran (or a connection opened) since the last settle.
    used: bool = False
    # The last settle left a connection open that needs care before the next call: one under
    # Django's check, or one that must follow a generation change of its database.
    watch: bool = False
    # _GENERATIONS.total when this thread last looked at the generations.
    seen_total: int = 0


class _Shared:
    """The async ORM thread's flags, read by every event loop thread of the process."""

    __slots__ = ("dirty", "scheduled")

    def __init__(self) -> None:
        self.dirty = False
        self.scheduled = False


class _Generations:
    """Per database alias, how many times a thread found its connection dead."""

    __slots__ = ("by_alias", "total")

    def __init__(self) -> None:
        self.by_alias: dict[str, int] = {}
        self.total = 0

    def bump(self, alias: str) -> None:
        # Two threads bumping at once can lose one increment: both still bumped the total
        # past what every other thread has seen, which is all a reader compares.
        self.by_alias[alias] = self.by_alias.get(alias, 0) + 1
        self.total += 1


_state: Final = _ThreadState()
SHARED: Final = _Shared()
_GENERATIONS: Final = _Generations()
_installed = False
_install_lock: Final = threading.Lock()
# Per connection object: the generation of its alias when it was last known good.
_CONNECTION_GENERATION: Final = "_bolt_generation"


def _note_use() -> None:
    state = _state
    if state.pooled:
        state.used = True
    else:
        SHARED.dirty = True


def _mark(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any) -> Any:
    """Note that this thread used the database (an ``execute_wrapper`` on every connection)."""
    _note_use()
    return execute(sql, params, many, context)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    wrappers = connection.execute_wrappers
    if _mark not in wrappers:
        wrappers.append(_mark)
    # A new connection is as fresh as its database's latest generation.
    setattr(connection, _CONNECTION_GENERATION, _GENERATIONS.by_alias.get(connection.alias, 0))
    # Opening counts as use: the settle after the call decides what to do with it.
    _note_use()


def install_connection_tracking() -> None:
    """Install the marker on every connection, now and as each one opens (idempotent)."""
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


def _kept(conn: Any) -> bool:
    """Return whether ``conn`` stays open between calls (see the module docstring)."""
    # Read each time (three lookups): a test may give an alias other settings.
    settings_dict = conn.settings_dict
    return (
        settings_dict.get("CONN_MAX_AGE", 0) == 0
        and not settings_dict.get("CONN_HEALTH_CHECKS", False)
        and not (settings_dict.get("OPTIONS") or {}).get("pool")
    )


def _drop_if_dead(conn: Any) -> None:
    """Close ``conn`` when a query on it failed and it no longer answers; say so to the others."""
    if conn.errors_occurred:
        if conn.is_usable():
            conn.errors_occurred = False
        else:
            _GENERATIONS.bump(conn.alias)
            conn.close()
            return
    if conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]:
        conn.close()  # a transaction left open (set_autocommit(False)): never reused


def _closed_if_stale(conn: Any, generations: dict[str, int]) -> bool:
    """Close ``conn`` if another thread found its database's connections dead since it opened.

    Its generation is stamped when it opens (``_on_connection_created``), so one that stays
    open never needs a new stamp.
    """
    if getattr(conn, _CONNECTION_GENERATION, 0) < generations.get(conn.alias, 0):
        conn.close()
        return True
    return False


def _settle() -> bool:
    """Care for this thread's connections after a call; return whether any needs watching."""
    watch = False
    generations = _GENERATIONS.by_alias
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block or conn.connection is None:
            continue  # someone's transaction (never closed from under it), or nothing open
        if _closed_if_stale(conn, generations):
            continue
        if _kept(conn):
            _drop_if_dead(conn)
        else:
            was_broken = conn.errors_occurred
            conn.close_if_unusable_or_obsolete()
            if was_broken and conn.connection is None:
                _GENERATIONS.bump(conn.alias)
        if conn.connection is not None:
            watch = True
    _state.seen_total = _GENERATIONS.total
    return watch


def _before_call() -> bool:
    """Care for this thread's open connections before a call; return whether to keep watching."""
    watch = False
    changed = _state.seen_total != _GENERATIONS.total
    generations = _GENERATIONS.by_alias
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block or conn.connection is None:
            continue
        if changed and _closed_if_stale(conn, generations):
            continue
        if not _kept(conn):
            conn.close_if_unusable_or_obsolete()  # CONN_MAX_AGE and CONN_HEALTH_CHECKS
        if conn.connection is not None:
            watch = True
    _state.seen_total = _GENERATIONS.total
    return watch


def run_pooled(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``fn(**kwargs)`` in a pool thread, keeping the connection rules for the thread."""
    state = _state
    state.pooled = True
    if state.watch:
        try:
            state.watch = _before_call()
        except Exception:
            logger.exception("checking database connections before a call failed")
    try:
        return fn(**kwargs)
    finally:
        if state.used:
            state.used = False
            try:
                state.watch = _settle()
            except Exception:
                # Closing a broken connection can fail too; the call's own outcome matters more.
                logger.exception("settling database connections after a call failed")


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
