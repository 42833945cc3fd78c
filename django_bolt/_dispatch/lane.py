"""The compiled lane: routes whose handler cannot wait, answered without a coroutine of ours.

The server calls its application's optional ``dispatch_nowait(request)`` first
(``server/contract.py``). For a ``BoltAPI`` that is a :class:`Lane`, compiled with the server's
request path (``compiled_modules.txt``): it finds the route and, when its endpoint is
``nowait`` (``compile.answers_at_once``: no guard, dependencies or middleware, a handler that
cannot wait), binds, calls and converts right here and returns the response. Anything else,
and any step that has to wait (an error to format, a session to save, a file to open), goes
back to the dispatcher's coroutines (``Dispatcher.dispatch`` and ``_finish_later``).

The per-request reads are loads: :class:`Endpoint` is declared here, compiled, so its fields
are C struct members for this code (compiled code reads an interpreted object's attribute
through a generic lookup of about 200 instructions). ``compile.py`` fills the endpoints;
``Dispatcher.compile`` points the lane at the table it builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from django_bolt._dispatch.inline import escaped
from django_bolt._http.wire import WireResponse
from django_bolt.request import Request  # noqa: TC001 (compiled: its checks need the class)

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt._binding.binder import Binder
    from django_bolt._dispatch.compile import Call, ExceptionHandler, Guard
    from django_bolt._dispatch.table import RouteTable
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.router import RouteInfo

__all__ = ("Endpoint", "Lane", "path_params")


class Endpoint:
    """A route compiled for dispatch: its guard, its call and its per-response policies.

    ``compile.new_endpoint`` makes and fills one per declared route (the fields are described
    there); ``compile_routes`` sets ``guard``, ``call``, ``policy`` and the ``now`` fields once
    its rate limits and middleware are known.
    """

    __slots__ = (
        "allow_origin",
        "bind",
        "binder",
        "call",
        "compress",
        "compress_from",
        "convert",
        "cors",
        "fn",
        "guard",
        "handlers",
        "has_params",
        "info",
        "is_async",
        "now",
        "now_waits",
        "nowait",
        "only_path_name",
        "path_names",
        "plain",
        "policy",
        "simple",
    )

    info: RouteInfo
    guard: Guard | None
    cors: CORSPolicy | None
    allow_origin: Callable[[bytes, list[tuple[bytes, bytes]]], None] | None
    compress: Callable[[Any, WireResponse], WireResponse] | None
    compress_from: int
    plain: bool
    path_names: tuple[str, ...]
    only_path_name: str | None
    binder: Binder
    convert: Callable[[Any], Any]
    handlers: dict[type[BaseException], ExceptionHandler]
    fn: Callable[..., Any]
    has_params: bool
    bind: Callable[..., Any]
    is_async: bool
    simple: bool
    call: Call | None
    policy: Guard | Call | None
    nowait: bool
    now: Callable[..., Any]
    now_waits: bool


class Lane:
    """An API's ``dispatch_nowait``: an answer made at once, or the dispatcher's coroutine."""

    __slots__ = ("dispatcher", "hosts", "table")

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        # Set by Dispatcher.compile, cleared when the routes change (None: compile first).
        self.table: RouteTable[Endpoint] | None = None
        self.hosts: Callable[[Any], Any] | None = None

    def __call__(self, request: Request) -> Any:
        table = self.table
        method = request.method
        if table is None or method == "OPTIONS":
            return self.dispatcher.dispatch(request)
        hosts = self.hosts
        if hosts is not None:
            rejected = hosts(request)
            if rejected is not None:
                return self.dispatcher._refusal(request, rejected)
        target = request.target
        # Decoded whole, then searched: str.find is a compiled primitive, where bytes.find is a
        # method call (about 1,100 instructions). Latin-1 keeps the byte offsets.
        whole = target.decode("latin-1")
        cut = whole.find("?")
        raw_path = whole if cut < 0 else whole[:cut]
        entry = table.static.get(raw_path)
        values: tuple[str, ...] = ()
        if entry is None:
            found = table.match_dynamic(raw_path)
            if found is None:
                return self.dispatcher._miss_at_once(request, table, raw_path, target, cut)
            entry, values = found
        endpoint: Endpoint | None = entry.methods.get(method)
        if endpoint is None or not endpoint.nowait:
            return self.dispatcher.dispatch(request)
        return self._answer(endpoint, request, target, cut, values)

    def _answer(
        self, endpoint: Endpoint, request: Request, target: bytes, cut: int, values: tuple[str, ...]
    ) -> Any:
        """Bind, call and convert; the answer, or the coroutine that completes it."""
        try:
            # Inside the try: both check the values' length (DJANGO_BOLT_MAX_PARAM_LENGTH).
            if cut >= 0:
                request.set_query_string(target[cut + 1 :].decode("latin-1"))
            params = path_params(endpoint, values, request) if values else None
            # The handler, or an async one's code as a plain function (compile.py, inline.py).
            if endpoint.has_params:
                result = endpoint.now(**endpoint.bind(request, params))
            else:
                result = endpoint.now()
            if endpoint.now_waits:
                # A coroutine that cannot suspend (answers_at_once), run to its end.
                try:
                    _suspended(result, result.send(None))
                except StopIteration as done:
                    result = done.value
            response = endpoint.convert(result)
        except Exception as exc:
            error = escaped(exc) if endpoint.now is not endpoint.fn else exc
            return self.dispatcher._finish_later(request, endpoint, None, error)
        if type(response) is not WireResponse or request._session is not None:
            return self.dispatcher._finish_later(request, endpoint, response, None)
        return response if endpoint.plain else self.dispatcher._dress(request, response, endpoint)


def path_params(endpoint: Endpoint, values: tuple[str, ...], request: Request) -> dict[str, str]:
    """Name the path values the table captured and store them on ``request`` (which checks
    their length)."""
    # The table captured exactly one value per name of this shape.
    only = endpoint.only_path_name
    params = {only: values[0]} if only is not None else dict(zip(endpoint.path_names, values))  # noqa: B905
    request.set_path_params(params)
    return params


def _suspended(coroutine: Any, _awaited: object) -> NoReturn:
    """Refuse a coroutine that suspended although answers_at_once judged it could not."""
    coroutine.close()
    raise RuntimeError("a handler judged unable to wait suspended; report this as a bug")
