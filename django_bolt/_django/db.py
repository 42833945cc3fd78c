"""Django's database rules around API requests: where the ORM runs, connections, and signals.

**Where the ORM runs.** Django's ORM refuses to run on a thread with a running event loop, so
every query goes to a pool thread (``concurrency``):

* ``def`` handlers run in the sync pool, and their queries with them;
* the database work of ``async def`` handlers runs in the ORM pool (``DJANGO_BOLT_ORM_THREADS``,
  as Django-Bolt 0.13): the QuerySets they return and ``await request.auser()``
  (:func:`run_orm`), and Django's async ORM API (``aget``, ``acount``, ``async for`` ...), which
  is asgiref's ``sync_to_async(thread_sensitive=True)``. asgiref sends such a call to the sync
  thread that waits for it (``async_to_sync``) or to the executor of a ``ThreadSensitiveContext``
  if there is one; only the calls no such thread claims reach its class-level
  ``single_thread_executor``, which :func:`install_connection_tracking` replaces with
  :class:`ThreadSensitiveExecutor`. That executor hands the call straight to the ORM pool: one
  tuple on a queue, where asgiref's own is a ``ThreadPoolExecutor`` and a chained Future;
* routes with Django middleware keep all their thread-sensitive work (the middleware's hooks,
  the async ORM, the QuerySets they return) on one thread, as they did on asgiref's single
  thread: state a middleware leaves on its thread (a tenant's schema on the connection) is
  there for the handler's queries (:func:`on_django_thread`).

A connection belongs to the thread that opened it (Django keeps them per thread), so no two
threads ever share one; several ORM threads mean several connections per database. The one
exception is in tests: a ``TestClient`` lends the test's connections to the pool threads, one
thread at a time (``_django.dbshare``), and these rules leave a lent connection alone.

**Connections** (as Django-Bolt 0.13 manages them). Each pool call goes through
:func:`run_pooled`, which looks after the connections of its thread; the ``connection_created``
signal tells it which those are, so a call on a thread that never connected costs two attribute
reads. What happens depends on the database's settings:

* **Neither a positive** ``CONN_MAX_AGE`` **nor** ``CONN_HEALTH_CHECKS`` (Django's defaults): the
  thread keeps its connection between requests; reconnecting for every request costs a TCP and
  authentication round trip (PostgreSQL: most of a small query's time). After a call, a
  connection on which a query raised is pinged, and dropped when it does not answer; so is one
  left outside autocommit. A dead connection means the database restarted or failed over, so
  every thread drops its connection to that database before its next call (a generation
  counter per alias, compared before each call).
* **A positive** ``CONN_MAX_AGE`` **(or** ``None``**) or** ``CONN_HEALTH_CHECKS``: Django's own
  request-boundary check (``close_if_unusable_or_obsolete``) runs before each call on a thread
  holding such a connection and after each call: timed recycling and health checks work as
  under Django.
* **A connection pool** (``OPTIONS["pool"]``, where Django requires ``CONN_MAX_AGE = 0``): the
  check after each call gives the connection back to the pool, so a thread holds a pooled
  connection only while it has work.

A connection inside an atomic block is never touched, so a check can never cut into a
transaction.

``ATOMIC_REQUESTS`` and ``BOLT_EMIT_SIGNALS`` are decided once per route, when the API is
compiled: :func:`wrap_handler` returns the handler itself when neither applies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.signals import request_finished, request_started
from django.db import connections, transaction
from django.db.backends.signals import connection_created

from django_bolt._conf.environ import orm_pool_size
from django_bolt.concurrency import (
    configure_orm_pool,
    is_inline_safe,
    run_in_orm_pool,
    submit_to_django_thread,
    submit_to_orm_pool,
    wrap_pool_calls,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = (
    "ThreadSensitiveExecutor",
    "configure_orm_threads",
    "install_connection_tracking",
    "on_django_thread",
    "run_orm",
    "run_pooled",
    "set_lent",
    "wrap_handler",
)

logger: Final = logging.getLogger("django_bolt")


class _ThreadState(threading.local):
    """What one thread knows about its own connections (class defaults: no miss costs)."""

    # The connection wrappers this thread has opened (connection_created), each once.
    opened: tuple[Any, ...] = ()
    # A connection is open that needs care before the next call: one under Django's check.
    watch: bool = False
    # _GENERATIONS.total when this thread last looked at the generations.
    seen_total: int = 0


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
_GENERATIONS: Final = _Generations()
_installed = False
_install_lock: Final = threading.Lock()
# Per connection object: the generation of its alias when it was last known good.
_CONNECTION_GENERATION: Final = "_bolt_generation"


# The connections a test client lends to the pool threads (``_django.dbshare``), by id: they
# belong to the test's thread, so no pool thread that happens to open one takes it up.
_lent: Final[dict[int, Any]] = {}


def set_lent(connection: Any, lent: bool) -> None:
    """Mark ``connection`` as lent to the pool threads (or no longer): the rules above leave it
    alone, whichever thread opens it."""
    if lent:
        _lent[id(connection)] = connection
    else:
        _lent.pop(id(connection), None)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Note the connection on the thread that opened it (Django sends this on that thread)."""
    # A new connection is as fresh as its database's latest generation.
    setattr(connection, _CONNECTION_GENERATION, _GENERATIONS.by_alias.get(connection.alias, 0))
    state = _state
    if id(connection) not in _lent and connection not in state.opened:
        state.opened = (*state.opened, connection)


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
    if conn.autocommit != conn.settings_dict["AUTOCOMMIT"]:
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


