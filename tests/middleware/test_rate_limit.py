"""Rate limiting: token buckets per client and route, in process and shared through Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI, Request, Router
from django_bolt.auth import APIKeyAuthentication, IsAuthenticated
from django_bolt.middleware import cors, rate_limit
from django_bolt.middleware.rate_limit import FixedWindowBuckets, LocalBuckets
from django_bolt.testing import AsyncTestClient, TestClient
from tests.server.conftest import Driver

ORIGIN = "https://app.example.com"


def limited_api(**kwargs) -> BoltAPI:
    api = BoltAPI()

    @api.get("/limited")
    @rate_limit(**kwargs)
    async def limited():
        return {"ok": True}

    @api.get("/other")
    @rate_limit(**kwargs)
    async def other():
        return {"ok": True}

    return api


def statuses(client, path: str, count: int, **kwargs) -> list[int]:
    return [client.get(path, **kwargs).status_code for _ in range(count)]


# --- behaviour through the test client ---------------------------------------------------------


def test_burst_then_429_with_its_shape_and_headers():
    api = limited_api(rps=2, burst=3)
    with TestClient(api) as client:
        assert statuses(client, "/limited", 3) == [200, 200, 200]
        before = int(time.time())
        response = client.get("/limited")
    assert response.status_code == 429
    retry = response.json()["retry_after"]
    assert response.json() == {
        "detail": f"Rate limit exceeded. Try again in {retry} seconds.",
        "retry_after": retry,
    }
    assert retry == 1  # one token comes back at 2 per second
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-limit"] == "2"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-burst"] == "3"
    assert before <= int(response.headers["x-ratelimit-reset"]) <= before + 2


def test_each_route_has_its_own_buckets():
    api = limited_api(rps=1, burst=1)
    with TestClient(api) as client:
        assert statuses(client, "/limited", 2) == [200, 429]
        assert statuses(client, "/other", 2) == [200, 429]


def test_handler_does_not_run_when_limited():
    calls = []
    api = BoltAPI()

    @api.post("/work")
    @rate_limit(rps=1, burst=2)
    async def work():
        calls.append(1)
        return {}

    with TestClient(api) as client:
        assert [client.post("/work").status_code for _ in range(4)] == [200, 200, 429, 429]
    assert calls == [1, 1]


def test_header_key_separates_clients_and_callers_without_it_share_a_bucket():
    api = limited_api(rps=1, burst=1, key="header:X-Tenant")
    with TestClient(api) as client:
        assert statuses(client, "/limited", 2, headers={"X-Tenant": "a"}) == [200, 429]
        assert statuses(client, "/limited", 2, headers={"X-Tenant": "b"}) == [200, 429]
        assert statuses(client, "/limited", 2) == [200, 429]


def test_callable_key():
    def by_query(request: Request) -> str | None:
        return request.query.get("team")

    api = limited_api(rps=1, burst=1, key=by_query)
    with TestClient(api) as client:
        assert statuses(client, "/limited?team=red", 2) == [200, 429]
        assert statuses(client, "/limited?team=blue", 2) == [200, 429]


def test_api_key_and_user_keys_count_per_credential_after_auth():
    auth = [APIKeyAuthentication(api_keys={"key-one": {"id": 1}, "key-two": {"id": 2}})]
    api = BoltAPI()

    @api.get("/by-key", auth=auth, guards=[IsAuthenticated()])
    @rate_limit(rps=1, burst=1, key="api_key")
    async def by_key():
        return {}

    @api.get("/by-user", auth=auth)
    @rate_limit(rps=1, burst=1, key="user")
    async def by_user():
        return {}

    one, two = {"X-API-Key": "key-one"}, {"X-API-Key": "key-two"}
    with TestClient(api) as client:
        assert statuses(client, "/by-key", 2, headers=one) == [200, 429]
        assert statuses(client, "/by-key", 2, headers=two) == [200, 429]
        # Refused by auth before the per-key limit: 401, never 429.
        assert statuses(client, "/by-key", 3) == [401, 401, 401]
        assert statuses(client, "/by-user", 2, headers=one) == [200, 429]
        assert statuses(client, "/by-user", 2, headers=two) == [200, 429]
        # Anonymous callers share their address's bucket.
        assert statuses(client, "/by-user", 2) == [200, 429]


def test_api_keys_without_info_still_count_separately():
    api = BoltAPI()

    @api.get("/x", auth=[APIKeyAuthentication(api_keys={"key-one", "key-two"})])
    @rate_limit(rps=1, burst=1, key="api_key")
    async def x():
        return {}

    with TestClient(api) as client:
        assert statuses(client, "/x", 2, headers={"X-API-Key": "key-one"}) == [200, 429]
        assert statuses(client, "/x", 2, headers={"X-API-Key": "key-two"}) == [200, 429]


def test_address_limit_runs_before_auth():
    api = BoltAPI()

    @api.get("/login", auth=[APIKeyAuthentication(api_keys={"k"})], guards=[IsAuthenticated()])
    @rate_limit(rps=1, burst=2)
    async def login():
        return {}

    with TestClient(api) as client:
        # Failed attempts use up the bucket: guessing keys is limited too.
        assert statuses(client, "/login", 3) == [401, 401, 429]
        assert client.get("/login", headers={"X-API-Key": "k"}).status_code == 429


def test_dict_entry_in_api_and_router_middleware():
    api = BoltAPI(middleware=[{"type": "rate_limit", "rps": 1, "burst": 1}])
    router = Router(prefix="/r", middleware=[{"type": "rate_limit", "rps": 100, "burst": 5}])

    @api.get("/a")
    async def a():
        return {}

    @router.get("/b")
    async def b():
        return {}

    api.include_router(router)
    with TestClient(api) as client:
        assert statuses(client, "/a", 2) == [200, 429]
        # Both limits apply to the router's route; the API's (1 at once) is the tighter.
        assert statuses(client, "/r/b", 2) == [200, 429]


def test_rate_limited_responses_carry_cors_and_preflights_are_not_counted(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    api = BoltAPI()

    @api.post("/g")
    @rate_limit(rps=1, burst=1)
    async def global_policy():
        return {}

    @api.post("/r")
    @cors(origins=["https://partner.example.org"])
    @rate_limit(rps=1, burst=1)
    async def route_policy():
        return {}

    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    with TestClient(api) as client:
        for _ in range(3):
            assert client.options("/g", headers=preflight).status_code == 204
        assert client.post("/g", headers={"Origin": ORIGIN}).status_code == 200
        limited = client.post("/g", headers={"Origin": ORIGIN})
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == ORIGIN
        partner = {"Origin": "https://partner.example.org"}
        assert client.post("/r", headers=partner).status_code == 200
        limited = client.post("/r", headers=partner)
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == "https://partner.example.org"


def test_forwarded_for_from_an_untrusted_peer_does_not_mint_buckets():
    api = limited_api(rps=1, burst=2)
    loop = asyncio.new_event_loop()
    try:

        def status(peer: tuple[str, int], forwarded: str) -> bytes:
            driver = Driver(loop, app=api, peername=peer)
            out = driver.feed(
                b"GET /limited HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: "
                + forwarded.encode()
                + b"\r\n\r\n"
            )
            return out.split(b"\r\n", 1)[0]

        untrusted = ("203.0.113.5", 40000)
        seen = [status(untrusted, f"198.51.100.{i}") for i in range(4)]
        assert seen == [b"HTTP/1.1 200 OK"] * 2 + [b"HTTP/1.1 429 Too Many Requests"] * 2
        # Behind a trusted proxy (loopback by default) each forwarded client has its own bucket.
        trusted = ("127.0.0.1", 40000)
        assert {status(trusted, f"198.51.100.{i}") for i in range(10, 14)} == {b"HTTP/1.1 200 OK"}
    finally:
        loop.close()


def test_configuration_mistakes_fail_at_declaration():
    for kwargs in ({"rps": 0}, {"rps": "10"}, {"rps": 1, "burst": 0}, {"key": "not a header"}):
        with pytest.raises(ImproperlyConfigured):
            rate_limit(**kwargs)
    api = BoltAPI(middleware=[{"type": "rate_limit", "rps": 1, "per": "minute"}])

    @api.get("/x")
    async def x():
        return {}

    with pytest.raises(ImproperlyConfigured, match="per"):
        api.compile()


def test_default_burst_is_twice_the_rate():
    api = limited_api(rps=2)
    with TestClient(api) as client:
        assert statuses(client, "/limited", 5) == [200] * 4 + [429]


# --- the in-process store ------------------------------------------------------------------------


def test_tokens_refill_at_the_rate():
    buckets = LocalBuckets(rps=2, burst=2)
    assert buckets.take_now("k", 100.0) == (True, 0.0)
    assert buckets.take_now("k", 100.0) == (True, 0.0)
    admitted, wait = buckets.take_now("k", 100.0)
    assert not admitted
    assert wait == pytest.approx(0.5)
    assert buckets.take_now("k", 100.5)[0]  # one token back after half a second
    assert not buckets.take_now("k", 100.5)[0]
    # A long pause refills to the burst, never beyond it.
    assert [buckets.take_now("k", 200.0)[0] for _ in range(3)] == [True, True, False]


def test_memory_is_bounded_even_when_no_bucket_is_idle():
    buckets = LocalBuckets(rps=1, burst=2, max_keys=100)
    # Every bucket has just spent a token, so none is full: the least recently used go.
    for i in range(1000):
        buckets.take_now(f"client-{i}", 10.0)
        assert len(buckets) <= 100
    assert buckets.take_now("client-999", 10.0) == (True, 0.0)  # recent: kept its one token
    assert buckets.take_now("client-999", 10.0) == (False, pytest.approx(1.0))


def test_eviction_prefers_full_buckets_over_recent_ones():
    buckets = LocalBuckets(rps=1, burst=5, max_keys=4)
    for name in ("a", "b", "c"):
        buckets.take_now(name, 0.0)  # full again after 5 s
    for _ in range(5):
        buckets.take_now("hot", 9.0)  # drained at t=9
    buckets.take_now("late", 9.5)  # over the limit: a, b, c are full by now and go
    assert len(buckets) == 2
    assert not buckets.take_now("hot", 9.5)[0]


def test_fixed_window_counter_on_an_atomic_cache(monkeypatch):
    import importlib
    import types

    # The package's ``rate_limit`` attribute is the decorator; the module is reached by name.
    module = importlib.import_module("django_bolt.middleware.rate_limit")

    now = [1000.0]
    monkeypatch.setattr(module, "time", types.SimpleNamespace(time=lambda: now[0]))
    store = FixedWindowBuckets(caches["default"], f"t-{uuid.uuid4().hex}:", rps=1, burst=3)
    # Windows of burst / rps = 3 s, three requests in each.
    assert [store._take_sync("k")[0] for _ in range(4)] == [True, True, True, False]
    now[0] = 1001.0
    assert store._take_sync("k") == (False, pytest.approx(1.0))
    assert store._take_sync("other")[0]
    now[0] = 1002.0  # the next window
    assert [store._take_sync("k")[0] for _ in range(4)] == [True, True, True, False]


def test_backends_without_atomic_increment_are_refused(settings):
    settings.BOLT_RATE_LIMIT_BACKEND = "default"  # LocMemCache: per process, not shared
    api = limited_api(rps=1, burst=1)
    with pytest.raises(ImproperlyConfigured, match="not atomic across processes"):
        api.compile()
    settings.BOLT_RATE_LIMIT_BACKEND = "missing"
    with pytest.raises(ImproperlyConfigured, match="BOLT_RATE_LIMIT_BACKEND"):
        api.compile()


# --- shared through Redis ----------------------------------------------------------------------


@pytest.fixture
def redis_cache(settings, redis_url, redis_prefix):
    """A Django RedisCache alias with a key prefix of its own (parallel runs never collide)."""
    settings.CACHES = {
        **settings.CACHES,
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": redis_prefix,
        },
    }
    settings.BOLT_RATE_LIMIT_BACKEND = "limits"
    return redis_prefix


@pytest.mark.redis
def test_redis_buckets_are_shared_between_apis(redis_cache):
    # Two APIs stand for two processes: they only share what is in Redis.
    first, second = limited_api(rps=1, burst=3), limited_api(rps=1, burst=3)
    with TestClient(first) as one, TestClient(second) as two:
        assert statuses(one, "/limited", 2) == [200, 200]
        assert statuses(two, "/limited", 2) == [200, 429]
        limited = one.get("/limited")
    assert limited.status_code == 429
    assert limited.json()["retry_after"] == 1
    assert limited.headers["x-ratelimit-limit"] == "1"


@pytest.mark.redis
def test_redis_buckets_from_async_clients(redis_cache):
    api = limited_api(rps=1, burst=2)

    async def burst() -> list[int]:
        async with AsyncTestClient(api) as client:
            results = await asyncio.gather(*(client.get("/limited") for _ in range(6)))
        return sorted(r.status_code for r in results)

    assert asyncio.run(burst()) == [200, 200, 429, 429, 429, 429]


@pytest.mark.redis
def test_redis_bucket_keys_expire(redis_cache, redis_url):
    import redis

    api = limited_api(rps=10, burst=5)
    with TestClient(api) as client:
        client.get("/limited")
    raw = redis.Redis.from_url(redis_url)
    try:
        keys = list(raw.scan_iter(match=f"{redis_cache}*"))
        assert len(keys) == 1
        # burst / rps = 0.5 s to refill, plus a second of slack: nothing idle stays behind.
        assert 0 < raw.pttl(keys[0]) <= 1500
    finally:
        raw.close()
