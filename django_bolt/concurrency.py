"""Where blocking work runs: the two bounded thread pools, and which ``def`` functions skip them.

Each process has two pools of threads, shared by its event loops (DESIGN.md, rule 6):

* the **sync pool** (``BOLT_SYNC_POOL_SIZE``, ``DJANGO_BOLT_EXECUTOR_THREADS``) runs ``def``
  handlers and everything else that may block: the Django fall-through, stream steps of a sync
  generator, spooled form parsing, ``sync_to_thread``;
* the **ORM pool** (``DJANGO_BOLT_ORM_THREADS``, as Django-Bolt 0.13 sizes it) runs the database
  work of ``async def`` handlers: the QuerySets they return, ``await request.auser()``, and
  Django's async ORM API (``_django.db`` sends asgiref's thread-sensitive calls here). Its size
  is the number of queries in flight per process.

A ``def`` function that provably neither blocks nor touches the ORM runs inline on the loop
instead; :func:`is_inline_safe` decides that once, at registration. This module imports nothing
of the framework: Django's connection rules for pool threads are installed by ``_django.db``
through :func:`wrap_pool_calls`.

``loop.run_in_executor`` with a ``ThreadPoolExecutor`` goes through a ``concurrent.futures``
Future, a work item, a chained asyncio Future and two sets of callbacks; on this workload that
hand-off costs about twice what the thread switch itself does (measured: 24 us against 13 us a
call on one core). Here a call is one tuple on a ``SimpleQueue``: a worker thread runs it and
answers the waiting asyncio Future with one ``call_soon_threadsafe``.

Semantics kept from the executor: at most ``size`` threads, started only when no thread is idle;
a call whose awaiting task was cancelled before a thread picked it up is skipped; exceptions
(``BaseException`` included) reach the awaiting task; ``shutdown`` lets queued calls finish.
Threads are daemons, so a process never hangs at exit on an idle pool.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import contextvars
import dataclasses
import datetime
import decimal
import dis
import enum
import functools
import math
import os
import queue
import random
import re
import secrets
import threading
import time
import types
import uuid
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    # How a pool thread runs one call: ``run_call(fn, kwargs)``.
    PoolCall = Callable[[Callable[..., Any], dict[str, Any]], Any]

__all__ = (
    "SyncPool",
    "configure_orm_pool",
    "configure_sync_pool",
    "inline_verdict",
    "is_inline_safe",
    "orm_pool_size",
    "reset_orm_pool",
    "reset_sync_pool",
    "run_in_orm_pool",
    "run_in_pool",
    "submit_to_django_thread",
    "submit_to_orm_pool",
    "sync_to_thread",
    "wrap_pool_calls",
)

_T = TypeVar("_T")

_DEFAULT_POOL_SIZE: Final = 40

# Queued to stop one worker thread.
_STOP: Final[Any] = None


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class SyncPool:
    """A bounded pool of threads answering asyncio Futures (see the module docstring)."""

    __slots__ = ("_closed", "_idle", "_jobs", "_lock", "_threads", "name_prefix", "size")

    def __init__(self, size: int, name_prefix: str = "bolt-sync") -> None:
        if size < 1:
            raise ValueError("a pool needs at least one thread")
        self.size = size
        self.name_prefix = name_prefix
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # One token per thread about to wait for work: a submit that can pop one knows a thread
        # is free and starts none. A list's append and pop are atomic (a Semaphore's Python
        # Condition cost a few microseconds a call).
        self._idle: list[None] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run ``fn()`` in a pool thread; the returned Future belongs to the running loop."""
        if self._closed:
            raise RuntimeError("cannot schedule new calls after the pool was shut down")
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((future, fn))
        try:
            self._idle.pop()
        except IndexError:
            self._grow()
        return future

    def _grow(self) -> None:
        with self._lock:
            if self._closed or len(self._threads) >= self.size:
                return
            thread = threading.Thread(
                target=self._work,
                name=f"{self.name_prefix}_{len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        jobs = self._jobs
        idle = self._idle
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            future, fn = job
            del job
            # Read across threads: at worst a call cancelled this very moment still runs.
            if future.cancelled():
                idle.append(None)
                continue
            try:
                result = fn()
            except BaseException as error:  # the awaiting task decides what it means
                answer: tuple[Any, ...] = (_reject, future, error)
            else:
                answer = (_resolve, future, result)
            # Idle before the answer: the request it lets go on may queue the next call at once,
            # and must find this thread free rather than start another one (a thread of its own,
            # with its own connections, for every call that raced it).
            idle.append(None)
            # A closed loop refuses the call: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(*answer)
            del future, fn, answer

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking calls; threads finish what is queued, then end."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(_STOP)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()


# --- the process's pools --------------------------------------------------------------------------


class _ProcessPool:
    """One of the process's pools: sized at start-up, made on first use, renewed after a fork."""

    __slots__ = ("name", "pool", "size")

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.pool: SyncPool | None = None

    def get(self) -> SyncPool:
        pool = self.pool
        if pool is None:
            pool = self.pool = SyncPool(self.size, self.name)
        return pool

    def configure(self, size: int) -> None:
        self.size = size
        pool = self.pool
        if pool is not None and pool.size != size:
            # A pool of the old size finishes its queued calls; the next call starts the new one.
            self.pool = None
            pool.shutdown(wait=False)

    def reset(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True)


_SYNC: Final = _ProcessPool("bolt-sync", _DEFAULT_POOL_SIZE)
# One thread until start-up sizes it (configure_orm_pool): 0.13's default for SQLite.
_ORM: Final = _ProcessPool("bolt-orm", 1)
# One thread for the thread-sensitive work of routes with Django middleware (``_django.db``).
_DJANGO: Final = _ProcessPool("bolt-django", 1)


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)


