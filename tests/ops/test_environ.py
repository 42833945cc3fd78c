"""Django-Bolt 0.13's DJANGO_BOLT_* runtime variables."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI, Request
from django_bolt._conf.environ import env_int, max_param_length, sync_pool_size
from django_bolt._http.limits import DEFAULT_PARAM_LENGTH, configure as configure_param_length
from django_bolt.testing import AsyncTestClient, TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator


def test_env_int_rules() -> None:
    assert env_int("X", 1, None, {}) is None
    assert env_int("X", 1, None, {"X": "  "}) is None
    assert env_int("X", 1, None, {"X": "8"}) == 8
    for bad in ("0", "-1", "eight", "1.5"):
        with pytest.raises(
            ImproperlyConfigured, match=f"X must be an int of 1 or more, got '{bad}'"
        ):
            env_int("X", 1, None, {"X": bad})
    with pytest.raises(ImproperlyConfigured, match="an int from 1 to 10"):
        env_int("X", 1, 10, {"X": "11"})
    assert sync_pool_size(40, {}) == 40
    assert sync_pool_size(40, {"DJANGO_BOLT_EXECUTOR_THREADS": "3"}) == 3


def test_executor_threads_bound_the_blocking_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_BOLT_EXECUTOR_THREADS", "2")
    api = BoltAPI()
    lock = threading.Lock()
    running = [0]
    most = [0]

    @api.get("/block", inline=False)
    def block() -> dict[str, bool]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"ok": True}

    async def main() -> list[int]:
        async with AsyncTestClient(api) as client:
            answers = await asyncio.gather(*(client.get("/block") for _ in range(6)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(main()) == [200] * 6
    assert most[0] == 2


def test_a_bad_value_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_BOLT_EXECUTOR_THREADS", "0")
    api = BoltAPI()

    @api.get("/x")
    async def x() -> dict[str, int]:
        return {}

    with (
        pytest.raises(ImproperlyConfigured, match="DJANGO_BOLT_EXECUTOR_THREADS"),
        TestClient(api) as client,
    ):
        client.get("/x")


@pytest.fixture
def short_params(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DJANGO_BOLT_MAX_PARAM_LENGTH", "16")
    yield
    configure_param_length(DEFAULT_PARAM_LENGTH)


def test_max_param_length_refuses_long_values_with_a_422(short_params: None) -> None:
    api = BoltAPI(django_fallthrough=False)

    @api.get("/items/{name}")
    async def item(name: str, q: str = "") -> dict[str, str]:
        return {"name": name, "q": q}

    @api.post("/form")
    async def form(request: Request) -> dict[str, int]:
        data = request.form()
        return {"fields": len(data.fields)}

    with TestClient(api) as client:
        assert client.get("/items/" + "n" * 16, params={"q": "é" * 8}).status_code == 200
        long_query = client.get("/items/x", params={"q": "q" * 17})
        long_utf8 = client.get("/items/x", params={"q": "é" * 9})  # 18 bytes
        long_path = client.get("/items/" + "n" * 17)
        long_field = client.post("/form", data={"f": "v" * 17})
        long_part = client.post("/form", files={"up": ("a.txt", b"x")}, data={"f": "v" * 17})
        fine_form = client.post("/form", data={"f": "v" * 16})
    assert long_query.status_code == 422
    assert long_query.json()["detail"] == [
        {"loc": ["query", "q"], "msg": "Value is longer than 16 bytes", "type": "string_too_long"}
    ]
    assert long_utf8.status_code == 422
    assert long_path.status_code == 422
    assert long_path.json()["detail"][0]["loc"] == ["path", "name"]
    assert long_field.status_code == 422
    assert long_field.json()["detail"][0]["loc"] == ["form", "f"]
    assert long_part.status_code == 422
    assert fine_form.json() == {"fields": 1}


def test_max_param_length_bounds() -> None:
    assert max_param_length({}) == 8192
    assert max_param_length({"DJANGO_BOLT_MAX_PARAM_LENGTH": "65536"}) == 65536
    for bad in ("0", str(1024 * 1024 + 1), "big"):
        with pytest.raises(ImproperlyConfigured, match="DJANGO_BOLT_MAX_PARAM_LENGTH must be"):
            max_param_length({"DJANGO_BOLT_MAX_PARAM_LENGTH": bad})
