"""Compile declared routes into endpoints: once, at start-up, never per request.

Each :class:`Endpoint` carries what the dispatcher's one sequence needs, decided here for its
route: a ``guard`` (auth and guards, with rate limits around them when the route has any) and
how its handler is called. A handler that needs no dependency, form or thread pool
(``Binder.simple``) is called by the dispatcher itself from the endpoint's pieces (``fn``,
``bind``, ``convert``): the fast path, which finishes without suspending when the handler does
and costs no coroutine of its own. Every other handler has a ``call``: :func:`run_full`, the
general path. A middleware chain becomes the route's ``call``; its innermost layer is
:func:`invoke`, the same choice (fast path or run_full) made as a coroutine.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from django_bolt._binding.binder import compile_binder
from django_bolt._binding.dependencies import run_exits
from django_bolt._binding.fast import compile_fast_bind
from django_bolt._dispatch.inline import as_function, can_suspend
from django_bolt._dispatch.lane import Endpoint
from django_bolt._dispatch.table import PathTemplate, RouteTable
from django_bolt._django.models import pool_reader
from django_bolt._http.wire import WireResponse
from django_bolt.auth.guards import compile_gate, resolve_entries
from django_bolt.auth.session import check_session_route, is_session_backend
from django_bolt.concurrency import is_inline_safe
from django_bolt.error_handlers import apply_formatter, error_from_response
from django_bolt.middleware.base import build_chain
from django_bolt.middleware.compression import is_no_compress
from django_bolt.middleware.django import DjangoMiddleware, DjangoMiddlewareStack, route_callee
from django_bolt.middleware.pipeline import route_pipeline
from django_bolt.middleware.rate_limit import RateLimiter, build_store, require_identity
from django_bolt.results import build_result_converter
from django_bolt.router import declared_model

if TYPE_CHECKING:
    from django_bolt._dispatch.settings import DispatchSettings
    from django_bolt.auth.guards import Gate
    from django_bolt.middleware.compression import Compressor
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.middleware.pipeline import RoutePipeline
    from django_bolt.request import Request
    from django_bolt.router import RouteInfo

__all__ = (
    "Call",
    "Endpoint",
    "ExceptionHandler",
    "Guard",
    "check_route_auth",
    "compile_routes",
    "finish_response",
    "invoke",
    "run_full",
)

ExceptionHandler = Callable[["Request", Any], Any]
# What a matched route does with the request: (request, path values) -> response.
Call = Callable[["Request", "dict[str, str] | None"], Awaitable[WireResponse]]
# The checks before the handler: None (passed, nothing to wait for) or an awaitable that gives
# a refusal (a rate limit's response) or None. Auth and guards refuse by raising.
Guard = Callable[["Request"], "Awaitable[WireResponse | None] | None"]

# What a middleware's own return value (a dict, a Response) becomes.
_MIDDLEWARE_CONVERT: Final = build_result_converter(200, None, "middleware")


def new_endpoint(
    info: RouteInfo,
    path_names: tuple[str, ...],
    handlers: dict[type[BaseException], ExceptionHandler],
    compress: Compressor | None = None,
    cors: CORSPolicy | None = None,
    gate: Gate | None = None,
) -> Endpoint:
    """Return the route ``info`` compiled for dispatch (its fields described below)."""
    endpoint = Endpoint()
    endpoint.info = info
    # None when the route has no auth classes and no guards: one check per request.
    endpoint.guard = gate
    # None when neither the CORS_* settings nor @cors give this route a policy.
    endpoint.cors = cors
    # The policies' per-response steps as bound methods: calling an instance through its
    # __call__ costs a slot lookup more per request (about 60 ns each, measured).
    endpoint.allow_origin = None if cors is None else cors.allow
    # None when the API compresses nothing or the route is @no_compress: one check per request.
    endpoint.compress = None if compress is None else compress.__call__
    # The compressor leaves a body shorter than its minimum untouched (and without Vary):
    # dispatch checks the size itself and skips the call for those.
    endpoint.compress_from = 0 if compress is None else compress.minimum_size
    # Neither CORS nor compression: its answers go out as the converter made them.
    endpoint.plain = cors is None and compress is None
    endpoint.path_names = path_names
    endpoint.only_path_name = path_names[0] if len(path_names) == 1 else None
    model = declared_model(info)
    binder = compile_binder(
        info.endpoint,
        path_names,
        frozenset(info.methods),
        info.inline,
        # A def handler's model result is read in its own pool call (_django/models.py).
        pool_reader(model, info.label, info.status_code),
    )
    endpoint.binder = binder
    endpoint.convert = build_result_converter(
        info.status_code,
        model,
        info.label,
        validate=info.validate_response is not False,
        response_class=info.response_class,
        vary_origin=cors is not None,
        read_models=True,
    )
    endpoint.handlers = handlers
    # The fast path's pieces: dispatch binds, calls and converts a simple handler itself.
    endpoint.fn = info.endpoint
    endpoint.has_params = binder.has_params
    endpoint.bind = compile_fast_bind(binder) or binder.bind
    endpoint.is_async = binder.is_async
    endpoint.simple = binder.simple
    # None for a simple handler (dispatch runs the fast path); else run_full, or the route's
    # middleware chain (compile_routes).
    endpoint.call = None if binder.simple else functools.partial(run_full, endpoint)
    # What the route's rate limits and middleware compiled to (its guard, or its call when
    # it has middleware), or None without either: for inspection, dispatch never reads it.
    endpoint.policy = None
    # Whether the lane (lane.py) may answer it at once (set by compile_routes once its guard
    # and call are final), and the handler it then calls: ``fn``, or for an ``async def`` one
    # that cannot suspend, the same code as a plain function (inline.py), with ``now_waits``
    # False.
    endpoint.nowait = False
    endpoint.now = endpoint.fn
    endpoint.now_waits = endpoint.is_async
    return endpoint


def compile_routes(
    routes: Iterable[tuple[RouteInfo, dict[type[BaseException], ExceptionHandler]]],
    config: DispatchSettings,
) -> tuple[RouteTable[Endpoint], list[RateLimiter]]:
    """Compile ``routes`` into a route table; return it and the rate limiters it uses.

    Errors here are configuration errors: a duplicate route, a signature the binder cannot
    serve, a middleware entry that is not one.
    """
    table: RouteTable[Endpoint] = RouteTable()
    limiters: list[RateLimiter] = []
    for info, handlers in routes:
        template = PathTemplate(info.path)
        pipeline = route_pipeline(info.middleware, info.endpoint)
        compress = None if pipeline.skips("compression") else config.compressor
        if is_no_compress(info.endpoint):
            compress = None
        cors = None if pipeline.skips("cors") else config.cors_for(info.endpoint, pipeline.cors)
        # The most specific declaration wins: route, then router, then API, then settings.
        backends = resolve_entries(info.auth) if info.auth is not None else config.auth_default
        guards = resolve_entries(info.guards) if info.guards is not None else config.guards_default
        check_route_auth(info, backends, guards, pipeline)
        gate = compile_gate(backends, guards)
        view = info.endpoint
        info.endpoint = route_callee(view)
        if config.wrap is not None:
            # Connection rules, ATOMIC_REQUESTS, signals: decided here, once per route.
            info.endpoint = config.wrap(info.endpoint, inline=info.inline)
        endpoint = new_endpoint(info, template.names, handlers, compress, cors, gate)
        if pipeline.rate_limits:
            endpoint.guard = endpoint.policy = _limited_guard(
                endpoint, pipeline, config, gate, limiters
            )
        if pipeline.chain:
            # ``view`` is the handler as declared: what Django's process_view hooks are given.
            endpoint.call = endpoint.policy = _chained_call(endpoint, pipeline, view)
        endpoint.nowait = answers_at_once(endpoint)
        if endpoint.nowait and endpoint.is_async:
            plain = as_function(endpoint.fn)
            if plain is not None:
                endpoint.now, endpoint.now_waits = plain, False
        for method in info.methods:
            table.add(method, template, endpoint, info.label)
    table.compile()
    return table, limiters


def check_route_auth(
    info: RouteInfo, backends: list[Any], guards: list[Any], pipeline: RoutePipeline
) -> None:
    """Refuse at start-up what the auth in force for a route cannot serve: a rate limit by user
    or API key with no backend, and the session backend's conditions (auth/session.py)."""
    route = f"{'|'.join(info.methods)} {info.path} ({info.label})"
    require_identity(pipeline.rate_limits, backends, route)
    if any(is_session_backend(backend) for backend in backends):
        check_session_route(route, guards, _django_middleware_classes(pipeline.chain))