# How a pool thread runs ``fn(**kwargs)``; ``_django.db`` puts Django's connection rules here.
_run_call: PoolCall = _call


def configure_sync_pool(size: int) -> None:
    """Set the sync pool's size (read from ``BOLT_SYNC_POOL_SIZE`` at start-up)."""
    if size < 1:
        raise ValueError("BOLT_SYNC_POOL_SIZE must be at least 1")
    _SYNC.configure(size)


def configure_orm_pool(size: int) -> None:
    """Set the ORM pool's size (read from ``DJANGO_BOLT_ORM_THREADS`` at start-up)."""
    if size < 1:
        raise ValueError("DJANGO_BOLT_ORM_THREADS must be at least 1")
    _ORM.configure(size)


def orm_pool_size() -> int:
    """Return the number of threads the ORM pool may have."""
    return _ORM.size


def reset_sync_pool() -> None:
    """Stop the sync pool's threads (and so their thread-bound DB connections); the next call
    makes a new pool. For tests and for workers that must not inherit threads across a fork."""
    _SYNC.reset()


def reset_orm_pool() -> None:
    """:func:`reset_sync_pool` for the ORM pool and the thread of routes with Django middleware."""
    _ORM.reset()
    _DJANGO.reset()


def wrap_pool_calls(run_call: PoolCall) -> PoolCall:
    """Run every later pool call as ``run_call(fn, kwargs)`` on its pool thread; return the
    function that ran them until now (to wrap it, or to put it back).

    ``_django.db`` installs Django's connection rules for the thread this way (``CONN_MAX_AGE``,
    health checks), so the pools themselves know nothing of Django; a test client lending the
    test's database connections (``_django.dbshare``) wraps those rules while the test waits
    for it. A call keeps the function in place when it was submitted.
    """
    global _run_call
    previous, _run_call = _run_call, run_call
    return previous


