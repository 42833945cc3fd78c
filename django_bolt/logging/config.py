"""``LoggingConfig`` (what the request logging middleware logs) and the queued log handlers.

:func:`setup_django_logging` (``runbolt`` calls it) puts a bounded queue in front of the
handlers of the ``django_bolt`` and ``django.server`` loggers: a record is formatted and
queued on the thread that logs it, and a background thread does the writing, so a slow
terminal, file or pipe never holds an event loop. When the queue is full the record is dropped
and counted, with a notice on stderr at most every few seconds, rather than memory growing.
A logger the project's ``LOGGING`` setting names is left as the project configured it.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from django.conf import settings

from django_bolt.conf import framework_config

__all__ = (
    "DEFAULT_OBFUSCATE_COOKIES",
    "DEFAULT_OBFUSCATE_HEADERS",
    "DEFAULT_SKIP_PATHS",
    "QUEUED_LOGGERS",
    "BoundedQueueHandler",
    "LoggingConfig",
    "setup_django_logging",
)

DEFAULT_OBFUSCATE_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-csrftoken",
    }
)
DEFAULT_OBFUSCATE_COOKIES: Final = frozenset({"sessionid", "csrftoken"})
DEFAULT_SKIP_PATHS: Final = frozenset({"/health", "/ready", "/metrics"})
REQUEST_FIELDS: Final = frozenset(
    {"method", "path", "query", "headers", "cookies", "body", "client_ip", "user_agent"}
)
RESPONSE_FIELDS: Final = frozenset({"status_code", "duration", "size"})
_LEVELS: Final = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}

# The loggers runbolt's records go through: the framework's and Django's request log.
QUEUED_LOGGERS: Final = ("django_bolt", "django.server")
# At most one "records dropped" notice on stderr per this many seconds.
DROP_NOTICE_INTERVAL_S: Final = 5.0
# How long closing waits for the writing thread to finish what is queued.
CLOSE_TIMEOUT_S: Final = 5.0
# How long a fork waits for a record being written to finish.
FORK_WAIT_S: Final = 1.0

ExceptionLoggingHandler = Callable[[logging.Logger, Any, BaseException, bool], None]


def _level(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in _LEVELS:
        return int(logging.getLevelName(value.upper()))
    raise ValueError(f"log_level must be a level name such as 'INFO', not {value!r}")


@dataclass(slots=True)
class LoggingConfig:
    """What the request logging middleware logs, and how much.

    Successful responses (below 400) are logged at ``log_level``, 4xx at WARNING and 5xx at
    ERROR; the request itself at DEBUG, before the handler runs. ``sample_rate`` and
    ``min_duration_ms`` thin out successful responses only: an error is always logged (unless
    its status is in ``skip_status_codes``). Header and cookie values named in
    ``obfuscate_headers`` / ``obfuscate_cookies`` are logged as ``"***"``. A request body is
    logged only with ``log_request_body``, only up to ``max_body_log_size`` bytes, and only
    when it is text; a larger or binary one is logged as its size.
    """

    logger_name: str = "django.server"
    log_level: str | int = "INFO"
    request_log_fields: set[str] = field(default_factory=lambda: {"method", "path", "status_code"})
    response_log_fields: set[str] = field(default_factory=lambda: {"status_code", "duration"})
    obfuscate_headers: set[str] = field(default_factory=lambda: set(DEFAULT_OBFUSCATE_HEADERS))
    obfuscate_cookies: set[str] = field(default_factory=lambda: set(DEFAULT_OBFUSCATE_COOKIES))
    log_request_body: bool = False
    max_body_log_size: int = 1024
    skip_paths: set[str] = field(default_factory=lambda: set(DEFAULT_SKIP_PATHS))
    skip_status_codes: set[int] = field(default_factory=set)
    sample_rate: float | None = None
    min_duration_ms: float | None = None
    exception_logging_handler: ExceptionLoggingHandler | None = None

    def __post_init__(self) -> None:
        _level(self.log_level)  # checked here, not at the first request
        if self.sample_rate is not None and not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, not {self.sample_rate!r}")
        if self.min_duration_ms is not None and self.min_duration_ms < 0:
            raise ValueError(f"min_duration_ms must not be negative, not {self.min_duration_ms}")
        if self.max_body_log_size < 0:
            raise ValueError("max_body_log_size must not be negative")
        unknown = set(self.request_log_fields) - REQUEST_FIELDS - RESPONSE_FIELDS
        unknown |= set(self.response_log_fields) - RESPONSE_FIELDS
        if unknown:
            raise ValueError(f"unknown log fields: {sorted(unknown)}")
        self.obfuscate_headers = {h.lower() for h in self.obfuscate_headers}

    @property
    def level(self) -> int:
        """``log_level`` as a number (the level of successful responses)."""
        return _level(self.log_level)

    def get_logger(self) -> logging.Logger:
        """Return the logger records go to (``logger_name``)."""
        return logging.getLogger(self.logger_name)

    def should_log_request(self, path: str, status_code: int | None = None) -> bool:
        """Whether a request to ``path`` (answered with ``status_code``, if known) is logged."""
        if path in self.skip_paths:
            return False
        return status_code is None or status_code not in self.skip_status_codes


class _Listener(logging.handlers.QueueListener):
    """A queue listener whose stop waits a bounded time for a writer that may be stuck.

    Each record is written holding :data:`_WRITING`, which a ``fork()`` waits for (a second at
    most): a child must not inherit a stream whose buffer lock a writing thread held.
    """

    def handle(self, record: logging.LogRecord) -> None:
        """Write ``record`` through the handlers, never while the process forks."""
        with _fork_guard.writing:
            super().handle(record)

    def enqueue_sentinel(self) -> None:
        """Queue the end marker, waiting for room (the queue may be full when we stop)."""
        target = cast("queue.Queue[Any]", self.queue)
        target.put(None, timeout=CLOSE_TIMEOUT_S)  # None: the listener's end marker

    def stop_within(self, timeout: float) -> None:
        """Write what is queued and stop, giving up after ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return
        try:
            self.enqueue_sentinel()
        except queue.Full:
            return  # the writer is stuck: what is queued is lost with the process
        thread.join(timeout)
        self._thread = None


