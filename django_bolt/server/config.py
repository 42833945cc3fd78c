"""Every server option, ``BOLT_*`` setting and ``DJANGO_BOLT_*`` variable, in one place.

Each option is one field of :class:`ServerConfig`. Its metadata names the ``runbolt`` flag, the
Django setting and the environment variable that can set it, so the command line is generated
from this table (never written out again) and the docs table is checked against it.

Precedence, highest first: command-line flag, environment variable, Django setting, default.

The config is read once at start-up into a frozen object; nothing on the request path reads
``django.conf.settings``. The settings object is only read by attribute, so this module needs
nothing of Django (the server imports nothing above itself); a value it cannot use raises
:class:`ServerConfigError`, which ``runbolt`` reports as a command error.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = (
    "KIB",
    "MIB",
    "OPTIONS",
    "Option",
    "ServerConfig",
    "ServerConfigError",
    "TrustedProxies",
    "default_workers",
    "load_server_config",
)

KIB: Final = 1024
MIB: Final = 1024 * 1024


class ServerConfigError(ValueError):
    """A server option whose value cannot be used; the message names the option and the value."""


def default_workers() -> int:
    """Threads per process: one under the GIL, the CPU count on a free-threaded build."""
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    return 1 if gil_enabled else (os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Option:
    """Where a :class:`ServerConfig` field may come from, and how to describe it."""

    help: str
    flag: str | None = None
    setting: str | None = None
    env: str | None = None
    # For booleans: the flag that turns the option off (``--no-access-log``).
    negative_flag: str | None = None
    metavar: str | None = None
    # A flag given several times (``--reload-dir a --reload-dir b``): the values, joined by
    # ``os.pathsep``, make the option's str.
    repeatable: bool = False


def _opt(default: Any, help: str, **where: Any) -> Any:
    return field(default=default, metadata={"option": Option(help=help, **where)})


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The server's settings, resolved once at start-up."""

    # --- binding and processes ---------------------------------------------------------------
    host: str = _opt("127.0.0.1", "Address to bind.", flag="--host", setting="BOLT_HOST")
    port: int = _opt(8000, "Port to bind (0 picks a free one).", flag="--port", setting="BOLT_PORT")
    processes: int = _opt(
        1,
        "Worker processes, each with its own SO_REUSEPORT listening socket.",
        flag="--processes",
        setting="BOLT_PROCESSES",
    )
    workers: int = _opt(
        0,
        "Threads per process, each with its own event loop (0: 1, or the CPU count on a "
        "free-threaded Python).",
        flag="--workers",
        env="DJANGO_BOLT_WORKERS",
        setting="BOLT_WORKERS",
    )
    backlog: int = _opt(
        1024, "Listen backlog of each socket.", flag="--backlog", setting="BOLT_BACKLOG"
    )
    keep_alive_s: float = _opt(
        5.0,
        "Seconds an idle keep-alive connection stays open.",
        flag="--keep-alive",
        setting="BOLT_KEEP_ALIVE",
        metavar="S",
    )
    dev: bool = _opt(False, "Reload on code change (one process).", flag="--dev")
    reload_dirs: str = _opt(
        "",
        "Another directory or file --dev watches (repeatable; relative to the working directory).",
        flag="--reload-dir",
        metavar="PATH",
        repeatable=True,
    )
    dev_force_polling: bool = _opt(
        False,
        "--dev polls the files instead of waiting for the kernel's change events.",
        setting="BOLT_DEV_FORCE_POLLING",
    )

    # --- worker lifecycle ----------------------------------------------------------------------
    drain_delay_s: float = _opt(
        0.0,
        "Seconds a stopping worker goes on accepting, its readiness endpoint answering 503, "
        "before it drains: time for a load balancer that probes readiness to stop sending.",
        flag="--drain-delay",
        setting="BOLT_DRAIN_DELAY",
    )
    workers_kill_timeout_s: float = _opt(
        30.0,
        "Seconds a stopping worker may drain before it is killed.",
        flag="--workers-kill-timeout",
        env="DJANGO_BOLT_SHUTDOWN_TIMEOUT",
        setting="BOLT_WORKERS_KILL_TIMEOUT",
        metavar="S",
    )
    worker_start_timeout_s: float = _opt(
        120.0,
        "Seconds a replacement worker (reload, recycling) may take to listen before it is "
        "killed and the old one keeps serving (0: no limit).",
        flag="--worker-start-timeout",
        setting="BOLT_WORKER_START_TIMEOUT",
        metavar="S",
    )
    respawn_failed_workers: bool = _opt(
        False,
        "Replace a worker that dies; a crash loop stops the server.",
        flag="--respawn-failed-workers",
        setting="BOLT_RESPAWN_FAILED_WORKERS",
    )
    preload: bool | None = _opt(
        None,
        "Import the project in the parent and fork the workers from it: they share its memory "
        "pages until they write them. Off: the parent imports no project and every worker is a "
        "fresh interpreter. Default: on with --processes 2 or more.",
        flag="--preload",
        negative_flag="--no-preload",
        setting="BOLT_PRELOAD",
    )
    max_requests: int = _opt(
        0, "Recycle a worker after this many requests (0: never).", flag="--max-requests"
    )
    max_requests_jitter: int = _opt(
        0, "Random extra requests added to --max-requests per worker.", flag="--max-requests-jitter"
    )
    workers_lifetime_s: float = _opt(
        0.0,
        "Recycle a worker after this many seconds (0: never).",
        flag="--workers-lifetime",
        metavar="S",
    )
    max_rss_mib: int = _opt(
        0, "Recycle a worker whose resident memory exceeds this (0: never).", flag="--max-rss"
    )

    # --- logging -------------------------------------------------------------------------------
    access_log: bool = _opt(
        True,
        "Log one line per response to stderr, as far as the django.server logger's level "
        "lets through (above WARNING: none).",
        flag="--access-log",
        negative_flag="--no-access-log",
        setting="BOLT_ACCESS_LOG",
    )
    log_level: str = _opt(
        "info",
        "Log level: critical, error, warning, info, debug.",
        flag="--log-level",
        setting="BOLT_LOG_LEVEL",
    )
    access_log_format: str = _opt(
        "text",
        "Access log lines: text (one readable line) or json (one JSON object per line).",
        flag="--access-log-format",
        setting="BOLT_ACCESS_LOG_FORMAT",
    )
    access_log_logger: str = _opt(
        "",
        "Send access lines to this logger (e.g. django.server) instead of stderr ('': stderr).",
        flag="--access-log-logger",
        setting="BOLT_ACCESS_LOG_LOGGER",
    )

    # --- metrics -------------------------------------------------------------------------------
    metrics_path: str = _opt(
        "",
        "Serve Prometheus metrics of the whole server at this path ('' turns metrics off).",
        flag="--metrics-path",
        setting="BOLT_METRICS_PATH",
    )
    metrics_token: str = _opt(
        "",
        "Bearer token a scrape of the metrics path must send ('' asks for none).",
        env="DJANGO_BOLT_METRICS_TOKEN",
        setting="BOLT_METRICS_TOKEN",
    )

    # --- Django integration --------------------------------------------------------------------
    no_admin: bool = _opt(False, "Do not fall through to Django's URLconf.", flag="--no-admin")
    skip_checks: bool = _opt(False, "Skip Django's system checks.", flag="--skip-checks")

    # --- proxies -------------------------------------------------------------------------------
    forwarded_allow_ips: str = _opt(
        "127.0.0.1,::1",
        "Comma-separated IPs/CIDRs whose X-Forwarded-* headers are trusted ('*' for any).",
        flag="--forwarded-allow-ips",
        setting="BOLT_TRUSTED_PROXIES",
        env="DJANGO_BOLT_TRUSTED_PROXIES",
    )

    # --- request limits (RFC 9112 framing is enforced regardless) -----------------------------
    # 8 KiB is what RFC 9112 section 3 recommends at the least, and what nginx and most servers use.
    max_request_line_bytes: int = _opt(
        8 * KIB, "Longest request line (414 beyond).", setting="BOLT_MAX_REQUEST_LINE"
    )
    # 64 KiB / 100 fields: far above any browser (~2-8 KiB, ~20 fields) yet bounded.
    max_header_bytes: int = _opt(
        64 * KIB, "Largest header section (431 beyond).", setting="BOLT_MAX_HEADER_BYTES"
    )
    max_header_count: int = _opt(
        100, "Most header fields (431 beyond).", setting="BOLT_MAX_HEADER_COUNT"
    )
    max_upload_size: int = _opt(
        10 * MIB, "Largest request body (413 beyond).", setting="BOLT_MAX_UPLOAD_SIZE"
    )
    # 1 MiB: JSON and form bodies stay in memory; uploads beyond it go to a temporary file as
    # they arrive, so a worker's memory does not grow with the upload size.
    body_spool_threshold: int = _opt(
        1 * MIB,
        "Request bodies larger than this are written to a temporary file as they arrive.",
        flag="--body-spool-threshold",
        setting="BOLT_BODY_SPOOL_THRESHOLD",
        metavar="BYTES",
    )
    body_spool_dir: str = _opt(
        "",
        "Directory for spooled request bodies ('' for the system temporary directory).",
        flag="--body-spool-dir",
        setting="BOLT_BODY_SPOOL_DIR",
        metavar="DIR",
    )
    # Slowloris defence: a client must deliver its whole header section within this window.
    header_read_timeout_s: float = _opt(
        10.0, "Seconds to receive a request's headers.", setting="BOLT_HEADER_READ_TIMEOUT"
    )
    # Slow-body defence, the rule Apache's mod_reqtimeout uses (body=20,MinRate=500): a body may
    # take this long, plus one second for every `body_min_rate` bytes that did arrive, so an
    # upload that keeps moving is never cut while one byte every few seconds is.
    body_read_timeout_s: float = _opt(
        20.0,
        "Seconds a request body may take, plus its bytes / BOLT_BODY_MIN_RATE (0: no limit).",
        setting="BOLT_BODY_READ_TIMEOUT",
    )
    body_min_rate: int = _opt(
        500,
        "Bytes per second of body that earn one more second of BOLT_BODY_READ_TIMEOUT.",
        setting="BOLT_BODY_MIN_RATE",
    )
    # A client that stops reading holds its answers in our memory; nginx's send_timeout is 60 s.
    write_timeout_s: float = _opt(
        60.0,
        "Seconds a connection's unsent output may stay above the high-water mark before the "
        "connection is closed (0: no limit).",
        setting="BOLT_WRITE_TIMEOUT",
    )
    limit_concurrency: int = _opt(
        0,
        "Most open connections per worker; more are answered 503 and closed (0: three quarters "
        "of the open-file limit).",
        flag="--limit-concurrency",
        setting="BOLT_LIMIT_CONCURRENCY",
        metavar="N",
    )
    loop_stall_threshold_s: float = _opt(
        1.0,
        "Seconds an event loop may be blocked before its stack is logged (0: no watchdog).",
        flag="--loop-stall-threshold",
        setting="BOLT_LOOP_STALL_THRESHOLD",
        metavar="S",
    )
    # --- WebSockets ----------------------------------------------------------------------------
    websocket_max_message_size: int = _opt(
        1 * MIB,
        "Largest WebSocket message, after decompression (closed with 1009 beyond; 0: no limit).",
        setting="BOLT_WEBSOCKET_MAX_MESSAGE_SIZE",
    )
    websocket_max_queue: int = _opt(
        16,
        "WebSocket messages received and not yet taken by the handler before reading stops.",
        setting="BOLT_WEBSOCKET_MAX_QUEUE",
    )
    websocket_ping_interval_s: float = _opt(
        20.0,
        "Seconds between the server's pings on an open WebSocket (0: no pings).",
        setting="BOLT_WEBSOCKET_PING_INTERVAL",
    )
    websocket_ping_timeout_s: float = _opt(
        20.0,
        "Seconds a ping's pong may take before the WebSocket is closed with 1011 (0: no limit).",
        setting="BOLT_WEBSOCKET_PING_TIMEOUT",
    )
    websocket_idle_timeout_s: float = _opt(
        0.0,
        "Seconds without a message either way before a WebSocket is closed with 1001 (0: none).",
        setting="BOLT_WEBSOCKET_IDLE_TIMEOUT",
    )
    websocket_close_timeout_s: float = _opt(
        10.0,
        "Seconds the client has to answer the server's close frame before the connection drops.",
        setting="BOLT_WEBSOCKET_CLOSE_TIMEOUT",
    )
    websocket_compression: bool = _opt(
        True,
        "Negotiate permessage-deflate when a WebSocket client offers it.",
        setting="BOLT_WEBSOCKET_COMPRESSION",
    )
    server_header: str = _opt(
        "", "Value of the Server header ('' sends none).", setting="BOLT_SERVER_HEADER"
    )

    def preloads(self) -> bool:
        """Whether the parent imports the project and forks the workers (``preload``, or by
        default only when there are several processes to share its pages)."""
        return self.preload if self.preload is not None else self.processes > 1

    def effective_workers(self) -> int:
        """Return the threads each process runs (``workers``, or the default for this build)."""
        return self.workers if self.workers > 0 else default_workers()


