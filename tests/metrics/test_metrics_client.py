"""Prometheus metrics through the TestClient: the scrape path, labels, limits and the token."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from django_bolt import BoltAPI, WebSocket
from django_bolt.server import metrics
from django_bolt.server.config import ServerConfigError, load_server_config
from django_bolt.server.contract import RawRequest
from django_bolt.testing import TestClient


def make_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.post("/items")
    async def create() -> dict[str, bool]:
        return {"created": True}

    return api


def sample(text: str, name: str, **labels: str) -> float:
    """Return the value of one sample of the exposition, 0 when it is absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        found = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if found is None or found.group(1) != name:
            continue
        pairs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
        if all(pairs.get(k) == v for k, v in labels.items()) and len(pairs) == len(labels):
            return float(found.group(3))
    return 0.0


@pytest.fixture
def private_directory(tmp_path, monkeypatch):
    """Each test counts in a directory of its own."""
    monkeypatch.setenv(metrics.DIRECTORY_ENV, str(tmp_path))
    monkeypatch.setattr(metrics, "_directory", None)
    monkeypatch.setattr(metrics, "_process", None)
    yield tmp_path
    if metrics._process is not None:
        metrics._process.close()


@override_settings(BOLT_METRICS_PATH="/metrics")
def test_counts_by_route_template_method_and_status(private_directory) -> None:
    with TestClient(make_api()) as client:
        for i in range(3):
            assert client.get(f"/items/{i}?q=x").status_code == 200
        assert client.get("/hello").status_code == 200
        assert client.get("/items/not-a-number").status_code == 422
        assert client.post("/items").status_code == 200
        assert client.get("/nowhere/at/all").status_code == 404
        scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scrape.text
    ok = {"method": "GET", "route": "/items/{item_id}", "status": "200"}
    assert sample(text, "bolt_http_requests_total", **ok) == 3
    assert sample(text, "bolt_http_request_duration_seconds_count", **ok) == 3
    assert sample(text, "bolt_http_request_duration_seconds_bucket", le="+Inf", **ok) == 3
    assert sample(text, "bolt_http_request_duration_seconds_sum", **ok) > 0
    bad = {"method": "GET", "route": "/items/{item_id}", "status": "422"}
    assert sample(text, "bolt_http_requests_total", **bad) == 1
    hello = {"method": "GET", "route": "/hello", "status": "200"}
    assert sample(text, "bolt_http_response_body_bytes_total", **hello) == len(b'{"hello":"world"}')
    post = {"method": "POST", "route": "/items", "status": "200"}
    assert sample(text, "bolt_http_requests_total", **post) == 1
    missing = {"method": "GET", "route": metrics.UNMATCHED, "status": "404"}
    assert sample(text, "bolt_http_requests_total", **missing) == 1
    # The raw paths never become labels.
    assert "/items/1" not in text and "/nowhere" not in text
    # The scrape in progress is a request on an open connection.
    assert sample(text, "bolt_http_connections_open") >= 1
    assert "# TYPE bolt_http_requests_in_flight gauge" in text
    assert "# TYPE bolt_websockets_open gauge" in text


@override_settings(BOLT_METRICS_PATH="/metrics")
def test_scrapes_count_themselves_and_random_paths_add_no_series(private_directory) -> None:
    with TestClient(make_api()) as client:
        for i in range(50):
            client.get(f"/random-{i}")
        client.get("/metrics")
        text = client.get("/metrics?format=ignored").text
    assert (
        sample(text, "bolt_http_requests_total", method="GET", route="<unmatched>", status="404")
        == 50
    )
    series = [line for line in text.splitlines() if line.startswith("bolt_http_requests_total")]
    assert len(series) == 2  # the 404s and the first scrape, nothing per path


@override_settings(BOLT_METRICS_PATH="/metrics")
def test_websocket_gauge_moves_with_the_api(private_directory) -> None:
    with TestClient(make_api()) as client:
        metrics.websocket_opened()
        metrics.websocket_opened()
        metrics.websocket_closed()
        try:
            assert sample(client.get("/metrics").text, "bolt_websockets_open") == 1
        finally:
            metrics.websocket_closed()


@override_settings(BOLT_METRICS_PATH="/metrics", BOLT_METRICS_TOKEN="s3cret")
def test_token_is_required_when_configured(private_directory) -> None:
    with TestClient(make_api()) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics").headers["www-authenticate"] == "Bearer"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = client.get("/metrics", headers={"Authorization": "Basic s3cret"})
        assert basic.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "bolt_http_requests_total" in right.text


@override_settings(BOLT_METRICS_PATH="/metrics")
def test_other_methods_are_refused_and_neighbouring_paths_reach_the_app(private_directory) -> None:
    with TestClient(make_api()) as client:
        refused = client.post("/metrics")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD"
        assert client.get("/metricsx").status_code == 404
        assert client.head("/metrics").status_code == 200


def test_off_by_default_the_path_is_the_apps(private_directory) -> None:
    with TestClient(make_api()) as client:
        assert client.get("/metrics").status_code == 404
        assert client.app is not None
    assert list(private_directory.iterdir()) == []


@pytest.mark.parametrize("path", ["metrics", "/m?x", "/m etrics", "/a#b"])
def test_metrics_path_must_be_a_plain_path(path: str) -> None:
    with pytest.raises(ServerConfigError):
        load_server_config({"metrics_path": path}, {})


