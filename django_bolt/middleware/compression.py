"""Response compression: gzip, brotli and zstd, negotiated from ``Accept-Encoding``.

:class:`CompressionConfig` is compiled once, at start-up, into a :class:`Compressor`: a callable
``compressor(request, response) -> response`` that ``dispatch`` applies to the routes that
compress. Routes with compression off (``None``/``False``, or ``@no_compress``) never reach this
module.

Streaming bodies (``StreamingResponse``, SSE) are compressed chunk by chunk, and every chunk is
flushed out of the encoder as it is produced, so an event reaches the client when it is sent
rather than when the encoder's internal block fills.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar

import brotli
import zstandard
from django.core.exceptions import ImproperlyConfigured

from django_bolt._http.wire import add_vary
from django_bolt.conf import DEFAULT_COMPRESSION
from django_bolt.exceptions import ConfigurationError

# gzip comes from zlib-ng when it is installed (a dependency): the same deflate format and
# gzip framing as the standard zlib module, with the same API, and faster (the bench's 10 KB
# JSON document at level 6: 28 us against 33 us). The standard module stays the fallback.
try:
    from zlib_ng import zlib_ng as _deflate
except ImportError:  # pragma: no cover - zlib-ng is a dependency; kept for odd platforms
    import zlib as _deflate  # type: ignore[no-redef]

if TYPE_CHECKING:
    from django_bolt._http.wire import WireResponse
    from django_bolt.request import Request

__all__ = (
    "BACKENDS",
    "CompressionBackend",
    "CompressionConfig",
    "Compressor",
    "StreamEncoder",
    "build_compressor",
    "is_no_compress",
    "negotiate",
    "no_compress",
    "parse_accept_encoding",
)

BackendName = Literal["gzip", "brotli", "zstd"]
F = TypeVar("F", bound=Callable[..., Any])

_NO_COMPRESS_ATTR: Final = "_bolt_no_compress"


@dataclass(frozen=True, slots=True)
class CompressionConfig:
    """How responses are compressed; pass to ``BoltAPI(compression=...)`` or ``BOLT_COMPRESSION``.

    ``backend`` is the preferred coding; with ``gzip_fallback`` a client that does not take it
    but takes gzip gets gzip. Bodies shorter than ``minimum_size`` bytes are sent as they are
    (streams are always candidates). Each backend has its own level, on its own scale:
    ``brotli_level`` 0-11, ``gzip_level`` 0-9 (also the gzip fallback's), ``zstd_level``
    1-22; ``brotli_lgwin`` 10-24 is the log2 of brotli's window (14: 16 KiB per stream).
    ``level`` (keyword-only, this framework's shorthand) sets the preferred backend's level;
    giving it together with a different ``<backend>_level`` is an error.
    """

    # The defaults and positional order are Django-Bolt 0.13's, so that code written for it
    # sends the same bytes. Measured on an 8.5 KB JSON list: brotli 5 (window 16 KiB) 482
    # bytes in 51 us, gzip 6 952 bytes in 26 us (gzip 1: 963 in 12 us), zstd 3 576 in 9 us.
    backend: BackendName = "brotli"
    minimum_size: int = 500
    gzip_fallback: bool = True
    brotli_level: int = 5
    brotli_lgwin: int = 14
    gzip_level: int = 6
    zstd_level: int = 3
    level: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        spec = BACKENDS.get(self.backend)
        if spec is None:
            raise ConfigurationError(
                f"CompressionConfig.backend must be one of {sorted(BACKENDS)}, not {self.backend!r}"
            )
        if type(self.minimum_size) is not int or self.minimum_size < 0:
            raise ConfigurationError(
                f"CompressionConfig.minimum_size must be an int >= 0, not {self.minimum_size!r}"
            )
        if type(self.gzip_fallback) is not bool:
            raise ConfigurationError("CompressionConfig.gzip_fallback must be True or False")
        for name, (low, high) in _RANGES.items():
            _check_range(name, getattr(self, name), low, high)
        if self.level is not None:
            low, high = _RANGES[spec.level_field]
            _check_range("level", self.level, low, high, f" for {self.backend}")
            own = getattr(self, spec.level_field)
            # The per-backend field left at its default defers to ``level``; set to another
            # value, one of the two would be silently ignored.
            if own != _DEFAULT_LEVELS[spec.level_field] and own != self.level:
                raise ConfigurationError(
                    f"CompressionConfig got level={self.level} and {spec.level_field}={own}: "
                    "give one of them"
                )

    def level_of(self, backend: str) -> int:
        """Return the level ``backend`` compresses at under this configuration."""
        spec = BACKENDS[backend]
        if self.level is not None and backend == self.backend:
            return self.level
        return getattr(self, spec.level_field)  # type: ignore[no-any-return]


def _check_range(name: str, value: object, low: int, high: int, scale: str = "") -> None:
    # bool is an int subclass: True must not pass for 1.
    if type(value) is not int or not low <= value <= high:
        raise ConfigurationError(
            f"CompressionConfig.{name}{scale} must be an int from {low} to {high}, not {value!r}"
        )


# Valid ranges, as each library defines them (and Django-Bolt 0.13 checks them).
_RANGES: Final[dict[str, tuple[int, int]]] = {
    "brotli_level": (0, 11),
    "brotli_lgwin": (10, 24),
    "gzip_level": (0, 9),
    "zstd_level": (1, 22),
}


# --- backends ------------------------------------------------------------------------------------


class StreamEncoder(Protocol):
    """One streaming body's encoder state."""

    def chunk(self, data: bytes) -> bytes:
        """Compress ``data`` and flush, so the client can decode everything sent so far."""
        ...

    def finish(self) -> bytes:
        """Return the end of the compressed stream."""
        ...


class CompressionBackend(Protocol):
    """What each coding offers: one-shot compression and a streaming encoder."""

    @property
    def token(self) -> bytes:
        """The content-coding name on the wire."""
        ...

    def compress(self, data: bytes) -> bytes: ...

    def stream(self) -> StreamEncoder: ...


class _GzipStream:
    __slots__ = ("_obj",)

    def __init__(self, level: int) -> None:
        # wbits 31 = 16 (gzip header and trailer) + 15 (32 KiB window).
        self._obj = _deflate.compressobj(level, _deflate.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        obj = self._obj
        return obj.compress(data) + obj.flush(_deflate.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._obj.flush(_deflate.Z_FINISH)


class GzipBackend:
    __slots__ = ("level",)
    token: Final = b"gzip"

    def __init__(self, level: int) -> None:
        self.level = level

    def compress(self, data: bytes) -> bytes:
        # The deflate module directly, not gzip.compress: no mtime in the header (identical
        # bytes for identical bodies, so caches and ETags agree) and one call less.
        return _deflate.compress(data, self.level, wbits=31)

    def stream(self) -> StreamEncoder:
        return _GzipStream(self.level)


class _BrotliStream:
    __slots__ = ("_obj",)

    def __init__(self, level: int, lgwin: int) -> None:
        self._obj = brotli.Compressor(quality=level, lgwin=lgwin)

    def chunk(self, data: bytes) -> bytes:
        obj = self._obj
        return obj.process(data) + obj.flush()  # type: ignore[no-any-return]

    def finish(self) -> bytes:
        return self._obj.finish()  # type: ignore[no-any-return]


class BrotliBackend:
    __slots__ = ("level", "lgwin")
    token: Final = b"br"

    def __init__(self, level: int, lgwin: int = 22) -> None:
        self.level = level
        # The window bounds what a stream's encoder keeps in memory (2**lgwin bytes), for as
        # long as the stream is open: the number that counts with many SSE clients.
        self.lgwin = lgwin

    def compress(self, data: bytes) -> bytes:
        return brotli.compress(data, quality=self.level, lgwin=self.lgwin)  # type: ignore[no-any-return]

    def stream(self) -> StreamEncoder:
        return _BrotliStream(self.level, self.lgwin)


class _ZstdStream:
    __slots__ = ("_obj",)

    def __init__(self, level: int) -> None:
        # A ZstdCompressor runs one operation at a time: each stream gets its own.
        self._obj = zstandard.ZstdCompressor(level=level).compressobj()

    def chunk(self, data: bytes) -> bytes:
        obj = self._obj
        return obj.compress(data) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._obj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class ZstdBackend:
    __slots__ = ("_local", "level")
    token: Final = b"zstd"

    def __init__(self, level: int) -> None:
        self.level = level
        # A ZstdCompressor is not safe to share between threads (--workers > 1), and building
        # one per response costs more than compressing a small body: one per thread.
        self._local = threading.local()

    def compress(self, data: bytes) -> bytes:
        local = self._local
        try:
            compressor: zstandard.ZstdCompressor = local.compressor
        except AttributeError:
            compressor = local.compressor = zstandard.ZstdCompressor(level=self.level)
        return compressor.compress(data)

    def stream(self) -> StreamEncoder:
        return _ZstdStream(self.level)


@dataclass(frozen=True, slots=True)
class _BackendSpec:
    factory: Callable[[CompressionConfig, int], CompressionBackend]
    # The CompressionConfig field holding this backend's level.
    level_field: str


BACKENDS: Final[dict[str, _BackendSpec]] = {
    "brotli": _BackendSpec(
        lambda config, level: BrotliBackend(level, config.brotli_lgwin), "brotli_level"
    ),
    "gzip": _BackendSpec(lambda config, level: GzipBackend(level), "gzip_level"),
    "zstd": _BackendSpec(lambda config, level: ZstdBackend(level), "zstd_level"),
}
# The per-backend defaults, read from CompressionConfig's own fields (one place for them).
_DEFAULT_LEVELS: Final[dict[str, int]] = {
    f.name: f.default
    for f in fields(CompressionConfig)
    if f.name in _RANGES and isinstance(f.default, int)
}


def _make_backend(name: str, config: CompressionConfig) -> CompressionBackend:
    return BACKENDS[name].factory(config, config.level_of(name))


# --- negotiation ---------------------------------------------------------------------------------


def parse_accept_encoding(value: str) -> dict[str, float]:
    """``Accept-Encoding`` → {coding: q}; codings lower-cased, malformed q-values read as 0.

    RFC 9110 section 12.5.3: ``gzip;q=0`` refuses gzip, ``*`` stands for any coding not listed,
    and an empty value means "identity only".
    """
    found: dict[str, float] = {}
    for item in value.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(raw.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # also rejects nan and inf
                    q = 0.0
        # A coding listed twice keeps its best weight.
        found[coding] = max(q, found.get(coding, 0.0)) if coding in found else q
    return found


def _weight(accepted: dict[str, float], coding: str) -> float:
    q = accepted.get(coding)
    if q is None:
        q = accepted.get("*", 0.0)
    return q


def negotiate(
    accept_encoding: str, preferred: str, fallback: str | None
) -> Literal["preferred", "fallback"] | None:
    """Which of the two codings (tokens, e.g. ``"br"`` and ``"gzip"``) to send, or None.

    The higher q-value wins; a tie goes to ``preferred``. A client that weighs ``identity``
    above both gets the body as it is.
    """
    accepted = parse_accept_encoding(accept_encoding)
    best_q = _weight(accepted, preferred)
    choice: Literal["preferred", "fallback"] | None = "preferred" if best_q > 0 else None
    if fallback is not None:
        fallback_q = _weight(accepted, fallback)
        if fallback_q > best_q:
            best_q, choice = fallback_q, "fallback"
    if choice is not None and accepted.get("identity", 0.0) > best_q:
        return None
    return choice


# --- what is worth compressing -------------------------------------------------------------------

# Media types whose bodies are already compressed: a second pass costs CPU and saves nothing.
_COMPRESSED_PREFIXES: Final = (b"image/", b"video/", b"audio/")
# SVG is XML text and compresses well, unlike the rest of image/*.
_COMPRESSIBLE_EXCEPTIONS: Final = frozenset({b"image/svg+xml"})
COMPRESSED_MEDIA_TYPES: Final = frozenset(
    {
        b"application/gzip",
        b"application/x-gzip",
        b"application/zip",
        b"application/zstd",
        b"application/x-bzip2",
        b"application/x-xz",
        b"application/x-7z-compressed",
        b"application/x-rar-compressed",
        b"application/vnd.rar",
        b"application/x-brotli",
        b"application/pdf",
        b"application/octet-stream",
        b"application/wasm",
        b"font/woff",
        b"font/woff2",
    }
)


def _compressible(content_type: bytes) -> bool:
    # A project sends a handful of distinct Content-Type values: each is judged once.
    known = _COMPRESSIBLE_SEEN.get(content_type)
    if known is not None:
        return known
    media = content_type.split(b";", 1)[0].strip().lower()
    verdict = media not in COMPRESSED_MEDIA_TYPES and (
        not media.startswith(_COMPRESSED_PREFIXES) or media in _COMPRESSIBLE_EXCEPTIONS
    )
    if len(_COMPRESSIBLE_SEEN) >= _CONTENT_TYPES_MAX:
        _COMPRESSIBLE_SEEN.clear()
    _COMPRESSIBLE_SEEN[content_type] = verdict
    return verdict


_COMPRESSIBLE_SEEN: Final[dict[bytes, bool]] = {}
_CONTENT_TYPES_MAX: Final = 256


_ACCEPT_ENCODING: Final = b"accept-encoding"
_DROPPED_WHEN_ENCODED: Final = frozenset({b"content-length", b"accept-ranges"})
# Distinct Accept-Encoding values are few (one per browser family): remember the decision.
_NEGOTIATION_CACHE_MAX: Final = 256


class Compressor:
    """A :class:`CompressionConfig` compiled for dispatch: ``compressor(request, response)``."""

    __slots__ = ("_cache", "_fallback", "_fallback_token", "_preferred", "minimum_size")

    def __init__(self, config: CompressionConfig) -> None:
        self.minimum_size = config.minimum_size
        self._preferred = _make_backend(config.backend, config)
        fallback: CompressionBackend | None = None
        if config.gzip_fallback and config.backend != "gzip":
            fallback = _make_backend("gzip", config)
        self._fallback = fallback
        self._fallback_token = fallback.token.decode() if fallback is not None else None
        self._cache: dict[bytes, CompressionBackend | None] = {}

    def _choose(self, request: Request) -> CompressionBackend | None:
        raw: bytes | None = None
        for name, value in request.raw_headers:
            if name.lower() == _ACCEPT_ENCODING:
                # Several fields combine into one comma-separated list (RFC 9110 section 5.3).
                raw = value if raw is None else raw + b"," + value
        if raw is None:
            return None
        cache = self._cache
        try:
            return cache[raw]
        except KeyError:
            pass
        which = negotiate(
            raw.decode("latin-1"), self._preferred.token.decode(), self._fallback_token
        )
        backend = (
            self._preferred
            if which == "preferred"
            else self._fallback
            if which == "fallback"
            else None
        )
        if len(cache) >= _NEGOTIATION_CACHE_MAX:
            cache.clear()
        cache[raw] = backend
        return backend

    def __call__(self, request: Request, response: WireResponse) -> WireResponse:
        stream = response.stream
        if stream is None and len(response.body) < self.minimum_size:
            # Too small to be encoded whatever the client accepts: this response does not vary
            # with Accept-Encoding, so it needs no Vary either, and nothing else is looked at.
            return response
        status = response.status_code
        # RFC 9110 section 15: 1xx, 204 and 304 carry no content; 206 is a byte range of the
        # unencoded body, which an encoding would make meaningless.
        if status < 200 or status in (204, 206, 304):
            return response
        headers = response.raw_headers
        etag_at = -1
        for index, (name, value) in enumerate(headers):
            if name == b"content-type":
                if not _compressible(value):
                    return response
            elif name == b"content-encoding" or name == b"content-range":
                return response
            elif name == b"cache-control":
                # RFC 9110 section 7.7: no-transform forbids changing the content coding.
                if b"no-transform" in value.lower():
                    return response
            elif name == b"etag":
                etag_at = index
        add_vary(headers, _ACCEPT_ENCODING)
        # The server drops the body of a HEAD; compressing it only to throw it away is waste.
        if request.method == "HEAD":
            return response
        backend = self._choose(request)
        if backend is None:
            return response
        if stream is None:
            compressed = backend.compress(response.body)
            if len(compressed) >= len(response.body):
                return response
            response.body = compressed
        else:
            response.stream = _encode_stream(stream, backend.stream())
        _mark_encoded(headers, backend.token, etag_at)
        return response


def _mark_encoded(headers: list[tuple[bytes, bytes]], token: bytes, etag_at: int) -> None:
    if etag_at >= 0:
        etag = headers[etag_at][1]
        # A strong ETag names exact bytes: the encoded body is different bytes (RFC 9110 8.8.3).
        if not etag.startswith(b"W/"):
            headers[etag_at] = (b"etag", b"W/" + etag)
    headers.append((b"content-encoding", token))
    # The server computes content-length from the body it sends; a stale one would be a lie,
    # and byte ranges of the unencoded body no longer apply.
    headers[:] = [h for h in headers if h[0] not in _DROPPED_WHEN_ENCODED]


async def _encode_stream(
    source: AsyncIterable[bytes] | Iterable[bytes], encoder: StreamEncoder
) -> AsyncIterator[bytes]:
    if isinstance(source, AsyncIterable):
        try:
            async for chunk in source:
                if chunk:
                    yield encoder.chunk(chunk)
        finally:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()
    else:
        for chunk in source:
            if chunk:
                yield encoder.chunk(chunk)
    yield encoder.finish()


# --- configuration -------------------------------------------------------------------------------


def no_compress(fn: F) -> F:
    """Serve this route's responses uncompressed, whatever the API's compression config."""
    setattr(fn, _NO_COMPRESS_ATTR, True)
    return fn


def is_no_compress(fn: object) -> bool:
    return getattr(fn, _NO_COMPRESS_ATTR, False) is True


def build_compressor(config: object) -> Compressor | None:
    """Return a config (from ``BoltAPI(compression=...)`` or ``BOLT_COMPRESSION``) compiled, or
    None."""
    if config is None or config is False:
        return None
    if config is DEFAULT_COMPRESSION:
        config = CompressionConfig()
    if not isinstance(config, CompressionConfig):
        raise ImproperlyConfigured(
            f"compression must be a CompressionConfig, None or False, not {config!r}"
        )
    return Compressor(config)