def _django_middleware_classes(chain: tuple[Any, ...]) -> list[type]:
    """Return the Django middleware classes among a route's middleware entries."""
    found: list[type] = []
    for entry in chain:
        if isinstance(entry, DjangoMiddlewareStack):
            found.extend(entry.middleware_classes)
        elif isinstance(entry, DjangoMiddleware):
            found.append(entry.resolve()[0])
    return found


def answers_at_once(endpoint: Endpoint) -> bool:
    """Tell whether ``endpoint`` can be answered without a coroutine of ours around its call.

    It needs no guard, dependencies, pool or middleware (the fast path), and its handler
    cannot wait: a ``def`` handler that runs on the loop (compile_binder decided that), or an
    ``async def`` one whose code has no await, async for or async with, and which, like an
    inline ``def`` handler, provably neither blocks nor reaches for the running Task (it runs
    outside one). tests/api/test_dispatch_nowait.py covers each case.
    """
    if endpoint.guard is not None or endpoint.call is not None or not endpoint.simple:
        return False
    if not endpoint.is_async:
        return True
    fn = endpoint.fn
    code = getattr(fn, "__code__", None)
    if code is None or not inspect.iscoroutinefunction(fn) or not is_inline_safe(fn):
        return False
    return not can_suspend(code)


async def run_full(
    endpoint: Endpoint, request: Request, params: dict[str, str] | None
) -> WireResponse:
    """Call the handler the general way: dependencies (torn down after the response), forms
    parsed in the pool, a ``def`` handler in the pool."""
    exits: list[Any] = []
    try:
        kwargs = await endpoint.binder.solve(request, params, {}, exits)
        result = await endpoint.binder.call(kwargs)
        response = endpoint.convert(result)
        if response.__class__ is not WireResponse:
            response = await finish_response(response, request)
    except Exception as exc:
        if exits:
            await run_exits(exits, exc)
        raise
    if exits:
        response.background = _chain_teardown(response.background, exits)
    return response