def _after_call(opened: tuple[Any, ...]) -> bool:
    """Care for this thread's connections after a call; return whether any needs watching."""
    watch = False
    for conn in opened:
        if conn.connection is None or conn.in_atomic_block:
            continue  # nothing open, or someone's transaction (never closed from under it)
        if _kept(conn):
            _drop_if_dead(conn)
            continue
        was_broken = conn.errors_occurred
        conn.close_if_unusable_or_obsolete()
        if conn.connection is not None:
            watch = True
        elif was_broken:
            _GENERATIONS.bump(conn.alias)
    return watch


def _before_call(state: _ThreadState) -> None:
    """Care for this thread's open connections before a call (generations, Django's check)."""
    total = _GENERATIONS.total
    changed = state.seen_total != total
    generations = _GENERATIONS.by_alias
    watch = False
    for conn in state.opened:
        if conn.connection is None or conn.in_atomic_block:
            continue
        if changed and _closed_if_stale(conn, generations):
            continue
        if not _kept(conn):
            conn.close_if_unusable_or_obsolete()  # CONN_MAX_AGE and CONN_HEALTH_CHECKS
            watch = watch or conn.connection is not None
    state.watch = watch
    state.seen_total = total


def run_pooled(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``fn(**kwargs)`` in a pool thread, keeping the connection rules for the thread."""
    state = _state
    if state.watch or state.seen_total != _GENERATIONS.total:
        try:
            _before_call(state)
        except Exception:
            logger.exception("checking database connections before a call failed")
    try:
        return fn(**kwargs)
    finally:
        opened = state.opened
        if opened:
            try:
                state.watch = _after_call(opened)
            except Exception:
                # Closing a broken connection can fail too; the call's own outcome matters more.
                logger.exception("checking database connections after a call failed")


# --- where thread-sensitive work runs ---------------------------------------------------------

# Set while a route with Django middleware runs (on_django_thread): its thread-sensitive work
# stays on the Django thread.
_ON_DJANGO_THREAD: Final[contextvars.ContextVar[bool]] = contextvars.ContextVar(
    "django_bolt_on_django_thread", default=False
)
# asgiref's own single thread: for the rare submit made with no event loop running (our pools
# answer asyncio Futures, which need one).
_asgiref_thread: concurrent.futures.Executor = SyncToAsync.single_thread_executor


class ThreadSensitiveExecutor(concurrent.futures.Executor):
    """asgiref's executor for the thread-sensitive calls no waiting sync thread claims.

    ``submit`` answers an asyncio Future, not a ``concurrent.futures`` one: asgiref hands the
    call to ``loop.run_in_executor``, which passes an asyncio Future through as it is
    (``asyncio.wrap_future``), so the chained second Future and its callbacks are saved.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
        if asyncio._get_running_loop() is None:
            return _asgiref_thread.submit(call)
        if _ON_DJANGO_THREAD.get():
            return submit_to_django_thread(call)
        return submit_to_orm_pool(call)


def on_django_thread(layer: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    """``layer`` (a Django middleware stack) with its thread-sensitive work on the Django thread."""

    @functools.wraps(layer)
    async def on_thread(request: Any) -> Any:
        token = _ON_DJANGO_THREAD.set(True)
        try:
            return await layer(request)
        finally:
            _ON_DJANGO_THREAD.reset(token)

    return on_thread


def run_orm(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Awaitable[Any]:
    """Run database work for an ``async def`` handler (a QuerySet it returned, its user).

    In the ORM pool, unless the work must stay on a thread asgiref would choose: a route with
    Django middleware keeps it on the Django thread, and a coroutine that a pool thread waits
    for (``async_to_sync`` inside a thread-sensitive call: asgiref marks its context) runs it
    on that waiting thread; the ORM pool could be that very thread, busy waiting.
    """
    if _ON_DJANGO_THREAD.get() or SyncToAsync.deadlock_context.get(False):
        return sync_to_async(functools.partial(fn, **kwargs))()
    return run_in_orm_pool(fn, kwargs)


def configure_orm_threads() -> None:
    """Size the ORM pool: ``DJANGO_BOLT_ORM_THREADS``, else 1 thread if every database is
    SQLite, else 4 (raises ``ImproperlyConfigured`` for a bad value)."""
    databases = connections.settings if settings.configured else {}
    configure_orm_pool(orm_pool_size(databases))


def install_connection_tracking() -> None:
    """Install the connection rules and the ORM pool's executor for asgiref (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        connection_created.connect(_on_connection_created, dispatch_uid="django_bolt._db")
        # Every pool call from now on runs under the connection rules (run_pooled).
        wrap_pool_calls(run_pooled)
        # asgiref declares a ThreadPoolExecutor but only ever calls submit() through the loop.
        SyncToAsync.single_thread_executor = ThreadSensitiveExecutor()  # type: ignore[assignment]
        _installed = True


# --- fork -------------------------------------------------------------------------------------


def _after_fork_in_child() -> None:
    """asgiref's single thread did not survive ``fork()``; it would queue work forever: renew it.

    Connections are not touched here: closing one in the child would end the parent's session
    on the shared socket. The parent closes them before forking (``runbolt`` does). The pools
    drop their own threads (``concurrency``).
    """
    global _asgiref_thread
    if getattr(_asgiref_thread, "_threads", None):
        _asgiref_thread = ThreadPoolExecutor(max_workers=1)
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
    handlers that run inline on the event loop, which provably touch no database, unless the
    signals are on: then such a handler is wrapped like any other, and the wrapper, which sends
    them, runs in the pool (Django's receivers act on a thread's connections, never the loop's).
    A route declared ``inline=True`` stays inline and sends none.
    """
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        return fn
    is_async = inspect.iscoroutinefunction(fn)
    if not is_async and (inline or (inline is None and not emit_signals and is_inline_safe(fn))):
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