def run_in_pool(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Awaitable[Any]:
    """Run a blocking callable in the sync pool, keeping the caller's context variables."""
    ctx = contextvars.copy_context()
    pool = _SYNC.pool or _SYNC.get()
    return pool.submit(functools.partial(ctx.run, _run_call, fn, kwargs))


def run_in_orm_pool(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Awaitable[Any]:
    """Run database work in the ORM pool, keeping the caller's context variables."""
    ctx = contextvars.copy_context()
    pool = _ORM.pool or _ORM.get()
    return pool.submit(functools.partial(ctx.run, _run_call, fn, kwargs))


_NO_KWARGS: Final[dict[str, Any]] = {}


def submit_to_orm_pool(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run ``fn()`` in the ORM pool as it is: for callers that carry their own context (asgiref)."""
    pool = _ORM.pool or _ORM.get()
    return pool.submit(functools.partial(_run_call, fn, _NO_KWARGS))


def submit_to_django_thread(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run ``fn()`` on the one thread of routes with Django middleware, as it is."""
    pool = _DJANGO.pool or _DJANGO.get()
    return pool.submit(functools.partial(_run_call, fn, _NO_KWARGS))


async def sync_to_thread(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """Run ``fn(*args, **kwargs)`` in the pool of ``def`` handlers and return its result.

    Django-Bolt's name for calling blocking or thread-sensitive code (the ORM, the cache, a
    tenant-aware library) from an ``async def`` handler. The call sees the caller's context
    variables, and the pool thread's database connections follow the same rules as a ``def``
    handler's.
    """
    result: _T = await run_in_pool(functools.partial(fn, *args, **kwargs), {})
    return result


def _forget_pools_after_fork() -> None:
    """Drop pools whose threads did not survive ``fork()`` (they would queue work forever).

    Dropped, not shut down: shutdown() takes a lock a parent thread may have held at fork.
    """
    _SYNC.pool = None
    _ORM.pool = None
    _DJANGO.pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


# --- which def functions may run on the event loop ----------------------------------------------
# Running a sync handler inline saves a thread hop (tens of microseconds) but is only safe when it
# cannot block and does not touch the Django ORM (which refuses to run on a thread with a running
# loop). We cannot prove that in general, so the rule is an allow-list over the bytecode: every
# global it loads must resolve to a known-harmless object and every attribute it reads must be on
# a short list of pure methods. Anything else, including any import, sends it to the pool.

_SAFE_BUILTINS: Final = frozenset(
    {
        "abs", "all", "any", "bool", "bytes", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "hash", "int", "isinstance", "issubclass", "len", "list", "map", "max",
        "min", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum",
        "tuple", "zip", "None", "True", "False", "ValueError", "KeyError", "TypeError",
        "IndexError", "Exception", "StopIteration", "iter", "next", "hex", "ord", "chr",
    }
)  # fmt: skip

# Methods of str/bytes/dict/list/set, of dates and Enum members, and the request's lazy views:
# pure, in-memory.
_SAFE_ATTRIBUTES: Final = frozenset(
    {
        "get", "items", "keys", "values", "append", "extend", "insert", "pop", "copy", "update",
        "setdefault", "add", "discard", "remove", "index", "count", "sort", "join", "split",
        "rsplit", "strip", "lstrip", "rstrip", "lower", "upper", "title", "replace", "format",
        "startswith", "endswith", "encode", "decode", "partition", "isdigit", "getlist",
        "headers", "query", "cookies", "path", "method", "body", "json", "path_params", "state",
        "client", "scheme", "GET", "META", "url", "get_host", "is_secure", "build_absolute_uri",
        "status_code", "detail", "set_cookie", "delete_cookie", "content", "media_type",
        "value", "name", "isoformat", "strftime", "timestamp", "total_seconds", "astimezone",
        "hex", "match", "fullmatch", "search", "findall", "sub", "group", "groups", "groupdict",
    }
)  # fmt: skip

# Classes from these modules only build values (responses, HTTP errors). Named, not imported:
# both modules sit above this one.
_SAFE_CLASS_MODULES: Final = frozenset({"django_bolt.responses", "django_bolt.exceptions"})

_LOAD_GLOBAL: Final = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_LOAD_ATTR: Final = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_LOAD_DEREF: Final = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF"})
_IMPORTS: Final = frozenset({"IMPORT_NAME", "IMPORT_FROM", "IMPORT_STAR"})


# Module-level data a handler may read on the loop: loading it cannot block, and what the code
# then does with it (a subscript, iteration, a method call) is checked like anything else. The
# containers by exact type only: a subclass could run any code in ``__getitem__`` or ``__iter__``.
_IMMUTABLE_DATA: Final = (
    *(str, int, float, bytes, bool, frozenset, tuple),
    *(datetime.date, datetime.time, datetime.timedelta, datetime.timezone, enum.Enum),
    *(decimal.Decimal, uuid.UUID, re.Pattern),
)
_CONTAINERS: Final = frozenset({dict, list, set})


# Classes of the standard library that only compute, and the attributes of the class itself
# (constructors, constants) a handler may read: ``datetime.now(timezone.utc)``. What their
# instances offer (``isoformat`` ...) is in _SAFE_ATTRIBUTES.
_CLASS_ATTRIBUTES: Final[dict[type, frozenset[str]]] = {
    datetime.datetime: frozenset(
        {"now", "utcnow", "today", "fromisoformat", "fromtimestamp", "combine", "min", "max"}
    ),
    datetime.date: frozenset({"today", "fromisoformat", "fromtimestamp", "min", "max"}),
    datetime.time: frozenset({"fromisoformat", "min", "max"}),
    datetime.timedelta: frozenset({"min", "max"}),
    datetime.timezone: frozenset({"utc"}),
}


# Modules of the standard library whose listed functions only compute (or read a clock or the
# system's random source, which never waits): read as ``module.name`` right where the module is
# loaded, or imported by name (``from uuid import uuid4``).
_MODULE_FUNCTIONS: Final[dict[types.ModuleType, frozenset[str]]] = {
    math: frozenset(name for name in dir(math) if not name.startswith("_")),
    time: frozenset(
        {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}
    ),
    uuid: frozenset({"uuid4", "UUID"}),
    decimal: frozenset({"Decimal"}),
    random: frozenset(
        {"random", "randint", "randrange", "choice", "choices", "uniform", "sample", "shuffle"}
    ),
    secrets: frozenset({"token_hex", "token_urlsafe", "token_bytes", "choice", "randbelow"}),
    re: frozenset({"match", "fullmatch", "search", "findall", "sub", "split", "escape"}),
}
_SAFE_FUNCTIONS: Final = frozenset(
    getattr(module, name) for module, names in _MODULE_FUNCTIONS.items() for name in names
)


def _is_data_class(value: type) -> bool:
    """Tell whether the class ``value`` only holds data: a Struct, a dataclass, an Enum (its
    members are constants), a NamedTuple, or a standard class of _CLASS_ATTRIBUTES."""
    if issubclass(value, (msgspec.Struct, enum.Enum)) or dataclasses.is_dataclass(value):
        return True
    if issubclass(value, tuple) and hasattr(value, "_fields"):
        return True
    return value in _CLASS_ATTRIBUTES


def _owner_attribute(owner: object, name: str) -> bool:
    """Tell whether ``owner.name``, read right where ``owner`` was loaded, is safe: an Enum's
    member, a listed attribute of a standard class, or a listed function of a module."""
    if isinstance(owner, types.ModuleType):
        return name in _MODULE_FUNCTIONS.get(owner, ())
    if not isinstance(owner, type):
        return False
    if issubclass(owner, enum.Enum):
        return name in owner.__members__
    return name in _CLASS_ATTRIBUTES.get(owner, ())


def _unsafe_global(value: Any) -> str:
    """Return why loading ``value`` (a module-level name's, or a closure variable's, as the
    route is registered) could block, or "" when it cannot."""
    if isinstance(value, type):
        if _is_data_class(value):
            return ""
        if value.__module__ in _SAFE_CLASS_MODULES:
            return ""
        return f"the class {value.__qualname__}"
    if isinstance(value, types.ModuleType):
        # Only what _unsafe_code lets through: a listed function read from it at once.
        return "" if value in _MODULE_FUNCTIONS else "a module"
    if value is None:
        # A name that is None when the route is registered is most often a placeholder that
        # start-up fills later (a client, a connection): judged by what it will hold, unknown.
        return "None, a placeholder"
    if isinstance(value, _IMMUTABLE_DATA) or type(value) in _CONTAINERS:
        return ""
    try:
        if value in _SAFE_FUNCTIONS:
            return ""
    except TypeError:  # unhashable: not one of them
        pass
    return f"a {type(value).__name__}"


def _closure_values(fn: Callable[..., Any], code: types.CodeType) -> dict[str, Any]:
    """Map ``fn``'s free variables to what their cells hold now (an empty cell is left out)."""
    cells = getattr(fn, "__closure__", None) or ()
    values: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # not assigned yet
            continue
    return values


def _loaded_owner(ins: dis.Instruction, namespace: dict[str, Any], cells: dict[str, Any]) -> Any:
    """Return the class or module a LOAD_GLOBAL or LOAD_DEREF instruction loads, or None."""
    op = ins.opname
    if op in _LOAD_GLOBAL:
        value = namespace.get(ins.argval)
    elif op in _LOAD_DEREF:
        value = cells.get(ins.argval)
    else:
        return None
    return value if isinstance(value, (type, types.ModuleType)) else None


def _unsafe_instruction(
    ins: dis.Instruction,
    code: types.CodeType,
    namespace: dict[str, Any],
    cells: dict[str, Any],
    owner: object,
) -> str:
    """Return why one instruction could block, or "" when it cannot (``owner``: the class or
    module the previous instruction loaded, if any)."""
    op = ins.opname
    if isinstance(owner, types.ModuleType) and op not in _LOAD_ATTR:
        return f"the module {owner.__name__} itself"  # only a listed function may be read
    if op in _IMPORTS:
        return f"an import ({ins.argval})"
    if op in _LOAD_GLOBAL:
        name = ins.argval
        if name in namespace:
            why = _unsafe_global(namespace[name])
            return f"the global {name!r} ({why})" if why else ""
        if name not in _SAFE_BUILTINS or not hasattr(builtins, name):
            return f"the name {name!r}"
    elif op in _LOAD_ATTR and (
        isinstance(owner, types.ModuleType) or ins.argval not in _SAFE_ATTRIBUTES
    ):
        if owner is not None and _owner_attribute(owner, ins.argval):
            return ""
        return f"the attribute .{ins.argval}"
    elif op in _LOAD_DEREF and ins.argval not in code.co_cellvars:
        # A variable of an enclosing function: judged by what its cell holds, as a global is
        # by its value. A cell of a function nested in the handler, or one still empty, could
        # hold anything (a connection, a client): assume it blocks.
        name = ins.argval
        if name not in cells:
            return f"the closure variable {name!r}"
        why = _unsafe_global(cells[name])
        return f"the closure variable {name!r} ({why})" if why else ""
    return ""


def _unsafe_code(
    code: types.CodeType, namespace: dict[str, Any], depth: int, cells: dict[str, Any]
) -> str:
    """Return the first thing in ``code`` that could block, or "" when there is none."""
    if depth > 4:  # nested closures this deep: not worth proving
        return "closures nested too deep"
    owner: object = None
    for ins in dis.get_instructions(code):
        why = _unsafe_instruction(ins, code, namespace, cells, owner)
        if why:
            return why
        owner = _loaded_owner(ins, namespace, cells)
    if isinstance(owner, types.ModuleType):  # the last instruction loaded a module
        return f"the module {owner.__name__} itself"
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            # A nested function's own free variables may name the handler's cells (passed
            # through) or the handler's locals (not in ``cells``: judged unknown).
            why = _unsafe_code(const, namespace, depth + 1, cells)
            if why:
                return why
    return ""


def inline_verdict(fn: Callable[..., Any]) -> str:
    """Return why ``fn`` must run in the pool, or "" when it may run on the loop.

    ``fn`` may run on the loop when it provably neither blocks nor touches the ORM: every global
    and closure variable it loads is a harmless builtin, class or data value (see
    ``_CONTAINERS``; never None, the usual placeholder for a client made later), and every
    attribute it reads is on the short list of pure methods and request views.
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return "no Python bytecode to inspect"
    namespace = getattr(fn, "__globals__", {})
    try:
        return _unsafe_code(code, namespace, 0, _closure_values(fn, code))
    except Exception as error:  # bytecode this rule does not know: the pool, to be safe
        return f"bytecode not understood ({error.__class__.__name__})"


def is_inline_safe(fn: Callable[..., Any]) -> bool:
    """Return True when ``fn`` provably neither blocks nor touches the ORM (by the rules above)."""
    return not inline_verdict(fn)