class BoundedQueueHandler(logging.handlers.QueueHandler):
    """A queue handler that drops (and counts) records instead of growing past ``size``.

    Its :class:`~logging.handlers.QueueListener` writes through ``handlers`` on a thread of
    its own; after ``fork()`` the child gets a fresh queue and thread (threads do not survive a
    fork, and a lock held by one at that moment would never be released).
    """

    def __init__(self, size: int, handlers: list[logging.Handler]) -> None:
        super().__init__(queue.Queue(size))
        self.size = size
        self.targets = handlers
        self.dropped = 0
        self._last_notice = 0.0
        self._pid = os.getpid()
        self.listener: _Listener | None = None
        self.start()

    def start(self) -> None:
        """Start the thread that writes queued records (again, in a forked child)."""
        self.queue = queue.Queue(self.size)
        self._pid = os.getpid()
        self.listener = _Listener(self.queue, *self.targets, respect_handler_level=True)
        self.listener.start()

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue ``record``, or drop and count it when the queue is full."""
        if os.getpid() != self._pid:  # forked without the at-fork hook (os.fork from C code)
            self.start()
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_notice >= DROP_NOTICE_INTERVAL_S:
                self._last_notice = now
                notice = (
                    f"[django-bolt {os.getpid()}] log queue full ({self.size} records): "
                    f"{self.dropped} record(s) dropped so far\n"
                )
                with contextlib.suppress(OSError):
                    os.write(2, notice.encode("utf-8", "replace"))

    def close(self) -> None:
        """Write what is queued, stop the thread, then close."""
        listener = self.listener
        if listener is not None and self._pid == os.getpid():
            self.listener = None
            with contextlib.suppress(RuntimeError):  # the interpreter shutting down
                listener.stop_within(CLOSE_TIMEOUT_S)
        super().close()


_installed: list[BoundedQueueHandler] = []
_install_lock = threading.Lock()


class _ForkGuard:
    """Keeps a fork from happening in the middle of a queued record's write."""

    def __init__(self) -> None:
        self.writing = threading.Lock()
        self.held = False

    def before(self) -> None:
        # A writer stuck on a full pipe must not hold the fork forever.
        self.held = self.writing.acquire(timeout=FORK_WAIT_S)

    def after_in_parent(self) -> None:
        if self.held:
            self.held = False
            self.writing.release()

    def after_in_child(self) -> None:
        self.writing = threading.Lock()  # whoever held the old one is not in this process
        self.held = False
        for handler in _installed:
            handler.start()


_fork_guard: Final = _ForkGuard()
os.register_at_fork(
    before=_fork_guard.before,
    after_in_parent=_fork_guard.after_in_parent,
    after_in_child=_fork_guard.after_in_child,
)


def _configured_by_project(logging_setting: Any, name: str) -> bool:
    loggers = logging_setting.get("loggers", {}) if isinstance(logging_setting, Mapping) else {}
    return name in loggers


def _default_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[django-bolt %(process)d] %(message)s"))
    return handler


def setup_django_logging(
    queue_size: int | None = None,
    *,
    logging_setting: Any = None,
    force: bool = False,
) -> list[BoundedQueueHandler]:
    """Put a bounded queue in front of the ``django_bolt`` and ``django.server`` loggers.

    Each logger's current handlers (Django's own for ``django.server``; a stderr handler for
    ``django_bolt`` when it has none) move behind a :class:`BoundedQueueHandler` of
    ``queue_size`` records (``BOLT_LOG_QUEUE_SIZE``). A logger named in ``logging_setting``
    (the project's ``LOGGING``; read from Django's settings when not given) is left alone, as
    is one already queued, unless ``force``. Return the handlers installed.
    """
    if queue_size is None or logging_setting is None:
        from_settings = _settings_values()
        queue_size = from_settings[0] if queue_size is None else queue_size
        logging_setting = from_settings[1] if logging_setting is None else logging_setting
    installed: list[BoundedQueueHandler] = []
    with _install_lock:
        for name in QUEUED_LOGGERS:
            logger = logging.getLogger(name)
            if not force and _configured_by_project(logging_setting, name):
                continue
            if any(isinstance(h, BoundedQueueHandler) for h in logger.handlers):
                continue
            targets = list(logger.handlers) or [_default_handler()]
            handler = BoundedQueueHandler(queue_size, targets)
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.addHandler(handler)
            if name == "django_bolt":
                logger.propagate = False
            _installed.append(handler)
            installed.append(handler)
    return installed


def _settings_values() -> tuple[int, Any]:
    logging_setting = getattr(settings, "LOGGING", {}) if settings.configured else {}
    size = framework_config().bolt_log_queue_size if settings.configured else 10_000
    return size, logging_setting
