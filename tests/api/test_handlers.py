"""Handlers: async, inline def, pooled def (with the ORM), the fast path, lifespan hooks."""

import contextlib
import enum
import math
import random
import re
import secrets
import threading
import time
from datetime import UTC, date, datetime, timezone
from http import HTTPStatus
from time import sleep
from typing import NamedTuple
from uuid import uuid4

import msgspec
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


SMALL = {"message": "Hello, World!"}
NAMES = ["ann", "bob"]


class _Loud(dict):
    def __getitem__(self, key):  # a subclass may run any code on a subscript
        return super().__getitem__(key)


LOUD = _Loud(a=1)


def returns_constant():
    return SMALL


def returns_literal():
    return {"message": "Hello, World!"}


def reads_list_constant(i: int):
    return {"name": NAMES[i % 2], "count": len(NAMES)}


def reads_dict_subclass():
    return {"a": LOUD["a"]}


def closure_factory():
    conn = object()

    def handler():
        return {"conn": str(conn)}

    return handler


def closure_over(value):
    def handler():
        return {"value": value}

    return handler


def closure_over_data():
    limit, names, row = 3, ("ann", "bob"), {"a": 1}

    def handler(i: int):
        return {"name": names[i % 2], "limit": limit, "a": row["a"]}

    return handler


def closure_filled_later():
    def handler():
        return {"client": client.get("x")}

    yield handler
    client = {}  # assigned after the handler was made: its cell was empty when judged
    yield client


def closure_in_nested_function():
    def handler():
        token = "t"
        return {"upper": (lambda: token.upper())()}

    return handler


class Status(enum.StrEnum):
    ACTIVE = "active"
    GONE = "gone"

    @classmethod
    def fetch(cls):  # anything may hide behind a method
        return cls.ACTIVE


class Pair(NamedTuple):
    left: int
    right: int


def returns_enum_member():
    return {"status": Status.ACTIVE, "code": HTTPStatus.OK.value}


def looks_up_enum(value: str):
    return {"status": Status(value).name}


def calls_enum_method():
    return {"status": Status.fetch()}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_STATUS = Status.GONE


def stamps_time():
    now = datetime.now(timezone.utc)  # noqa: UP017 (both spellings are judged)
    return {"at": now.isoformat(), "day": date.today(), "age": (now - EPOCH).total_seconds()}


def reads_enum_constant():
    return {"status": DEFAULT_STATUS.value}


def builds_named_tuple():
    return {"pair": list(Pair(1, 2))}


WORD = re.compile(r"\w+")


def reads_clocks_and_ids():
    return {"at": time.time(), "took": time.perf_counter(), "id": uuid4().hex}


def rolls_and_measures(side: float):
    token = secrets.token_hex(8)
    return {"roll": random.randint(1, 6), "token": token, "area": math.pi * side**2}


def matches_words(text: str):
    found = WORD.match(text)
    return {"word": found.group(0) if found else None, "digits": bool(re.fullmatch(r"\d+", text))}


def sleeps_through_the_module():
    time.sleep(0)
    return {}


def sleeps_by_name():
    sleep(0)
    return {}


def hands_the_module_on():
    return {"clock": repr(time)}


PLACEHOLDER = None


def reads_placeholder_global():
    return {"client": PLACEHOLDER.get("x")}


class Point(msgspec.Struct):
    x: int


@pytest.mark.parametrize(
    ("fn", "safe"),
    [
        pytest.param(pure, True, id="pure"),
        pytest.param(uses_orm, False, id="orm"),
        pytest.param(sleeps, False, id="import"),
        pytest.param(reads_thread, False, id="unknown-module"),
        pytest.param(closure_factory(), False, id="closure"),
        pytest.param(closure_over(7), True, id="closure-over-int"),
        pytest.param(closure_over("/v1"), True, id="closure-over-str"),
        pytest.param(closure_over_data(), True, id="closure-over-data"),
        pytest.param(closure_over(Point), True, id="closure-over-struct-class"),
        pytest.param(closure_over(None), False, id="closure-over-none-placeholder"),
        pytest.param(closure_over(threading.Lock()), False, id="closure-over-lock"),
        pytest.param(next(closure_filled_later()), False, id="closure-cell-still-empty"),
        pytest.param(closure_in_nested_function(), False, id="nested-function-local"),
        pytest.param(reads_placeholder_global, False, id="global-none-placeholder"),
        pytest.param(returns_enum_member, True, id="enum-member"),
        pytest.param(looks_up_enum, True, id="enum-lookup"),
        pytest.param(calls_enum_method, False, id="enum-method"),
        pytest.param(stamps_time, True, id="datetime-now"),
        pytest.param(builds_named_tuple, True, id="named-tuple"),
        pytest.param(reads_enum_constant, True, id="module-level-enum-member"),
        pytest.param(reads_clocks_and_ids, True, id="time-and-uuid4"),
        pytest.param(rolls_and_measures, True, id="random-secrets-math"),
        pytest.param(matches_words, True, id="regex"),
        pytest.param(sleeps_through_the_module, False, id="time-sleep"),
        pytest.param(sleeps_by_name, False, id="sleep-imported-by-name"),
        pytest.param(hands_the_module_on, False, id="module-itself"),
        pytest.param(print, False, id="builtin-without-code"),
        pytest.param(returns_constant, True, id="module-level-dict"),
        pytest.param(returns_literal, True, id="literal-dict"),
        pytest.param(reads_list_constant, True, id="module-level-list"),
        pytest.param(reads_dict_subclass, False, id="dict-subclass"),
    ],
)
def test_inline_decision(fn, safe):
    assert is_inline_safe(fn) is safe


