"""django_bolt.logging: LoggingConfig and LoggingMiddleware through the TestClient."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from django_bolt import BoltAPI, Request
from django_bolt.exceptions import HTTPException
from django_bolt.logging import (
    JSONFormatter,
    LoggingConfig,
    LoggingMiddleware,
    create_logging_middleware,
)
from django_bolt.testing import TestClient

LOGGER = "tests.bolt.requests"


def make_api(config: LoggingConfig | None = None, **api_options: object) -> BoltAPI:
    middleware = [LoggingMiddleware(config)] if config is not None else None
    api = BoltAPI(middleware=middleware, **api_options)  # type: ignore[arg-type]

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/missing")
    async def missing() -> dict[str, str]:
        raise HTTPException(404, "nope")

    @api.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("kaboom")

    @api.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    return api


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_response_line_has_method_path_status_and_duration(caplog) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    with TestClient(make_api(LoggingConfig(logger_name=LOGGER))) as client:
        assert client.get("/items/7").status_code == 200
    request_record, response_record = records(caplog)
    assert request_record.levelno == logging.DEBUG
    assert request_record.getMessage() == "GET /items/7"
    assert response_record.levelno == logging.INFO
    assert response_record.getMessage().startswith("GET /items/7 200 ")
    assert response_record.getMessage().endswith("ms")
    assert response_record.status_code == 200  # type: ignore[attr-defined]
    assert response_record.duration >= 0  # type: ignore[attr-defined]


def test_levels_follow_the_status_and_exceptions_are_logged_with_traceback(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    api = make_api(LoggingConfig(logger_name=LOGGER))
    with TestClient(api, raise_server_exceptions=False) as client:
        assert client.get("/missing").status_code == 404
        assert client.get("/items/x").status_code == 422
        assert client.get("/boom").status_code == 500
    levels = [(r.levelno, r.getMessage().split(" ")[:3]) for r in records(caplog)]
    assert (logging.WARNING, ["GET", "/missing", "404"]) in levels
    assert (logging.WARNING, ["GET", "/items/x", "422"]) in levels
    errors = [r for r in records(caplog) if r.levelno == logging.ERROR]
    assert errors and "RuntimeError: kaboom" in errors[0].getMessage()
    assert errors[0].exc_info is not None


def test_headers_and_cookies_are_obfuscated(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = LoggingConfig(
        logger_name=LOGGER,
        request_log_fields={"method", "path", "headers", "cookies", "client_ip", "user_agent"},
        obfuscate_headers={"Authorization", "cookie", "x-secret"},
        obfuscate_cookies={"sessionid"},
    )
    with TestClient(make_api(config)) as client:
        client.get(
            "/items/1",
            headers={
                "Authorization": "Bearer hunter2",
                "X-Secret": "s3",
                "User-Agent": "probe/1.0",
                "Cookie": "sessionid=abc123; theme=dark",
            },
        )
    (record,) = records(caplog)
    text = record.getMessage()
    assert "hunter2" not in text and "abc123" not in text and 's3"' not in text
    headers = record.headers  # type: ignore[attr-defined]
    assert headers["authorization"] == "***"
    assert headers["x-secret"] == "***"
    assert headers["cookie"] == "***"
    assert record.cookies == {"sessionid": "***", "theme": "dark"}  # type: ignore[attr-defined]
    assert record.user_agent == "probe/1.0"  # type: ignore[attr-defined]
    assert record.client_ip == "127.0.0.1"  # type: ignore[attr-defined]


def test_client_ip_is_the_one_the_trusted_proxy_rules_resolved(caplog, settings) -> None:
    settings.BOLT_TRUSTED_PROXIES = ["10.9.9.9"]  # not the test client's loopback address
    caplog.set_level(logging.INFO, LOGGER)
    config = LoggingConfig(logger_name=LOGGER, request_log_fields={"method", "path", "client_ip"})
    with TestClient(make_api(config)) as client:
        client.get("/items/1", headers={"X-Forwarded-For": "6.6.6.6"})
    (record,) = records(caplog)
    assert record.client_ip == "127.0.0.1"  # type: ignore[attr-defined]


def test_client_ip_from_a_trusted_proxy_is_the_forwarded_one(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = LoggingConfig(logger_name=LOGGER, request_log_fields={"method", "path", "client_ip"})
    with TestClient(make_api(config)) as client:  # loopback is trusted by default
        client.get("/items/1", headers={"X-Forwarded-For": "6.6.6.6"})
    (record,) = records(caplog)
    assert record.client_ip == "6.6.6.6"  # type: ignore[attr-defined]


def test_body_logging_is_capped_and_binary_is_a_size(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = LoggingConfig(logger_name=LOGGER, log_request_body=True, max_body_log_size=16)
    with TestClient(make_api(config)) as client:
        client.post("/echo", content=b'{"a":1}', headers={"content-type": "application/json"})
        client.post("/echo", content=b"x" * 17, headers={"content-type": "text/plain"})
        client.post("/echo", content=b"\xff\xfe\x00", headers={"content-type": "image/png"})
    bodies = [r.body for r in records(caplog)]  # type: ignore[attr-defined]
    assert bodies == [
        '{"a":1}',
        "<body not logged, 17 bytes (limit 16)>",
        "<binary data, 3 bytes>",
    ]


def test_body_is_not_logged_unless_asked(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    with TestClient(make_api(LoggingConfig(logger_name=LOGGER))) as client:
        client.post("/echo", content=b"password=hunter2")
    (record,) = records(caplog)
    assert "hunter2" not in record.getMessage()
    assert not hasattr(record, "body")


def test_skip_paths_skip_status_codes_sampling_and_min_duration(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = LoggingConfig(
        logger_name=LOGGER, skip_status_codes={204}, sample_rate=0.0, min_duration_ms=None
    )
    with TestClient(make_api(config), raise_server_exceptions=False) as client:
        client.get("/health")
        client.get("/empty")
        client.get("/items/1")  # a success, sampled out
        client.get("/missing")  # an error: always logged
    assert [r.getMessage().split(" ")[1] for r in records(caplog)] == ["/missing"]
    caplog.clear()
    slow_only = LoggingConfig(logger_name=LOGGER, min_duration_ms=60_000)
    with TestClient(make_api(slow_only), raise_server_exceptions=False) as client:
        client.get("/items/1")
        client.get("/missing")
    assert [r.getMessage().split(" ")[1] for r in records(caplog)] == ["/missing"]


def test_logging_config_on_the_api_and_the_class_as_an_entry(caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    api = make_api(logging_config=LoggingConfig(logger_name=LOGGER))
    with TestClient(api) as client:
        client.get("/items/3")
    assert [r.getMessage().split(" ")[:3] for r in records(caplog)] == [["GET", "/items/3", "200"]]
    caplog.set_level(logging.INFO, "django.server")
    plain = BoltAPI(middleware=[LoggingMiddleware])

    @plain.get("/x")
    async def x() -> dict[str, int]:
        return {"x": 1}

    with TestClient(plain) as client:
        client.get("/x")
    assert any(r.name == "django.server" and "GET /x 200" in r.getMessage() for r in caplog.records)


def test_helpers_take_dicts_as_in_django_bolt(caplog) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    middleware = create_logging_middleware(logger_name=LOGGER, skip_paths={"/skip"})
    middleware.log_request({"method": "POST", "path": "/api/users", "headers": {"a": "b"}})
    middleware.log_response({"method": "POST", "path": "/api/users"}, 201, 0.05)
    middleware.log_response({"method": "GET", "path": "/skip"}, 200, 0.01)
    try:
        raise ValueError("bad")
    except ValueError as exc:
        middleware.log_exception({"method": "GET", "path": "/api/error"}, exc)
    messages = [r.getMessage() for r in records(caplog)]
    assert messages[0] == "POST /api/users"
    assert messages[1] == "POST /api/users 201 50.00ms"
    assert messages[2] == "GET /api/error raised ValueError: bad"
    assert len(messages) == 3


def test_custom_exception_handler_is_called() -> None:
    seen: list[tuple[str, bool]] = []

    def handler(logger: logging.Logger, request: object, exc: BaseException, exc_info: bool):
        seen.append((str(exc), exc_info))

    middleware = LoggingMiddleware(LoggingConfig(exception_logging_handler=handler))
    middleware.log_exception({"method": "GET", "path": "/"}, KeyError("k"), exc_info=False)
    assert seen == [("'k'", False)]


def test_config_checks_and_should_log_request() -> None:
    config = LoggingConfig(skip_status_codes={204})
    assert config.should_log_request("/api/users")
    assert not config.should_log_request("/health")
    assert not config.should_log_request("/api/users", 204)
    assert config.get_logger().name == "django.server"
    with pytest.raises(ValueError, match="sample_rate"):
        LoggingConfig(sample_rate=1.5)
    with pytest.raises(ValueError, match="log_level"):
        LoggingConfig(log_level="LOUD")
    with pytest.raises(ValueError, match="unknown log fields"):
        LoggingConfig(request_log_fields={"password"})
    with pytest.raises(TypeError):
        LoggingMiddleware(42)  # type: ignore[arg-type]


def test_json_formatter_writes_one_object_with_the_extra_fields() -> None:
    record = logging.LogRecord(LOGGER, logging.WARNING, __file__, 1, "GET %s", ("/x",), None)
    record.status_code = 404
    line = JSONFormatter().format(record)
    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "GET /x"
    assert document["level"] == "WARNING"
    assert document["logger"] == LOGGER
    assert document["status_code"] == 404
    assert document["time"].endswith("Z")
    try:
        raise RuntimeError("x\ny")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    document = json.loads(JSONFormatter().format(record))
    assert "RuntimeError: x" in document["exception"]