def test_labels_come_from_the_app_and_a_failing_lookup_is_unmatched(tmp_path) -> None:
    calls: list[bytes] = []

    def route_template(path: bytes) -> str | None:
        calls.append(path)
        if path == b"/boom":
            raise RuntimeError("broken table")
        return "/t/{x}" if path.startswith(b"/t/") else None

    process = metrics.ProcessMetrics(str(tmp_path), route_template)
    try:
        for target in (b"/t/1?a=b", b"/t/1", b"/t/2", b"/boom", b"/other"):
            process.add("GET", target, 200, 5, 0.003)
        process.write()
        text = metrics.render(str(tmp_path)).decode()
    finally:
        process.close()
    assert sample(text, "bolt_http_requests_total", method="GET", route="/t/{x}", status="200") == 3
    unmatched = {"method": "GET", "route": metrics.UNMATCHED, "status": "200"}
    assert sample(text, "bolt_http_requests_total", **unmatched) == 2
    # A matched path is looked up once; the query never matters.
    assert calls.count(b"/t/1") == 1
    assert sample(text, "bolt_http_request_duration_seconds_bucket", le="0.0025", **unmatched) == 0
    assert sample(text, "bolt_http_request_duration_seconds_bucket", le="0.005", **unmatched) == 2
    assert sample(text, "bolt_http_response_body_bytes_total", **unmatched) == 10


def test_the_path_memory_is_bounded(tmp_path) -> None:
    process = metrics.ProcessMetrics(str(tmp_path), lambda path: "/t/{x}")
    recorder = process.recorder(set())
    try:
        for i in range(metrics._MAX_CACHED_PATHS + 10):
            recorder.add("GET", b"/t/%d?q=%d" % (i, i), 200, 0, 0.0)
        assert len(recorder._index) <= metrics._MAX_CACHED_PATHS
        assert len(process._paths) <= metrics._MAX_CACHED_PATHS
        assert list(recorder.pending) == [("GET", "/t/{x}", 200)]
        assert process.totals()[("GET", "/t/{x}", 200)][0] == metrics._MAX_CACHED_PATHS + 10
    finally:
        process.close()


def test_loops_count_apart_and_are_summed(tmp_path) -> None:
    process = metrics.ProcessMetrics(str(tmp_path), lambda path: "/a")
    first, second = process.recorder(set()), process.recorder(set())
    try:
        first.add("GET", b"/a", 200, 1, 0.5)
        second.add("GET", b"/a", 200, 2, 0.25)
        second.add("GET", b"/a", 500, 0, 20.0)
        totals = process.totals()
        ok = totals[("GET", "/a", 200)]
        assert ok[:3] == [2, 0.75, 3]
        assert totals[("GET", "/a", 500)][-1] == 1  # past the last bucket: +Inf only
    finally:
        process.close()


def test_the_hook_counts_consecutive_responses_by_target_method_and_status(tmp_path) -> None:
    process = metrics.ProcessMetrics(str(tmp_path), lambda path: path.decode())
    hook = process.recorder(set()).record

    try:
        for method, target, status in (
            ("GET", b"/a", 200),
            ("GET", b"/a", 200),
            ("GET", b"/a", 404),
            ("POST", b"/a", 404),
            ("POST", b"/b", 404),
            ("GET", b"/a", 200),
        ):
            hook(RawRequest(method, target, [], b"", None, "http", None, "1.1"), status, 3, 0.0)
        totals = process.totals()
    finally:
        process.close()
    counts = {key: series[0] for key, series in totals.items()}
    assert counts == {
        ("GET", "/a", 200): 3,
        ("GET", "/a", 404): 1,
        ("POST", "/a", 404): 1,
        ("POST", "/b", 404): 1,
    }
    assert totals[("GET", "/a", 200)][2] == 9  # body bytes
    # Started at 0.0 on the perf_counter clock: long ago, so past the last bucket.
    assert totals[("GET", "/a", 200)][-1] == 3


def test_buckets_count_each_duration_once_below_and_above_the_first_bound(tmp_path) -> None:
    process = metrics.ProcessMetrics(str(tmp_path), lambda path: "/a")
    recorder = process.recorder(set())
    durations = [0.0, 0.0005, 0.001, 0.0011, 0.003, 0.003, 0.5, 11.0, 2]
    try:
        for duration in durations:
            recorder.add("GET", b"/a", 200, 0, duration)
        series = process.totals()[("GET", "/a", 200)]
    finally:
        process.close()
    buckets = series[3:]
    bounds = [*metrics.BUCKETS, float("inf")]
    expected = [
        sum(1 for d in durations if (i == 0 or d > bounds[i - 1]) and d <= bound)
        for i, bound in enumerate(bounds)
    ]
    assert buckets == expected
    assert sum(buckets) == len(durations)


@override_settings(BOLT_METRICS_PATH="/metrics")
def test_websockets_are_counted_while_open_and_by_close_code(private_directory) -> None:
    api = BoltAPI()

    @api.websocket("/ws/echo/{room}")
    async def echo(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

    with TestClient(api) as client:
        with client.websocket_connect("/ws/echo/a") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "hi"
            during = client.get("/metrics").text
        after = client.get("/metrics").text
    assert sample(during, "bolt_websockets_open") == 1
    assert sample(after, "bolt_websockets_open") == 0
    # The handshake (101) and the session (its close code) under the route's template.
    handshake = {"method": "GET", "route": "/ws/echo/{room}", "status": "101"}
    assert sample(after, "bolt_http_requests_total", **handshake) == 1
    session = {"method": "WEBSOCKET", "route": "/ws/echo/{room}", "status": "1000"}
    assert sample(after, "bolt_http_requests_total", **session) == 1
