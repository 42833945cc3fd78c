"""Rate limiting: a token bucket per client and route, in this process or shared through Redis.

``@rate_limit(rps=10, burst=20, key="ip")`` (or ``{"type": "rate_limit", ...}`` in a
``middleware=[...]`` list) gives each client of the route a bucket of ``burst`` tokens that
refills at ``rps`` tokens a second; a request takes one token, and a request that finds none gets
429 with ``Retry-After``. Each limit is compiled at start-up into a :class:`RateLimiter`; a route
without one never reaches this module.

Where the buckets live:

* By default, in this process (:class:`LocalBuckets`): no I/O, bounded memory. With ``N``
  processes a client may get up to ``N`` times the limit, once per process.
* ``BOLT_RATE_LIMIT_BACKEND = "<cache alias>"`` shares them across processes and hosts. A Django
  ``RedisCache`` runs the whole bucket update as one Lua script (atomic, using Redis' clock, so
  hosts' clocks do not matter) through ``redis.asyncio``: the event loop is never blocked and no
  pool thread is taken, so a flood of limited requests cannot starve ``def`` handlers of the
  thread pool. Memcached and django-redis caches get a fixed-window counter (``add`` + ``incr``,
  both atomic there) run in the thread pool; any other cache is refused at start-up, because
  its increment is not atomic and the limit would not hold.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar

from django.core.cache import InvalidCacheBackendError, caches
from django.core.exceptions import ImproperlyConfigured

from django_bolt._http.wire import json_response
from django_bolt.concurrency import run_in_pool
from django_bolt.conf import DEFAULT_CONFIG
from django_bolt.middleware.base import _attach
from django_bolt.server.contract import find_header

if TYPE_CHECKING:
    from django_bolt._http.wire import WireResponse
    from django_bolt.request import Request

__all__ = (
    "BucketStore",
    "FixedWindowBuckets",
    "LocalBuckets",
    "RateLimitSpec",
    "RateLimiter",
    "RedisBuckets",
    "build_store",
    "rate_limit",
    "require_identity",
)

F = TypeVar("F", bound=Callable[..., Any])
Phase = Literal["before_auth", "after_auth"]
# (admitted, seconds until a token is back: 0 when admitted)
Decision = tuple[bool, float]

# A bucket idle for burst/rps seconds is full again, which is the same as having no bucket:
# those are dropped first when a store is over its size. Only when every bucket is in use are
# the least recently used dropped (a key that comes back then starts full).
DEFAULT_MAX_KEYS: Final = DEFAULT_CONFIG.bolt_rate_limit_max_keys
# Where APIKeyAuthentication finds a key by default.
_API_KEY_HEADERS: Final = frozenset({b"x-api-key", b"authorization"})
# The keys that are not header names.
_NAMED_KEYS: Final = ("ip", "user", "api_key")
# The keys that count per authenticated identity: meaningless on a route no auth class covers.
_IDENTITY_KEYS: Final = ("user", "api_key")
_HEADER_PREFIX: Final = "header:"
# An HTTP field name (RFC 9110 token).
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# The one bucket of the callers that do not send the header of a header-keyed limit.
_NO_HEADER: Final = "h:absent"


@dataclass(frozen=True, slots=True)
class RateLimitSpec:
    """One declared limit, checked when the route is compiled."""

    rps: float
    burst: int
    key: Any = "ip"

    def __post_init__(self) -> None:
        rps = self.rps
        if isinstance(rps, bool) or not isinstance(rps, int | float) or not rps > 0:
            raise ImproperlyConfigured(f"rate_limit rps must be a number > 0, not {rps!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ImproperlyConfigured(f"rate_limit burst must be an int >= 1, not {self.burst!r}")
        key = self.key
        if callable(key) or key in _NAMED_KEYS or _header_name(key) is not None:
            return
        raise ImproperlyConfigured(
            "rate_limit key must be 'ip', 'user', 'api_key', a request header name ('x-tenant' "
            f"or 'header:x-tenant') or a callable, not {key!r}"
        )

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> RateLimitSpec:
        unknown = set(entry) - {"type", "rps", "burst", "key"}
        if unknown:
            raise ImproperlyConfigured(f"rate_limit does not take {sorted(unknown)}")
        rps = entry.get("rps", 100)
        burst = entry.get("burst")
        return cls(rps, _default_burst(rps) if burst is None else burst, entry.get("key", "ip"))

    @property
    def counts_identity(self) -> bool:
        """Whether the limit counts per authenticated user or API key."""
        return isinstance(self.key, str) and self.key in _IDENTITY_KEYS

    @property
    def phase(self) -> Phase:
        """Limits by address or header run before auth; by user, key or function, after it."""
        key = self.key
        if key == "ip" or _header_name(key) is not None:
            return "before_auth"
        return "after_auth"


def require_identity(limits: Iterable[RateLimitSpec], backends: Sequence[Any], route: str) -> None:
    """Refuse a limit by ``"user"`` or ``"api_key"`` on a route that no auth class covers.

    Without a backend no caller ever has an identity, so such a limit would silently count
    everyone by address: a start-up error instead, as in Django-Bolt 0.13.
    """
    if backends:
        return
    for spec in limits:
        if spec.counts_identity:
            raise ImproperlyConfigured(
                f"{route}: rate_limit(key={spec.key!r}) counts per authenticated identity and "
                "needs an auth backend (auth= on the route, its router or the API, or "
                "BOLT_AUTHENTICATION_CLASSES); this route has none"
            )


def _header_name(key: object) -> bytes | None:
    """Return the lower-case header name a limit is keyed by, or None for another key.

    Both spellings name a header: ``"x-tenant"`` (Django-Bolt's) and ``"header:x-tenant"``.
    The name must be an HTTP token; ``"ip"``, ``"user"`` and ``"api_key"`` are the named keys.
    """
    if not isinstance(key, str) or key in _NAMED_KEYS:
        return None
    name = key[len(_HEADER_PREFIX) :].strip() if key.startswith(_HEADER_PREFIX) else key
    return name.lower().encode("ascii") if _TOKEN.fullmatch(name) else None


def _default_burst(rps: Any) -> Any:
    # Django-Bolt's default: twice the rate.
    return max(1, math.ceil(rps * 2)) if isinstance(rps, int | float) else rps


def rate_limit(rps: float = 100, burst: int | None = None, key: Any = "ip") -> Callable[[F], F]:
    """Limit this route to ``rps`` requests a second per client, ``burst`` at once.

    ``key`` picks the client: ``"ip"`` (the address the server resolved, trusted proxies
    applied), ``"user"`` (the authenticated user; the address when anonymous), ``"api_key"``
    (the accepted API key; the address otherwise), a request header name, written ``"x-tenant"``
    or ``"header:x-tenant"`` (that header's value; the callers without it share one bucket) or a
    callable ``key(request) -> str | None``. ``burst`` defaults to twice ``rps``.
    """
    entry = {"type": "rate_limit", "rps": rps, "burst": burst, "key": key}
    RateLimitSpec.from_entry(entry)  # a mistake fails at import, next to the decorator

    def decorator(handler: F) -> F:
        _attach(handler, [entry])
        return handler

    return decorator


# --- client keys --------------------------------------------------------------------------------


def _address(request: Request) -> str:
    client = request.client
    # The server has already applied the trusted-proxy rules: a forwarded address is only here
    # when a trusted proxy sent it.
    return "ip:" + (client[0] if client is not None else "unknown")


def _digest(value: str) -> str:
    # Header values and API keys are credentials: only a digest is kept as a bucket name.
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _by_user(request: Request) -> str:
    """Key a limit by the authenticated user (the address when anonymous)."""
    context = request.context
    if context and context.get("user_id") is not None:
        # What the auth class accepted: no user row is loaded to key a limit.
        return "user:" + str(context["user_id"])
    user = request.user
    if getattr(user, "is_authenticated", False):
        return "user:" + str(getattr(user, "pk", None) or user.get_username())
    return _address(request)


def _key_function(key: Any) -> Callable[[Request], str]:
    if callable(key):

        def by_function(request: Request) -> str:
            value = key(request)
            return _address(request) if value is None else "fn:" + _digest(str(value))

        return by_function
    if key == "ip":
        return _address
    if key == "user":
        return _by_user
    if key == "api_key":

        def by_api_key(request: Request) -> str:
            auth = request.auth
            if not isinstance(auth, dict) or auth.get("api_key") is None:
                return _address(request)
            # The key the client presented (accepted by now): keys whose info is just True
            # would otherwise share one bucket.
            for name, value in request.raw_headers:
                if name.lower() in _API_KEY_HEADERS:
                    return "key:" + _digest(value.decode("latin-1"))
            return "key:" + _digest(repr(auth["api_key"]))

        return by_api_key
    wanted = _header_name(key)
    if wanted is None:  # pragma: no cover - RateLimitSpec refused it
        raise ImproperlyConfigured(f"rate_limit key {key!r} is not a header name")

    def by_header(request: Request) -> str:
        value = find_header(request.raw_headers, wanted)
        # As in Django-Bolt, the callers without the header are one client, not one per address.
        return _NO_HEADER if value is None else "h:" + _digest(value.decode("latin-1"))

    return by_header


# --- stores -------------------------------------------------------------------------------------


class BucketStore(Protocol):
    """Where one limit's buckets live."""

    async def take(self, key: str) -> Decision: ...


class LocalBuckets:
    """Token buckets in this process, bounded to ``max_keys`` entries.

    The dict is kept in least-recently-used order (a hit moves its key to the end); when it
    outgrows ``max_keys``, full buckets are dropped first, then the oldest.
    """

    __slots__ = ("_buckets", "_burst", "_full_after_s", "_lock", "_max_keys", "_rps")

    def __init__(self, rps: float, burst: int, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._rps = float(rps)
        self._burst = float(burst)
        self._full_after_s = burst / rps
        self._max_keys = max_keys
        # key -> [tokens, monotonic time of the last update]
        self._buckets: dict[str, list[float]] = {}
        # Worker threads (free-threaded builds) share a route's limiter.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str) -> Decision:
        return self.take_now(key, time.monotonic())

    def take_now(self, key: str, now: float) -> Decision:
        rps = self._rps
        with self._lock:
            buckets = self._buckets
            bucket = buckets.pop(key, None)
            if bucket is None:
                bucket = [self._burst, now]
                if len(buckets) >= self._max_keys:
                    self._shrink(now)
            tokens = min(self._burst, bucket[0] + (now - bucket[1]) * rps)
            bucket[1] = now
            buckets[key] = bucket
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return True, 0.0
            bucket[0] = tokens
            return False, (1.0 - tokens) / rps

    def _shrink(self, now: float) -> None:
        buckets = self._buckets
        full_after = self._full_after_s
        for key in [k for k, (_, last) in buckets.items() if now - last >= full_after]:
            del buckets[key]
        # Still full of live buckets: drop the least recently used quarter.
        excess = len(buckets) - (self._max_keys * 3) // 4
        if excess > 0:
            for key in list(buckets)[:excess]:
                del buckets[key]


# KEYS[1] the bucket; ARGV rps, burst. Redis' own clock: every host sees the same time.
_BUCKET_SCRIPT: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    """Token buckets in Redis, one Lua call per request, through ``redis.asyncio``.

    ``redis.asyncio`` connections belong to the event loop that opened them, and each worker
    thread runs its own loop: one client per loop, closed by :meth:`aclose` at shutdown.
    """

    __slots__ = ("_burst", "_clients", "_lock", "_make_client", "_prefix", "_rps")

    def __init__(self, make_client: Callable[[], Any], prefix: str, rps: float, burst: int) -> None:
        self._make_client = make_client
        self._prefix = prefix
        self._rps = repr(float(rps))
        self._burst = str(burst)
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def _script(self) -> Any:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            client = self._make_client()
            found = (client, client.register_script(_BUCKET_SCRIPT))
            with self._lock:
                self._clients[loop] = found
        return found[1]

    async def take(self, key: str) -> Decision:
        call = self._script()(keys=[self._prefix + key], args=[self._rps, self._burst])
        if asyncio.current_task() is None:
            # On Python 3.11 the server runs a request's first step outside any Task, and
            # redis-py's timeouts (asyncio.timeout) need one: give the call its own.
            allowed, tokens = await asyncio.ensure_future(call)
        else:
            allowed, tokens = await call
        if int(allowed) == 1:
            return True, 0.0
        left = float(tokens.decode() if isinstance(tokens, bytes) else tokens)
        return False, (1.0 - left) / float(self._rps)

    async def aclose(self) -> None:
        """Close this loop's client (called from the API's shutdown, once per loop)."""
        with self._lock:
            found = self._clients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found[0].aclose()


class FixedWindowBuckets:
    """A counter per window of ``burst / rps`` seconds in a cache whose ``incr`` is atomic.

    At most ``burst`` requests per window: over any ``D`` seconds that admits at most
    ``rps * D + burst``, the token bucket's bound, though a client may spend two windows'
    worth around a window boundary. Windows follow this host's clock.
    """

    __slots__ = ("_burst", "_cache", "_prefix", "_timeout_s", "_window_s")

    def __init__(self, cache: Any, prefix: str, rps: float, burst: int) -> None:
        self._cache = cache
        self._prefix = prefix
        self._burst = burst
        self._window_s = burst / rps
        self._timeout_s = math.ceil(self._window_s) + 1

    async def take(self, key: str) -> Decision:
        result: Decision = await run_in_pool(self._take_sync, {"key": key})
        return result

    def _take_sync(self, key: str) -> Decision:
        now = time.time()
        window = math.floor(now / self._window_s)
        name = f"{self._prefix}{key}:{window}"
        cache = self._cache
        if cache.add(name, 1, self._timeout_s):
            count = 1
        else:
            try:
                count = cache.incr(name)
            except ValueError:  # expired between add and incr: this request opens it again
                cache.add(name, 1, self._timeout_s)
                count = 1
        if count <= self._burst:
            return True, 0.0
        return False, (window + 1) * self._window_s - now


_ATOMIC_INCR_CACHES: Final = frozenset(
    {
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
        "django_redis.cache.RedisCache",
    }
)


def build_store(
    spec: RateLimitSpec, route_id: str, backend: str | None, max_keys: int
) -> BucketStore:
    """Return the store for one route's limit: local, or on the cache ``backend`` names."""
    if backend is None:
        return LocalBuckets(spec.rps, spec.burst, max_keys)
    try:
        cache = caches[backend]
    except InvalidCacheBackendError as exc:
        raise ImproperlyConfigured(f"BOLT_RATE_LIMIT_BACKEND: {exc}") from exc
    cls = type(cache)
    path = f"{cls.__module__}.{cls.__qualname__}"
    prefix = cache.make_key(f"bolt-rl:{_digest(route_id)}:")
    if path == "django.core.cache.backends.redis.RedisCache":
        return RedisBuckets(_async_redis_factory(cache), prefix, spec.rps, spec.burst)
    if path in _ATOMIC_INCR_CACHES:
        return FixedWindowBuckets(cache, prefix, spec.rps, spec.burst)
    raise ImproperlyConfigured(
        f"BOLT_RATE_LIMIT_BACKEND={backend!r} is a {path}, whose increment is not atomic across "
        "processes; use a Redis or Memcached cache (or leave the setting unset for per-process "
        "limits)"
    )


def _async_redis_factory(cache: Any) -> Callable[[], Any]:
    """Make ``redis.asyncio`` clients for the same server Django's ``RedisCache`` writes to."""
    import redis.asyncio

    servers = cache._servers  # Django's RedisCache keeps its URLs here; the first takes writes
    options = {k: v for k, v in cache._options.items() if k in ("db", "username", "password")}

    def make() -> Any:
        return redis.asyncio.Redis.from_url(servers[0], **options)

    return make


# --- the limiter --------------------------------------------------------------------------------


class RateLimiter:
    """One compiled limit: ``await limiter(request)`` is None (admitted) or the 429."""

    __slots__ = ("_client_key", "_headers", "_rps", "phase", "spec", "store")

    def __init__(self, spec: RateLimitSpec, store: BucketStore) -> None:
        self.spec = spec
        self.store = store
        self.phase: Phase = spec.phase
        self._client_key = _key_function(spec.key)
        rps = spec.rps
        limit = str(int(rps)) if float(rps).is_integer() else str(rps)
        self._headers = [
            (b"x-ratelimit-limit", limit.encode()),
            (b"x-ratelimit-burst", str(spec.burst).encode()),
            (b"x-ratelimit-remaining", b"0"),
        ]

    async def __call__(self, request: Request) -> WireResponse | None:
        admitted, wait_s = await self.store.take(self._client_key(request))
        if admitted:
            return None
        retry = max(1, math.ceil(wait_s))
        headers = [
            (b"retry-after", str(retry).encode()),
            *self._headers,
            (b"x-ratelimit-reset", str(math.ceil(time.time() + wait_s)).encode()),
        ]
        return json_response(
            429,
            {"detail": f"Rate limit exceeded. Try again in {retry} seconds.", "retry_after": retry},
            headers,
        )

    async def aclose(self) -> None:
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()
