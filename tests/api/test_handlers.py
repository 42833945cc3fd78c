"""Handlers: async, inline def, pooled def (with the ORM), the fast path, lifespan hooks."""

import contextlib
import threading

import pytest
from django.contrib.auth.models import User

from django_bolt import BoltAPI, Request
from django_bolt.concurrency import is_inline_safe
from django_bolt.testing import TestClient


def pure(a: int, q: str = "x"):
    return {"a": a, "q": q.upper(), "n": len(q)}


def pure_root():
    return {}


def uses_orm():
    return {"users": User.objects.count()}


def sleeps():
    import time

    time.sleep(0)
    return {}


def reads_thread():
    return {"thread": threading.current_thread().name}


def closure_factory():
    conn = object()

    def handler():
        return {"conn": str(conn)}

    return handler


@pytest.mark.parametrize(
    ("fn", "safe"),
    [
        pytest.param(pure, True, id="pure"),
        pytest.param(uses_orm, False, id="orm"),
        pytest.param(sleeps, False, id="import"),
        pytest.param(reads_thread, False, id="unknown-module"),
        pytest.param(closure_factory(), False, id="closure"),
        pytest.param(print, False, id="builtin-without-code"),
    ],
)
def test_inline_decision(fn, safe):
    assert is_inline_safe(fn) is safe


def test_def_handlers_run_inline_or_in_the_pool():
    api = BoltAPI()

    def thread_name():
        return {"thread": threading.current_thread().name}

    api.get("/pooled")(thread_name)
    api.get("/forced-inline", inline=True)(thread_name)
    api.get("/pure")(pure)

    with TestClient(api) as client:
        assert client.get("/pooled").json()["thread"].startswith("bolt-sync")
        assert client.get("/forced-inline").json()["thread"] == threading.current_thread().name
        assert client.get("/pure?a=1&q=ab").json() == {"a": 1, "q": "AB", "n": 2}


@pytest.mark.django_db(transaction=True)
def test_orm_in_def_handler_runs_in_the_pool():
    User.objects.create(username="ann")
    api = BoltAPI()
    api.get("/count")(uses_orm)
    api.get("/count-inline", inline=True)(uses_orm)
    with TestClient(api, raise_server_exceptions=False) as client:
        assert client.get("/count").json() == {"users": 1}
        # Forced onto the loop thread, Django refuses: that is why the default is the pool.
        assert client.get("/count-inline").status_code == 500


def test_async_handler_completes_without_suspending():
    api = BoltAPI()

    @api.get("/fast/{n}")
    async def fast(n: int, request: Request):
        return {"n": n}

    request = Request("GET", b"/fast/3", [], b"", None, "http", None, "1.1")
    coro = api.dispatch(request)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    response = done.value.value
    assert (response.status_code, response.body) == (200, b'{"n":3}')


def test_lifespan_hooks_and_context_manager():
    events = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("lifespan-enter")
        yield
        events.append("lifespan-exit")

    async def on_start():
        events.append("startup")

    api = BoltAPI(
        on_startup=[on_start], on_shutdown=[lambda: events.append("shutdown")], lifespan=lifespan
    )
    api.get("/")(pure_root)
    with TestClient(api) as client:
        client.get("/")
        assert events == ["startup", "lifespan-enter"]
    assert events == ["startup", "lifespan-enter", "lifespan-exit", "shutdown"]