def _chain_teardown(
    previous: Callable[[], Awaitable[None]] | None, exits: list[Any]
) -> Callable[[], Awaitable[None]]:
    async def background() -> None:
        try:
            if previous is not None:
                await previous()
        finally:
            await run_exits(exits)

    return background


def _formatted(
    limiter: RateLimiter, formatter: Callable[[Any, Any], Any] | None
) -> Callable[[Request], Awaitable[WireResponse | None]]:
    """Return the limiter, or with an error formatter, one whose 429 the formatter writes."""
    if formatter is None:
        return limiter

    async def limit(request: Request) -> WireResponse | None:
        refused = await limiter(request)
        if refused is None:
            return None
        return apply_formatter(formatter, error_from_response(refused), request, refused)

    return limit


def _limited_guard(
    endpoint: Endpoint,
    pipeline: RoutePipeline,
    config: DispatchSettings,
    gate: Gate | None,
    limiters: list[RateLimiter],
) -> Guard:
    """Return the route's rate limits around its auth: address limits before it, user limits
    after."""
    before: list[Callable[[Request], Awaitable[WireResponse | None]]] = []
    after: list[Callable[[Request], Awaitable[WireResponse | None]]] = []
    for index, spec in enumerate(pipeline.rate_limits):
        # The same name in every process: the shared backend keys buckets by it.
        route_id = f"{'|'.join(endpoint.info.methods)} {endpoint.info.path} #{index}"
        store = build_store(spec, route_id, config.rate_limit_backend, config.rate_limit_max_keys)
        limiter = RateLimiter(spec, store)
        limiters.append(limiter)
        check = _formatted(limiter, config.error_formatter)
        (before if limiter.phase == "before_auth" else after).append(check)

    async def guard(request: Request) -> WireResponse | None:
        for limiter in before:
            rejected = await limiter(request)
            if rejected is not None:
                return rejected
        if gate is not None:
            pending = gate(request)
            if pending is not None:
                await pending
        for limiter in after:
            rejected = await limiter(request)
            if rejected is not None:
                return rejected
        return None

    return guard


async def finish_response(response: Any, request: Request) -> WireResponse:
    """Return the response a converter's deferred answer becomes: a file deciding between 200,
    206 and 304 (``_http/files.py``), or a model result read in the pool (``_django/models.py``).
    """
    finished = response.finish(request)
    if not isinstance(finished, WireResponse):  # the rows, read in the pool
        finished = await finished
    return finished  # type: ignore[no-any-return]


async def invoke(endpoint: Endpoint, request: Request) -> WireResponse:
    """Call the handler as the innermost layer of a middleware chain.

    The fast path here is ``Dispatcher.dispatch``'s, step for step: there it is written out
    because a coroutine of its own costs about 1 % of a small request, and a chain's innermost
    layer must be one. tests/api/test_dispatch_layout.py runs every kind of handler both ways.
    """
    params = request.path_params if endpoint.path_names else None
    if not endpoint.simple:
        return await run_full(endpoint, request, params)
    if endpoint.has_params:  # noqa: SIM108 - written as in dispatch, to read side by side
        result = endpoint.fn(**endpoint.bind(request, params))
    else:
        result = endpoint.fn()
    if endpoint.is_async:
        result = await result
    response = endpoint.convert(result)
    if response.__class__ is not WireResponse:
        response = await finish_response(response, request)
    return response


def _chained_call(endpoint: Endpoint, pipeline: RoutePipeline, view: Callable[..., Any]) -> Call:
    """Return the middleware chain around the handler (path values via ``request.path_params``)."""
    innermost = functools.partial(invoke, endpoint)
    chain = build_chain(pipeline.chain, innermost, _MIDDLEWARE_CONVERT, view)

    def chained(request: Request, params: dict[str, str] | None) -> Awaitable[WireResponse]:
        return chain(request)

    return chained