OPTIONS: Final[tuple[tuple[dataclasses.Field[Any], Option], ...]] = tuple(
    (f, f.metadata["option"]) for f in dataclasses.fields(ServerConfig)
)

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


def _coerce(name: str, kind: Any, raw: object) -> object:
    """Turn a value from the environment or settings into the field's type, or fail clearly."""
    if isinstance(kind, str):
        kind = kind.removesuffix(" | None")  # None is only the default ("not given")
    try:
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(raw)
        if kind in ("int", int):
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)  # type: ignore[call-overload]
        if kind in ("float", float):
            return float(raw)  # type: ignore[arg-type]
        if kind in ("str", str):
            if isinstance(raw, list | tuple):
                return ",".join(str(x) for x in raw)
            return str(raw)
    except (TypeError, ValueError):
        raise ServerConfigError(f"{name}: cannot use {raw!r} as {kind}") from None
    raise ServerConfigError(f"{name}: unsupported type {kind}")  # pragma: no cover - table bug


def _check_typed(name: str, kind: Any, raw: object) -> None:
    """Refuse a Django setting whose number is not one already, as 0.13 does:
    ``"10485760"`` or ``10.9`` for an int is a mistake to name, not to convert (text from the
    environment or the command line is parsed instead; a flag may be written ``"on"``)."""
    if isinstance(kind, str):
        kind = kind.removesuffix(" | None")
    if kind in ("int", int):
        expected: tuple[type, ...] = (int,)
        what = "an int"
    elif kind in ("float", float):
        expected, what = (int, float), "a number"
    else:
        return
    if isinstance(raw, bool) or not isinstance(raw, expected):
        raise ServerConfigError(f"{name} must be {what}, got {type(raw).__name__} {raw!r}")