def test_the_decision_is_logged_per_handler_at_debug_level(caplog):
    with caplog.at_level("DEBUG", logger="django_bolt"):
        api = BoltAPI()
        api.get("/constant")(returns_constant)
        api.get("/orm")(uses_orm)
        api.get("/forced", inline=False)(pure)
        with TestClient(api) as client:
            assert client.get("/constant").json() == SMALL
    lines = [r.getMessage() for r in caplog.records if r.name == "django_bolt"]
    assert any(line.endswith("returns_constant runs inline on the event loop") for line in lines), (
        lines
    )
    assert any(
        "uses_orm runs in the thread pool: it uses the global 'User'" in line for line in lines
    ), lines
    assert any(
        line.endswith("pure runs in the thread pool (the route's inline=False)") for line in lines
    ), lines


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


def test_enum_and_date_handlers_answer_from_the_loop(caplog):
    api = BoltAPI()
    api.get("/status")(returns_enum_member)
    api.get("/status/{value}")(looks_up_enum)
    api.get("/time")(stamps_time)
    with (
        caplog.at_level("DEBUG", logger="django_bolt"),
        TestClient(api, raise_server_exceptions=False) as client,
    ):
        assert client.get("/status").json() == {"status": "active", "code": 200}
        assert client.get("/status/gone").json() == {"status": "GONE"}
        # A value no member has: the Enum's ValueError is the handler's error, as in the pool.
        assert client.get("/status/nope").status_code == 500
        stamped = client.get("/time").json()
        assert datetime.fromisoformat(stamped["at"]).tzinfo is not None
        assert stamped["day"] == date.today().isoformat()
        assert stamped["age"] > 1.7e9
    lines = [r.getMessage() for r in caplog.records if r.name == "django_bolt"]
    for name in ("returns_enum_member", "looks_up_enum", "stamps_time"):
        assert any(line.endswith(f"{name} runs inline on the event loop") for line in lines), lines


def test_handlers_made_in_a_loop_run_inline_when_their_closure_holds_data(caplog):
    api = BoltAPI()
    for version in (1, 2):

        def closed():
            return {"version": version}  # noqa: B023 (late binding is what is tested)

        def defaults(version=version, prefix=f"/v{version}"):
            return {"version": version, "prefix": prefix}

        api.get(f"/v{version}/closed")(closed)
        api.get(f"/v{version}/defaults")(defaults)
    client_placeholder = None

    def placeholder():
        return {"ready": client_placeholder}

    api.get("/placeholder")(placeholder)
    with caplog.at_level("DEBUG", logger="django_bolt"), TestClient(api) as client:
        # The closure variable is the last one the loop bound, as Python's scoping has it.
        assert client.get("/v1/closed").json() == {"version": 2}
        assert client.get("/v1/defaults").json() == {"version": 1, "prefix": "/v1"}
        assert client.get("/placeholder").json() == {"ready": None}
    lines = [r.getMessage() for r in caplog.records if r.name == "django_bolt"]
    for name in ("closed", "defaults"):
        decided = f"<locals>.{name} runs inline on the event loop"
        inline = [line for line in lines if line.endswith(decided)]
        assert len(inline) == 2, lines
    assert any(
        line.endswith(
            "placeholder runs in the thread pool: it uses the closure variable"
            " 'client_placeholder' (None, a placeholder)"
        )
        for line in lines
    ), lines


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


def test_sync_to_thread_runs_blocking_code_in_the_pool_with_the_callers_context():
    import contextvars

    from django_bolt.concurrency import sync_to_thread

    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="none")

    def blocking(prefix: str, *, suffix: str) -> dict[str, str]:
        return {
            "thread": threading.current_thread().name,
            "value": f"{prefix}-{tenant.get()}-{suffix}",
        }

    api = BoltAPI()

    @api.get("/report")
    async def report():
        tenant.set("acme")
        return await sync_to_thread(blocking, "t", suffix="x")

    with TestClient(api) as client:
        body = client.get("/report").json()
    assert body["thread"].startswith("bolt-sync")
    assert body["value"] == "t-acme-x"
