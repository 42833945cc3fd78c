"""``async def`` handlers that cannot suspend, called as the plain functions they amount to.

The API's dispatch_nowait (its compiled Lane) calls such a handler's code without making a
coroutine (_dispatch/inline.py). Everything a user can observe must stay as it was: the values,
the errors and their tracebacks, closures and defaults, what an exception handler is given.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from typing import Any

import pytest

from django_bolt import BoltAPI, HTTPException, Request
from django_bolt._dispatch.inline import as_function, escaped
from django_bolt.responses import JSON
from django_bolt.testing import TestClient

SUFFIX = "!"


def make_closure(greeting: str) -> Any:
    async def greet(name: str, *, punct: str = SUFFIX) -> dict[str, str]:
        return {"text": f"{greeting}, {name}{punct}"}

    return greet


async def shapes(a: int, b: int = 2, *rest: int, c: int = 3, **more: int) -> Any:
    total = a + b + c + sum(rest) + sum(more.values())
    squares = [x * x for x in (a, b, c)]
    try:
        ratio = a / (b - 2)
    except ZeroDivisionError:
        ratio = None
    finally:
        label = "done"
    return {"total": total, "squares": squares, "ratio": ratio, "label": label}


async def awaits() -> int:
    await asyncio.sleep(0)
    return 1


async def loops() -> list[int]:
    return [item async for item in _numbers()]


async def _numbers() -> Any:
    yield 1


def drive(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine suspended")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, 5), {}), ((1, 2, 3, 4), {"c": 9, "d": 1}), ((7,), {"b": 3})],
)
def test_the_plain_function_returns_what_the_coroutine_does(args: Any, kwargs: Any) -> None:
    plain = as_function(shapes)
    assert plain is not None
    assert not inspect.iscoroutinefunction(plain)
    assert plain(*args, **kwargs) == drive(shapes(*args, **kwargs))


def test_closures_defaults_and_names_are_kept() -> None:
    greet = make_closure("Hello")
    plain = as_function(greet)
    assert plain is not None
    assert plain("ada") == drive(greet("ada")) == {"text": "Hello, ada!"}
    assert plain("ada", punct="?") == {"text": "Hello, ada?"}
    assert (plain.__name__, plain.__qualname__, plain.__module__) == (
        greet.__name__,
        greet.__qualname__,
        greet.__module__,
    )
    assert plain.__code__.co_firstlineno == greet.__code__.co_firstlineno
    assert inspect.signature(plain) == inspect.signature(greet)


@pytest.mark.parametrize("fn", [awaits, loops, _numbers, drive, len, make_closure])
def test_what_can_suspend_or_is_no_coroutine_function_is_left_alone(fn: Any) -> None:
    assert as_function(fn) is None


def test_an_error_keeps_the_handler_line_in_its_traceback() -> None:
    async def fails(value: int) -> int:
        if value:
            raise ValueError(f"bad {value}")
        return 0

    plain = as_function(fails)
    assert plain is not None
    with pytest.raises(ValueError, match="bad 3") as raised:
        plain(3)
    frame = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert (frame.name, frame.line) == ("fails", 'raise ValueError(f"bad {value}")')


def test_a_stopiteration_escaping_becomes_the_coroutine_runtimeerror() -> None:
    async def stops() -> None:
        raise StopIteration(5)

    plain = as_function(stops)
    assert plain is not None
    with pytest.raises(Exception) as raised:  # StopIteration on 3.11, RuntimeError later
        plain()
    error = escaped(raised.value)
    assert type(error) is RuntimeError
    assert error.args == ("coroutine raised StopIteration",)
    assert isinstance(error.__cause__, StopIteration)
    other = KeyError("x")
    assert escaped(other) is other


def build_api() -> BoltAPI:
    api = BoltAPI()

    @api.exception_handler(RuntimeError)
    async def runtime(request: Request, exc: RuntimeError) -> Any:
        return JSON({"runtime": str(exc)}, status_code=500)

    @api.get("/hello/{name}")
    async def hello(name: str, times: int = 1):
        return {"message": f"Hello, {name}!" * times}

    api.get("/greet/{name}")(make_closure("Hi"))

    @api.get("/teapot")
    async def teapot():
        raise HTTPException(status_code=418, detail="short and stout")

    @api.get("/stops")
    async def stops():
        raise StopIteration

    return api


def endpoint_of(api: BoltAPI, path: str) -> Any:
    found = api.compile().match(path)
    assert found is not None
    return found[0].methods["GET"]


def test_routes_that_cannot_wait_call_the_plain_function() -> None:
    api = build_api()
    # /greet is a closure over a str: judged by what its cell holds, as a global would be.
    for path in ("/hello/x", "/greet/x", "/teapot", "/stops"):
        endpoint = endpoint_of(api, path)
        assert endpoint.nowait
        assert endpoint.now is not endpoint.fn
        assert not endpoint.now_waits
        assert endpoint.is_async  # the route itself is still an async handler


def test_answers_through_the_plain_function_are_the_handlers_answers() -> None:
    with TestClient(build_api()) as client:
        hello = client.get("/hello/ada?times=2")
        assert (hello.status_code, hello.json()) == (200, {"message": "Hello, ada!Hello, ada!"})
        assert client.get("/hello/ada?times=x").status_code == 422
        assert client.get("/greet/bo").json() == {"text": "Hi, bo!"}
        teapot = client.get("/teapot")
        assert (teapot.status_code, teapot.json()["detail"]) == (418, "short and stout")
        stops = client.get("/stops")
        assert (stops.status_code, stops.json()) == (
            500,
            {"runtime": "coroutine raised StopIteration"},
        )