def load_server_config(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    settings: object | None = None,
) -> ServerConfig:
    """Resolve every option: CLI values (``None`` = not given) > env > Django setting > default."""
    cli = cli or {}
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f, opt in OPTIONS:
        given = cli.get(f.name)
        if given is not None:
            values[f.name] = _coerce(opt.flag or f.name, f.type, given)
        elif opt.env and environ.get(opt.env):
            # An empty variable is an unset one, as a setting of None is (0.13 reads both so).
            values[f.name] = _coerce(opt.env, f.type, environ[opt.env])
        elif opt.setting and getattr(settings, opt.setting, None) is not None:
            raw = getattr(settings, opt.setting)
            _check_typed(opt.setting, f.type, raw)
            values[f.name] = _coerce(opt.setting, f.type, raw)
    config = ServerConfig(**values)  # type: ignore[arg-type]
    _validate(config)
    return config


def _validate(config: ServerConfig) -> None:
    positive = (
        "processes",
        "backlog",
        "max_request_line_bytes",
        "max_header_bytes",
        "websocket_max_queue",
    )
    for name in positive:
        if getattr(config, name) < 1:
            raise ServerConfigError(f"{name} must be at least 1")
    non_negative = (
        "workers",
        "max_requests",
        "max_requests_jitter",
        "workers_lifetime_s",
        "max_rss_mib",
        "max_upload_size",
        "body_spool_threshold",
        "keep_alive_s",
        "workers_kill_timeout_s",
        "drain_delay_s",
        "worker_start_timeout_s",
        "header_read_timeout_s",
        "body_read_timeout_s",
        "body_min_rate",
        "write_timeout_s",
        "limit_concurrency",
        "loop_stall_threshold_s",
        "websocket_max_message_size",
        "websocket_ping_interval_s",
        "websocket_ping_timeout_s",
        "websocket_idle_timeout_s",
        "websocket_close_timeout_s",
    )
    for name in non_negative:
        if getattr(config, name) < 0:
            raise ServerConfigError(f"{name} must not be negative")
    if config.drain_delay_s and config.drain_delay_s >= config.workers_kill_timeout_s:
        raise ServerConfigError("drain_delay_s must be shorter than workers_kill_timeout_s")
    if not 0 <= config.port <= 65535:
        raise ServerConfigError("port must be between 0 and 65535")
    if config.log_level.lower() not in {"critical", "error", "warning", "info", "debug"}:
        raise ServerConfigError(f"unknown log level {config.log_level!r}")
    _validate_observability(config)
    if config.body_spool_dir and not os.path.isdir(config.body_spool_dir):
        raise ServerConfigError(f"body_spool_dir {config.body_spool_dir!r} is not a directory")
    TrustedProxies.parse(config.forwarded_allow_ips)


