"""A test's database connections, lent to the pool threads while a ``TestClient`` is open.

Django gives each thread a connection of its own, and the rows of a ``TestCase`` (or of a
pytest-django ``django_db`` test) sit in a transaction on the test thread's connection that is
never committed. A handler on a pool thread would query through a second connection and miss
them (on SQLite it even fails: "database table is locked"). So while a client lends them, each
pool call its event loop makes (``concurrency``: the sync pool, the ORM pool, the thread of
routes with Django middleware) runs with the test thread's connection objects in place of its
own, as Django's ``LiveServerTestCase`` does for its server thread. The rules of the loan:

* **Only the client's work borrows.** A pool call borrows when it was submitted while the test's
  thread waited for its client (:func:`serving`: a request, a stream's next chunk, start-up,
  shutdown); it takes that way of running with it when it is submitted. Another event loop
  the test drives between two requests keeps the pools' own connections.
* **One thread at a time.** A borrowing call takes the *turn* before it starts and gives it
  back when it ends; the test's thread holds the turn whenever it is not waiting for its client.
  A thread that waits longer than ``TURN_TIMEOUT_S`` for the turn raises
  :class:`SharedTestConnectionError` instead of hanging.
* **Never closed by a borrower.** ``close()`` and ``close_if_unusable_or_obsolete()`` do nothing
  on any thread but the test's (Django's ``close_old_connections``, a handler), so the test's
  transaction outlives every request; ``_django.db`` keeps lent connections out of a pool
  thread's own care (``set_lent``: no ping, no recycling).
* **A thread that waits gives its turn back.** The test's thread while its client serves, and
  a thread blocked in ``async_to_sync`` (a sync-only Django middleware around the handler),
  whose turn the calls asgiref runs on it meanwhile take in their turn.
* ``inc_thread_sharing()`` lets Django accept the other threads for as long as the loan lasts.

What the loan does not reach: a thread the test starts itself keeps its own connections, and so
does the default executor of ``sync_to_async(thread_sensitive=False)``. Nothing is left behind
when the last client of the thread closes, and nothing of this runs in production: the pools
call through the lending function only while a test's thread waits for its client
(``wrap_pool_calls``).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import TYPE_CHECKING, Any, Final

from asgiref.current_thread_executor import CurrentThreadExecutor
from django.db import connections

from django_bolt._django.db import install_connection_tracking, set_lent
from django_bolt.concurrency import wrap_pool_calls

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Future

    from django_bolt.concurrency import PoolCall

__all__ = (
    "SharedTestConnectionError",
    "lend_connections",
    "open_transactions",
    "return_connections",
    "serving",
)

# How long a thread waits for its turn on the lent connections before it gives up. Requests in
# a test take milliseconds; a wait this long is a thread that will never let go.
TURN_TIMEOUT_S = 10.0

# Connection methods a borrower must not run: either would end the test's transaction.
_OWNER_ONLY: Final = ("close", "close_if_unusable_or_obsolete")
_MISSING: Final[Any] = object()


class SharedTestConnectionError(RuntimeError):
    """A thread waited too long for its turn on the database connections a test client lends."""


class _Turn:
    """Which thread may use the lent connections now: one at a time."""

    __slots__ = ("_lock", "holder")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.holder: threading.Thread | None = None

    def take(self, timeout_s: float) -> bool:
        if not self._lock.acquire(timeout=timeout_s):
            return False
        self.holder = threading.current_thread()
        return True

    def give(self) -> None:
        if self.holder is threading.current_thread():  # not after a take that timed out
            self.holder = None
            self._lock.release()

    def held_here(self) -> bool:
        return self.holder is threading.current_thread()


def _owner_only(method: Callable[..., Any], owner: int) -> Callable[..., Any]:
    @functools.wraps(method)
    def on_owner_thread(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == owner:
            return method(*args, **kwargs)
        return None

    return on_owner_thread


class _Loan:
    """The test thread's connections, lent to the pool threads (see the module docstring)."""

    __slots__ = (
        "active",
        "clients",
        "lent",
        "owner",
        "previous_call",
        "saved_methods",
        "turn",
        "waiting",
    )

    def __init__(self) -> None:
        self.owner = threading.current_thread()
        self.clients = 1
        self.active = True
        self.turn = _Turn()
        self.turn.take(0)
        # Every alias, so that a handler meets exactly the test's connection, refusals
        # included (a TestCase without that database in ``databases``).
        self.lent: dict[str, Any] = {alias: connections[alias] for alias in connections}
        self.saved_methods: dict[str, dict[str, Any]] = {}
        owner = threading.get_ident()
        for alias, conn in self.lent.items():
            conn.inc_thread_sharing()
            set_lent(conn, True)
            own = vars(conn)
            self.saved_methods[alias] = {name: own.get(name, _MISSING) for name in _OWNER_ONLY}
            for name in _OWNER_ONLY:
                setattr(conn, name, _owner_only(getattr(conn, name), owner))
        # How pool calls run when nobody borrows (the connection rules of ``_django.db``): set
        # each time the owner starts serving.
        self.previous_call: PoolCall | None = None
        # Threads that gave the turn back while they wait in ``async_to_sync``.
        self.waiting: set[threading.Thread] = set()
        CurrentThreadExecutor.run_until_future = _run_until_future  # type: ignore[method-assign,assignment]
        CurrentThreadExecutor.submit = _submit  # type: ignore[method-assign]

    def run_call(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """Run one pool call on the lent connections (its thread's own are put back after)."""
        inner = self.previous_call
        if inner is None:  # pragma: no cover - only installed after previous_call is set
            raise RuntimeError("a pool call borrowed before the loan began")
        if not self.turn.take(TURN_TIMEOUT_S):
            raise SharedTestConnectionError(self.waited("a handler's thread"))
        try:
            if not self.active:  # submitted while the loan was open, run after it ended
                return inner(fn, kwargs)
            own = _swap_in(self.lent)
            try:
                return inner(fn, kwargs)
            finally:
                _swap_out(own)
        finally:
            self.turn.give()

    def take_back(self) -> None:
        """Take the turn back for the test's thread (after its client served something)."""
        if not self.turn.take(TURN_TIMEOUT_S):
            raise SharedTestConnectionError(self.waited("the test"))

    def end(self) -> None:
        """Give every connection back to the test's thread alone (the turn held or awaited)."""
        waited = self.turn.held_here() or self.turn.take(TURN_TIMEOUT_S)
        holder = self.turn.holder
        self.active = False
        CurrentThreadExecutor.run_until_future = _RUN_UNTIL_FUTURE  # type: ignore[method-assign]
        CurrentThreadExecutor.submit = _SUBMIT  # type: ignore[method-assign]
        for alias, conn in self.lent.items():
            for name, method in self.saved_methods[alias].items():
                if method is _MISSING:
                    vars(conn).pop(name, None)
                else:
                    setattr(conn, name, method)
            set_lent(conn, False)
            conn.dec_thread_sharing()
        if waited:
            self.turn.give()
        else:
            raise SharedTestConnectionError(
                self.waited("the test", holder) + " The client was closed anyway."
            )

    def waited(self, who: str, holder: threading.Thread | None = None) -> str:
        holder = holder or self.turn.holder
        name = holder.name if holder is not None else "another thread"
        return (
            f"{who} waited {TURN_TIMEOUT_S:g}s for the database connections the TestClient "
            f"lends ({', '.join(self.lent)}) while {name} kept them. A connection serves one "
            "thread at a time: the test's thread while it runs, a handler's thread while it "
            "serves a request. This wait never ends when one of them waits for the other: two "
            "pool calls of a request that wait for each other, or a test that waits for a "
            "handler outside its client (from a thread or event loop of its own). Pass "
            "share_db_connection=False to the client, with TransactionTestCase or "
            "django_db(transaction=True) so that the handlers see committed rows."
        )


def _swap_in(lent: dict[str, Any]) -> dict[str, Any]:
    """Put the lent connections in this thread's ``connections``; return its own (or None)."""
    own = {conn.alias: conn for conn in connections.all(initialized_only=True)}
    for alias, conn in lent.items():
        connections[alias] = conn
    return {alias: own.get(alias) for alias in lent}


def _swap_out(own: dict[str, Any]) -> None:
    for alias, conn in own.items():
        if conn is None:
            del connections[alias]
        else:
            connections[alias] = conn


# --- a thread waiting in async_to_sync ----------------------------------------------------------
# A sync middleware of Django's around an async chain (a ``def`` handler behind it runs in the
# sync pool) waits in ``async_to_sync`` for work of other threads: while it waits it gives its
# turn back, and asgiref's calls it runs for that work meanwhile (thread-sensitive ones) take it
# each. asgiref's executor is patched for as long as a loan lasts.

_RUN_UNTIL_FUTURE: Final = CurrentThreadExecutor.run_until_future
_SUBMIT: Final = CurrentThreadExecutor.submit


def _run_until_future(executor: CurrentThreadExecutor, future: Future[Any]) -> None:
    loan = _loan
    if loan is None or not loan.turn.held_here():
        return _RUN_UNTIL_FUTURE(executor, future)
    me = threading.current_thread()
    outermost = me not in loan.waiting
    loan.waiting.add(me)
    loan.turn.give()
    try:
        return _RUN_UNTIL_FUTURE(executor, future)
    finally:
        if outermost:
            loan.waiting.discard(me)
        loan.take_back()


def _submit(
    executor: CurrentThreadExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Future[Any]:
    return _SUBMIT(executor, functools.partial(_on_turn_if_waiting, fn), *args, **kwargs)


def _on_turn_if_waiting(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a call asgiref hands a waiting thread, on the turn that thread gave back."""
    loan = _loan
    if loan is None or threading.current_thread() not in loan.waiting:
        return fn(*args, **kwargs)
    if not loan.turn.take(TURN_TIMEOUT_S):
        raise SharedTestConnectionError(loan.waited("a thread waiting in async_to_sync"))
    try:
        return fn(*args, **kwargs)
    finally:
        loan.turn.give()


_loan: _Loan | None = None
_loan_lock: Final = threading.Lock()


def lend_connections() -> None:
    """Lend this thread's connections to the pool threads until :func:`return_connections`
    (calls nest: the loan ends with the last client of the thread)."""
    global _loan
    # The pools' own connection rules first: installed later, they would replace the loan's.
    install_connection_tracking()
    with _loan_lock:
        loan = _loan
        if loan is None:
            _loan = _Loan()
        elif loan.owner is threading.current_thread():
            loan.clients += 1
        else:
            raise SharedTestConnectionError(
                f"a TestClient of the thread {loan.owner.name} already lends its database "
                "connections: the clients of one thread at a time can (share_db_connection)"
            )


def return_connections() -> None:
    """End this thread's share of the loan (see :func:`lend_connections`)."""
    global _loan
    with _loan_lock:
        loan = _loan
        if loan is None or loan.owner is not threading.current_thread():
            return
        loan.clients -= 1
        if loan.clients:
            return
        _loan = None
    loan.end()


@contextlib.contextmanager
def serving() -> Iterator[None]:
    """Lend the connections to the pool calls made while this thread waits for its client.

    A pool call takes its way of running when it is submitted: those submitted now borrow
    (even if they start later), those of another event loop driven by the test between two
    requests do not.
    """
    loan = _loan
    if loan is None or not loan.turn.held_here():
        yield
        return
    previous = loan.previous_call = wrap_pool_calls(loan.run_call)
    loan.turn.give()
    try:
        yield
    finally:
        wrap_pool_calls(previous)
        loan.take_back()


def open_transactions() -> list[str]:
    """Return the aliases whose connection on this thread is inside an atomic block."""
    return [conn.alias for conn in connections.all(initialized_only=True) if conn.in_atomic_block]
