"""``LoggingMiddleware``: requests and responses logged as :class:`LoggingConfig` says.

Use it as a middleware (``BoltAPI(middleware=[LoggingMiddleware(config)])``, the class alone
for the defaults, or ``BoltAPI(logging_config=config)``), or call its ``log_request``,
``log_response`` and ``log_exception`` from code of your own, with a ``Request`` or a dict
(``{"method": ..., "path": ..., "headers": {...}}``).

The client address logged is the one the server resolved through its trusted-proxy rules
(``--forwarded-allow-ips``): an ``X-Forwarded-For`` sent by anyone else is not believed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt._http.parse import parse_cookies
from django_bolt.logging.config import LoggingConfig

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = ("LoggingMiddleware", "create_logging_middleware")

GetResponse = Callable[[Any], Awaitable[Any]]
MASK: Final = "***"
_encode: Final = msgspec.json.Encoder(enc_hook=str).encode
_TEXT_TYPES: Final = ("text/", "application/json", "application/x-www-form-urlencoded", "+json")


class _View:
    """The parts of a request the log reads, from a ``Request`` or a dict."""

    __slots__ = (
        "body",
        "body_size",
        "client_ip",
        "content_type",
        "headers",
        "method",
        "path",
        "query",
    )

    def __init__(self, request: Any) -> None:
        if isinstance(request, Mapping):
            self.method = str(request.get("method", ""))
            self.path = str(request.get("path", ""))
            self.query = str(request.get("query", "") or "")
            raw = request.get("headers") or {}
            self.headers = {str(k).lower(): str(v) for k, v in dict(raw).items()}
            client = request.get("client_ip", request.get("client"))
            self.client_ip = client[0] if isinstance(client, tuple) else client
            body = request.get("body")
            self.body = body if isinstance(body, bytes | str) else None
            self.body_size = len(body) if isinstance(body, bytes | str) else 0
        else:
            self.method = request.method
            self.path = request.path
            self.query = request.query_string
            self.headers = {k.lower(): v for k, v in request.headers.items()}
            self.client_ip = request.client[0] if request.client else None
            spooled = request.body_file
            # A spooled body stays on disk: its size is logged, never its bytes.
            self.body = None if spooled is not None else request.body
            self.body_size = spooled.size if spooled is not None else len(self.body or b"")
        self.content_type = self.headers.get("content-type", "").lower()


class LoggingMiddleware:
    """Logs requests (DEBUG), responses (by status) and exceptions, as ``config`` says."""

    def __init__(self, config: LoggingConfig | GetResponse | None = None) -> None:
        self._get_response: GetResponse | None = None
        if config is not None and not isinstance(config, LoggingConfig):
            if not callable(config):
                raise TypeError(f"LoggingMiddleware takes a LoggingConfig, not {config!r}")
            # Listed as a class (middleware=[LoggingMiddleware]): built with the chain.
            self._get_response = config
            config = None
        self.config = config or LoggingConfig()
        self.logger = self.config.get_logger()
        self._level = self.config.level
        # An instance attribute, not a method: a middleware list holding the class itself
        # must not look like an entry with a layer of its own to build.
        self.build_layer = self._build_layer

    # --- as a middleware ------------------------------------------------------------------------

    def _build_layer(self, get_response: GetResponse, handler: object = None) -> GetResponse:
        async def layer(request: Request) -> Any:
            return await self._around(request, get_response)

        return layer

    async def __call__(self, request: Request) -> Any:
        get_response = self._get_response
        if get_response is None:
            raise TypeError("put the LoggingMiddleware instance in middleware=[...]")
        return await self._around(request, get_response)

    async def _around(self, request: Request, get_response: GetResponse) -> Any:
        if request.path in self.config.skip_paths:
            return await get_response(request)
        started = time.perf_counter()
        if self.logger.isEnabledFor(logging.DEBUG):
            self.log_request(request)
        try:
            response = await get_response(request)
        except Exception as exc:
            status = getattr(exc, "status_code", 500)
            if not isinstance(status, int) or status >= 500:
                self.log_exception(request, exc)
            else:
                self.log_response(request, status, time.perf_counter() - started)
            raise
        size = len(response.body) if getattr(response, "stream", None) is None else None
        self.log_response(request, response.status_code, time.perf_counter() - started, size)
        return response

    # --- Django-Bolt's helpers ------------------------------------------------------------------

    def log_request(self, request: Any) -> None:
        """Log ``request`` at DEBUG (the request fields of the config)."""
        logger = self.logger
        view = _View(request)
        if not logger.isEnabledFor(logging.DEBUG) or not self.config.should_log_request(view.path):
            return
        fields = self._request_fields(view)
        logger.debug(_message(view, None, None, fields), extra=fields)

    def log_response(
        self,
        request: Any,
        status_code: int,
        duration: float,
        response_size: int | None = None,
    ) -> None:
        """Log one response: ``duration`` in seconds, ``response_size`` in body bytes."""
        config = self.config
        view = _View(request)
        if not config.should_log_request(view.path, status_code) or not self._kept(
            status_code, duration
        ):
            return
        level = self._level if status_code < 400 else _error_level(status_code)
        if not self.logger.isEnabledFor(level):
            return
        fields = self._request_fields(view)
        wanted = config.response_log_fields | (config.request_log_fields & {"status_code"})
        fields["status_code"] = status_code
        if "duration" in wanted:
            fields["duration"] = round(duration * 1000, 3)
        if "size" in wanted and response_size is not None:
            fields["size"] = response_size
        self.logger.log(level, _message(view, status_code, duration, fields), extra=fields)

    def log_exception(self, request: Any, exception: BaseException, exc_info: bool = True) -> None:
        """Log an exception a request raised (at ERROR, with its traceback by default)."""
        custom = self.config.exception_logging_handler
        if custom is not None:
            custom(self.logger, request, exception, exc_info)
            return
        view = _View(request)
        fields = self._request_fields(view)
        self.logger.error(
            "%s %s raised %s: %s",
            view.method,
            view.path,
            type(exception).__name__,
            exception,
            exc_info=exception if exc_info else None,
            extra=fields,
        )

    # --- the fields -----------------------------------------------------------------------------

    def _kept(self, status_code: int, duration: float) -> bool:
        if status_code >= 400:
            return True  # errors are always logged
        config = self.config
        if config.min_duration_ms is not None and duration * 1000 < config.min_duration_ms:
            return False
        rate = config.sample_rate
        return rate is None or rate >= 1.0 or random.random() < rate  # noqa: S311 - sampling

    def _request_fields(self, view: _View) -> dict[str, Any]:
        config = self.config
        wanted = config.request_log_fields
        fields: dict[str, Any] = {}
        if "method" in wanted:
            fields["method"] = view.method
        if "path" in wanted:
            fields["path"] = view.path
        if "query" in wanted and view.query:
            fields["query"] = view.query
        if "client_ip" in wanted:
            fields["client_ip"] = view.client_ip
        if "user_agent" in wanted:
            fields["user_agent"] = view.headers.get("user-agent")
        if "headers" in wanted:
            hidden = config.obfuscate_headers
            fields["headers"] = {
                name: MASK if name in hidden else value for name, value in view.headers.items()
            }
        if "cookies" in wanted:
            hidden = config.obfuscate_cookies
            cookies = parse_cookies(view.headers.get("cookie", ""))
            fields["cookies"] = {k: MASK if k in hidden else v for k, v in cookies.items()}
        if config.log_request_body and view.body_size:
            fields["body"] = self._body(view)
        return fields

    def _body(self, view: _View) -> str:
        size = view.body_size
        limit = self.config.max_body_log_size
        body = view.body
        if body is None or size > limit:
            return f"<body not logged, {size} bytes (limit {limit})>"
        if isinstance(body, str):
            return body
        textual = not view.content_type or any(t in view.content_type for t in _TEXT_TYPES)
        if textual:
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return f"<binary data, {size} bytes>"


def _error_level(status_code: int) -> int:
    return logging.ERROR if status_code >= 500 else logging.WARNING


def _message(
    view: _View, status_code: int | None, duration: float | None, fields: dict[str, Any]
) -> str:
    head = f"{view.method} {view.path}"
    if view.query and "query" in fields:
        head += f"?{view.query}"
    if status_code is not None:
        head += f" {status_code}"
    if duration is not None and "duration" in fields:
        head += f" {duration * 1000:.2f}ms"
    shown = ("method", "path", "query", "status_code", "duration")
    rest = [f"{k}: {_encode(v).decode()}" for k, v in fields.items() if k not in shown]
    return head + (" - " + ", ".join(rest) if rest else "")


def create_logging_middleware(
    logger_name: str | None = None,
    skip_paths: set[str] | None = None,
    sample_rate: float | None = None,
    min_duration_ms: float | None = None,
    **options: Any,
) -> LoggingMiddleware:
    """Return a :class:`LoggingMiddleware` for a :class:`LoggingConfig` of these options."""
    given: dict[str, Any] = dict(options)
    if logger_name is not None:
        given["logger_name"] = logger_name
    if skip_paths is not None:
        given["skip_paths"] = set(skip_paths)
    if sample_rate is not None:
        given["sample_rate"] = sample_rate
    if min_duration_ms is not None:
        given["min_duration_ms"] = min_duration_ms
    return LoggingMiddleware(LoggingConfig(**given))