def _validate_observability(config: ServerConfig) -> None:
    if config.access_log_format not in {"text", "json"}:
        raise ServerConfigError(
            f"access_log_format must be text or json, not {config.access_log_format!r}"
        )
    path = config.metrics_path
    if path and (not path.startswith("/") or any(c in path for c in "?# \t\r\n")):
        raise ServerConfigError(f"metrics_path must be a path such as /metrics, not {path!r}")


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers whose X-Forwarded-* / X-Real-IP headers the server believes."""

    trust_all: bool
    addresses: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> TrustedProxies:
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        addresses: set[str] = set()
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        trust_all = False
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            if item == "*":
                trust_all = True
                continue
            try:
                if "/" in item:
                    networks.append(ipaddress.ip_network(item, strict=False))
                else:
                    addresses.add(str(ipaddress.ip_address(item)))
            except ValueError:
                raise ServerConfigError(f"not an IP address or network: {item!r}") from None
        return cls(trust_all, frozenset(addresses), tuple(networks))

    def __contains__(self, host: object) -> bool:
        if self.trust_all:
            return True
        if not isinstance(host, str):
            return False
        if host[:7].lower() == "::ffff:" and "." in host:
            host = host[7:]  # an IPv4 peer seen through a dual-stack IPv6 socket
        if host in self.addresses:
            return True
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)
