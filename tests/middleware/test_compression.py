"""Response compression: each rule through the TestClient, checked with the real decoders."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import json
import os
import random
import socket
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard
from django.core.exceptions import ImproperlyConfigured
from zlib_ng import zlib_ng  # the package's gzip encoder: its exact bytes are its own

from django_bolt import BoltAPI, FileResponse, StreamingResponse
from django_bolt.exceptions import HTTPException
from django_bolt.middleware import CompressionConfig, no_compress
from django_bolt.responses import EventSourceResponse, Response, ServerSentEvent
from django_bolt.testing import TestClient
from tests.integration.conftest import run_bolt

__all__ = ("run_bolt",)  # the fixture, imported so the integration test can use it

# 2 KB of JSON-ish text: far above the default minimum_size, and it compresses well.
BIG_TEXT = ("".join(f'{{"id": {i}, "name": "user-{i}"}},' for i in range(80))).encode()
assert len(BIG_TEXT) > 1500

DECODERS = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


def stream_decoder(coding):
    """A function fed raw chunks one by one, returning what each decodes to."""
    if coding == "gzip":
        return zlib.decompressobj(31).decompress
    if coding == "br":
        return brotli.Decompressor().process
    return zstandard.ZstdDecompressor().decompressobj().decompress


def raw_get(client, path, accept=None, method="GET", headers=None):
    """(response, raw body bytes, raw chunks): httpx would decode the body, so read it raw."""
    request = client.build_request(method, path, headers=headers)
    # httpx sends its own Accept-Encoding unless told otherwise: None removes the field.
    if accept is None:
        del request.headers["accept-encoding"]
    else:
        request.headers["accept-encoding"] = accept
    response = client.send(request, stream=True)
    try:
        # A buffered body was read (and decoded) on arrival: its stream keeps the raw bytes.
        source = response.stream if response.is_stream_consumed else response.iter_raw()
        chunks = list(source)
    finally:
        response.close()
    return response, b"".join(chunks), chunks


def api_with(config=None, **kwargs):
    api = BoltAPI(compression=config if config is not None else CompressionConfig(**kwargs))

    @api.get("/big")
    async def big() -> Response:
        return Response(BIG_TEXT, media_type="text/plain")

    return api


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"backend": "deflate"}, id="unknown-backend"),
        pytest.param({"backend": "GZIP"}, id="backend-is-case-sensitive"),
        pytest.param({"minimum_size": -1}, id="negative-minimum-size"),
        pytest.param({"minimum_size": "500"}, id="minimum-size-not-int"),
        pytest.param({"backend": "gzip", "level": 10}, id="gzip-level-too-high"),
        pytest.param({"backend": "brotli", "level": 12}, id="brotli-level-too-high"),
        pytest.param({"backend": "zstd", "level": 0}, id="zstd-level-too-low"),
        pytest.param({"gzip_fallback": "yes"}, id="fallback-not-bool"),
        pytest.param({"gzip_level": 10}, id="gzip_level-too-high"),
        pytest.param({"gzip_level": -1}, id="gzip_level-too-low"),
        pytest.param({"brotli_level": 12}, id="brotli_level-too-high"),
        pytest.param({"brotli_lgwin": 9}, id="brotli_lgwin-too-low"),
        pytest.param({"brotli_lgwin": 25}, id="brotli_lgwin-too-high"),
        pytest.param({"zstd_level": 0}, id="zstd_level-too-low"),
        pytest.param({"zstd_level": 23}, id="zstd_level-too-high"),
        pytest.param({"zstd_level": True}, id="level-bool-is-not-an-int"),
        pytest.param({"gzip_level": 6.0}, id="level-float"),
        pytest.param({"backend": "gzip", "level": 1, "gzip_level": 9}, id="level-and-own-level"),
    ],
)
def test_bad_config_is_refused(kwargs):
    # ImproperlyConfigured stops start-up; ValueError is what Django-Bolt raises for these.
    with pytest.raises(ImproperlyConfigured) as caught:
        CompressionConfig(**kwargs)
    assert isinstance(caught.value, ValueError)


def test_config_is_frozen_with_django_bolts_defaults_and_order():
    config = CompressionConfig()
    assert dataclasses.astuple(config) == ("brotli", 500, True, 5, 14, 6, 3, None)
    # Django-Bolt's positional order; ``level`` (ours) is keyword-only.
    assert CompressionConfig("gzip", 100, False, 4, 20, 2, 7) == CompressionConfig(
        backend="gzip",
        minimum_size=100,
        gzip_fallback=False,
        brotli_level=4,
        brotli_lgwin=20,
        gzip_level=2,
        zstd_level=7,
    )
    with pytest.raises(TypeError):
        CompressionConfig("gzip", 500, True, 5, 14, 6, 3, 1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.backend = "gzip"


@pytest.mark.parametrize(
    ("kwargs", "levels"),
    [
        pytest.param({}, {"brotli": 5, "gzip": 6, "zstd": 3}, id="defaults"),
        pytest.param({"backend": "gzip", "level": 2}, {"gzip": 2}, id="level-is-gzip_level"),
        pytest.param(
            {"backend": "gzip", "level": 2, "gzip_level": 2}, {"gzip": 2}, id="both-agree"
        ),
        pytest.param(
            {"level": 11, "gzip_level": 1}, {"brotli": 11, "gzip": 1}, id="level-not-fallback"
        ),
        pytest.param(
            {"backend": "zstd", "level": 19, "brotli_level": 0},
            {"zstd": 19, "brotli": 0},
            id="other-backends-keep-theirs",
        ),
    ],
)
def test_level_is_the_preferred_backends_level(kwargs, levels):
    config = CompressionConfig(**kwargs)
    assert {name: config.level_of(name) for name in levels} == levels


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("gzip", id="a-string"),
        pytest.param(True, id="true"),
        pytest.param({"backend": "gzip"}, id="a-dict"),
    ],
)
def test_api_refuses_what_is_not_a_config_at_startup(value):
    api = BoltAPI(compression=value)

    @api.get("/x")
    async def x() -> dict[str, int]:
        return {}

    # The client compiles the API when it is made.
    with pytest.raises(ImproperlyConfigured):
        TestClient(api)


def test_setting_turns_compression_on(settings):
    settings.BOLT_COMPRESSION = CompressionConfig(backend="gzip", minimum_size=500)
    api = BoltAPI()

    @api.get("/big")
    async def big() -> Response:
        return Response(BIG_TEXT, media_type="text/plain")

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/big", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == BIG_TEXT


@pytest.mark.parametrize("off", [pytest.param(None, id="none"), pytest.param(False, id="false")])
def test_api_argument_wins_over_setting(settings, off):
    settings.BOLT_COMPRESSION = CompressionConfig(backend="gzip")
    with TestClient(api_with(off if off is not None else False)) as client:
        response, raw, _ = raw_get(client, "/big", "gzip")
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
    assert raw == BIG_TEXT


def default_api(**kwargs):
    api = BoltAPI(**kwargs)

    @api.get("/big")
    async def big() -> Response:
        return Response(BIG_TEXT, media_type="text/plain")

    @api.get("/small")
    async def small() -> Response:
        return Response(BIG_TEXT[:499], media_type="text/plain")

    return api


def test_nothing_given_compresses_as_the_default_config(settings):
    """Neither BOLT_COMPRESSION nor compression=: Django-Bolt's default, CompressionConfig()
    (brotli 5 with a 16 KiB window, gzip 6 as the fallback, nothing under 500 bytes)."""
    del settings.BOLT_COMPRESSION
    with TestClient(default_api()) as client:
        browser, br, _ = raw_get(client, "/big", "gzip, deflate, br, zstd")
        gzip_only, gz, _ = raw_get(client, "/big", "gzip")
        zstd_only, zs, _ = raw_get(client, "/big", "zstd")
        small, small_raw, _ = raw_get(client, "/small", "gzip, deflate, br, zstd")
        # httpx's own Accept-Encoding (gzip, deflate and br when brotli is installed).
        decoded = client.get("/big")
    assert (browser.headers["content-encoding"], browser.headers["vary"]) == (
        "br",
        "accept-encoding",
    )
    assert br == brotli.compress(BIG_TEXT, quality=5, lgwin=14)
    assert gzip_only.headers["content-encoding"] == "gzip"
    assert gz == zlib_ng.compress(BIG_TEXT, 6, wbits=31)
    assert ("content-encoding" in zstd_only.headers, zs) == (False, BIG_TEXT)
    assert ("content-encoding" in small.headers, "vary" in small.headers) == (False, False)
    assert small_raw == BIG_TEXT[:499]
    assert decoded.headers["content-encoding"] in ("br", "gzip")
    assert decoded.content == BIG_TEXT


@pytest.mark.parametrize("off", [pytest.param(None, id="none"), pytest.param(False, id="false")])
def test_setting_none_or_false_turns_the_default_off(settings, off):
    settings.BOLT_COMPRESSION = off
    with TestClient(default_api()) as client:
        response, raw, _ = raw_get(client, "/big", "gzip, deflate, br, zstd")
    assert ("content-encoding" in response.headers, "vary" in response.headers) == (False, False)
    assert raw == BIG_TEXT


@pytest.mark.parametrize("off", [pytest.param(None, id="none"), pytest.param(False, id="false")])
def test_argument_none_or_false_turns_the_default_off(settings, off):
    del settings.BOLT_COMPRESSION
    with TestClient(default_api(compression=off)) as client:
        response, raw, _ = raw_get(client, "/big", "gzip, deflate, br, zstd")
    assert "content-encoding" not in response.headers
    assert raw == BIG_TEXT


# --- each backend, buffered ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "level", "coding"),
    [
        pytest.param("gzip", None, "gzip", id="gzip"),
        pytest.param("gzip", 9, "gzip", id="gzip-level-9"),
        pytest.param("brotli", None, "br", id="brotli"),
        pytest.param("brotli", 11, "br", id="brotli-level-11"),
        pytest.param("zstd", None, "zstd", id="zstd"),
        pytest.param("zstd", 19, "zstd", id="zstd-level-19"),
    ],
)
def test_buffered_body_round_trips(backend, level, coding):
    with TestClient(api_with(backend=backend, level=level)) as client:
        response, raw, _ = raw_get(client, "/big", coding)
    assert response.headers["content-encoding"] == coding
    assert response.headers["vary"] == "accept-encoding"
    assert int(response.headers["content-length"]) == len(raw) < len(BIG_TEXT)
    assert DECODERS[coding](raw) == BIG_TEXT


def test_dict_return_value_is_compressed():
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/users")
    async def users() -> list[dict[str, object]]:
        return [{"id": i, "name": f"user-{i}"} for i in range(100)]

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/users", "gzip")
        decoded = client.get("/users", headers={"accept-encoding": "gzip"}).json()
    assert response.headers["content-type"] == "application/json"
    assert gzip.decompress(raw).startswith(b'[{"id":0,"name":"user-0"}')
    assert decoded[99] == {"id": 99, "name": "user-99"}


# --- levels --------------------------------------------------------------------------------------

_RNG = random.Random(7)  # fixed seed: the sizes below are reproducible
_WORDS = ["alpha", "beta", "gamma", "delta", "user", "name", "email", "value", "count", "items"]
# 16 KB of varied JSON: every backend compresses it to a clearly different size per level.
VARIED = json.dumps(
    [
        {"id": i, "w": " ".join(_RNG.choice(_WORDS) for _ in range(8)), "n": _RNG.randint(0, 10**6)}
        for i in range(200)
    ]
).encode()
# A 32 KiB block, twice: the second copy is found only by a window that reaches back 32 KiB.
BLOCK_TWICE = bytes(_RNG.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(32768)) * 2


BUFFERED_AND_STREAMED = pytest.mark.parametrize(
    "stream", [pytest.param(False, id="buffered"), pytest.param(True, id="stream")]
)


def served(body, coding, stream=False, **config):
    """The raw bytes sent for ``body`` under ``CompressionConfig(**config)``, asserted decodable."""
    api = BoltAPI(compression=CompressionConfig(**config))

    @api.get("/body")
    async def send() -> Response:
        if stream:
            half = len(body) // 2
            return StreamingResponse(iter([body[:half], body[half:]]), media_type="text/plain")
        return Response(body, media_type="text/plain")

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/body", coding)
    assert response.headers["content-encoding"] == coding
    assert DECODERS[coding](raw) == body
    return raw


@BUFFERED_AND_STREAMED
@pytest.mark.parametrize(
    ("backend", "coding", "field", "low", "high"),
    [
        pytest.param("gzip", "gzip", "gzip_level", 1, 9, id="gzip"),
        pytest.param("brotli", "br", "brotli_level", 0, 11, id="brotli"),
        pytest.param("zstd", "zstd", "zstd_level", 1, 19, id="zstd"),
    ],
)
def test_each_backends_own_level_applies(backend, coding, field, low, high, stream):
    fast = served(VARIED, coding, stream, backend=backend, **{field: low})
    small = served(VARIED, coding, stream, backend=backend, **{field: high})
    assert len(small) < len(fast)
    # ``level=`` says the same thing as the backend's own field.
    assert served(VARIED, coding, stream, backend=backend, level=high) == small


@BUFFERED_AND_STREAMED
def test_gzip_fallback_compresses_at_gzip_level(stream):
    fast = served(VARIED, "gzip", stream, backend="brotli", level=11, gzip_level=1)
    small = served(VARIED, "gzip", stream, backend="zstd", gzip_level=9)
    assert len(small) < len(fast)
    if not stream:
        assert fast == zlib_ng.compress(VARIED, 1, wbits=31)
        assert small == zlib_ng.compress(VARIED, 9, wbits=31)


@BUFFERED_AND_STREAMED
def test_brotli_lgwin_is_the_window(stream):
    # The default 16 KiB window cannot see the first copy from the second; 16 MiB can.
    narrow = served(BLOCK_TWICE, "br", stream)
    wide = served(BLOCK_TWICE, "br", stream, brotli_lgwin=24)
    assert len(wide) < len(narrow) * 0.6


# --- negotiation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "accept", "expected"),
    [
        pytest.param({"backend": "gzip"}, "gzip", "gzip", id="gzip"),
        pytest.param({"backend": "gzip"}, "GZip", "gzip", id="case-insensitive"),
        pytest.param({"backend": "gzip"}, "  gzip ;  q=0.5  ", "gzip", id="whitespace"),
        pytest.param({"backend": "gzip"}, "deflate, gzip;Q=0.2", "gzip", id="upper-case-q"),
        pytest.param({"backend": "gzip"}, "gzip;q=0", None, id="q0-refuses"),
        pytest.param({"backend": "gzip"}, "gzip;q=0.000", None, id="q0.000-refuses"),
        pytest.param({"backend": "gzip"}, "gzip;q=abc", None, id="bad-q-refuses"),
        pytest.param({"backend": "gzip"}, "identity", None, id="identity-only"),
        pytest.param({"backend": "gzip"}, "deflate", None, id="unknown-coding"),
        pytest.param({"backend": "gzip"}, None, None, id="no-header"),
        pytest.param({"backend": "gzip"}, "*", "gzip", id="star"),
        pytest.param({"backend": "gzip"}, "*;q=0", None, id="star-q0"),
        pytest.param({"backend": "gzip"}, "gzip;q=0, *", None, id="listed-q0-beats-star"),
        pytest.param({"backend": "gzip"}, "gzip;q=0.5, identity;q=1", None, id="identity-higher"),
        pytest.param({"backend": "brotli"}, "gzip, deflate, br", "br", id="prefers-configured"),
        pytest.param({"backend": "brotli"}, "gzip;q=1, br;q=0.5", "gzip", id="higher-q-wins"),
        pytest.param({"backend": "brotli"}, "gzip;q=0.5, br;q=0.5", "br", id="tie-configured"),
        pytest.param({"backend": "brotli"}, "gzip", "gzip", id="gzip-fallback"),
        pytest.param({"backend": "zstd"}, "gzip, br", "gzip", id="zstd-falls-back-to-gzip"),
        pytest.param({"backend": "brotli"}, "br;q=0, *", "gzip", id="star-gives-fallback"),
        pytest.param(
            {"backend": "brotli", "gzip_fallback": False}, "gzip", None, id="fallback-off"
        ),
        pytest.param({"backend": "zstd"}, "zstd, br, gzip", "zstd", id="zstd"),
        pytest.param({"backend": "zstd"}, "ZSTD", "zstd", id="zstd-case"),
    ],
)
def test_negotiation(config, accept, expected):
    with TestClient(api_with(**config)) as client:
        response, raw, _ = raw_get(client, "/big", accept)
    assert response.headers.get("content-encoding") == expected
    assert response.headers["vary"] == "accept-encoding"
    assert (DECODERS[expected](raw) if expected else raw) == BIG_TEXT


def test_accept_encoding_over_several_fields_is_one_list():
    with TestClient(api_with(backend="brotli", gzip_fallback=False)) as client:
        response = client.get(
            "/big", headers=[("accept-encoding", "gzip"), ("Accept-Encoding", "br")]
        )
    assert response.headers["content-encoding"] == "br"


# --- Vary ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "accept", "vary"),
    [
        pytest.param({}, "gzip", "accept-encoding", id="compressed"),
        pytest.param({}, "identity", "accept-encoding", id="client-did-not-ask"),
        pytest.param({"vary": "Origin"}, "gzip", "Origin, accept-encoding", id="merged"),
        pytest.param({"vary": "Accept-Encoding"}, "gzip", "Accept-Encoding", id="already-there"),
        pytest.param({"vary": "*"}, "gzip", "*", id="star-stays"),
    ],
)
def test_vary(headers, accept, vary):
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/big")
    async def big() -> Response:
        return Response(BIG_TEXT, media_type="text/plain", headers=headers)

    with TestClient(api) as client:
        response, _, _ = raw_get(client, "/big", accept)
    assert response.headers.get_list("vary") == [vary]


def test_a_response_below_the_minimum_size_is_sent_as_is_without_vary():
    """Too small to be encoded for any client: it does not vary with Accept-Encoding, so it
    carries no Vary (as with Django's GZipMiddleware), and shared caches may keep one copy."""
    with TestClient(api_with(backend="gzip", minimum_size=10_000)) as client:
        response, raw, _ = raw_get(client, "/big", "gzip")
    assert raw == BIG_TEXT
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers


# --- what is not compressed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "media_type", "headers"),
    [
        pytest.param(200, "image/png", {}, id="image"),
        pytest.param(200, "video/mp4", {}, id="video"),
        pytest.param(200, "audio/ogg", {}, id="audio"),
        pytest.param(200, "application/zip", {}, id="zip"),
        pytest.param(200, "application/gzip", {}, id="gzip-file"),
        pytest.param(200, "font/woff2", {}, id="woff2"),
        pytest.param(200, "application/octet-stream", {}, id="octet-stream"),
        pytest.param(200, "text/plain", {"content-encoding": "x-custom"}, id="already-encoded"),
        pytest.param(200, "text/plain", {"cache-control": "no-transform"}, id="no-transform"),
        pytest.param(204, "text/plain", {}, id="204"),
        pytest.param(304, "text/plain", {}, id="304"),
    ],
)
def test_not_compressed(status, media_type, headers):
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/x")
    async def x() -> Response:
        return Response(BIG_TEXT, status_code=status, media_type=media_type, headers=headers)

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/x", "gzip")
    assert response.status_code == status
    assert response.headers.get("content-encoding") == headers.get("content-encoding")
    assert "vary" not in response.headers
    assert raw == (b"" if status in (204, 304) else BIG_TEXT)


def test_svg_is_compressed_unlike_other_images():
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/logo.svg")
    async def logo() -> Response:
        return Response(BIG_TEXT, media_type="image/svg+xml")

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/logo.svg", "gzip")
    assert (response.headers["content-encoding"], gzip.decompress(raw)) == ("gzip", BIG_TEXT)


@pytest.mark.parametrize(
    ("size", "compressed"),
    [
        pytest.param(499, False, id="below-minimum"),
        pytest.param(500, True, id="at-minimum"),
        pytest.param(501, True, id="above-minimum"),
    ],
)
def test_minimum_size(size, compressed):
    body = (b"abcdefghij" * 60)[:size]
    api = BoltAPI(compression=CompressionConfig(backend="gzip", minimum_size=500))

    @api.get("/x")
    async def x() -> Response:
        return Response(body, media_type="text/plain")

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/x", "gzip")
    assert ("content-encoding" in response.headers) is compressed
    assert (gzip.decompress(raw) if compressed else raw) == body
    # Below the minimum the response is the same for every client, so it does not vary.
    assert response.headers.get("vary") == ("accept-encoding" if compressed else None)


def test_incompressible_body_is_sent_as_is():
    # Random bytes grow under gzip: sending them encoded would only cost.
    noise = os.urandom(2000)
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/x")
    async def x() -> Response:
        return Response(noise, media_type="text/plain")

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/x", "gzip")
    assert "content-encoding" not in response.headers
    assert raw == noise


def test_head_is_not_compressed():
    with TestClient(api_with(backend="gzip")) as client:
        head, raw, _ = raw_get(client, "/big", "gzip", method="HEAD")
    assert "content-encoding" not in head.headers
    assert (head.headers["vary"], head.headers["content-length"], raw) == (
        "accept-encoding",
        str(len(BIG_TEXT)),
        b"",
    )


@pytest.mark.parametrize(
    "order", [pytest.param("inner", id="below"), pytest.param("outer", id="above")]
)
def test_no_compress_route(order):
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    async def raw() -> Response:
        return Response(BIG_TEXT, media_type="text/plain")

    if order == "inner":
        api.get("/raw")(no_compress(raw))
    else:
        no_compress(api.get("/raw")(raw))

    @api.get("/other")
    async def other() -> Response:
        return Response(BIG_TEXT, media_type="text/plain")

    with TestClient(api) as client:
        plain, body, _ = raw_get(client, "/raw", "gzip")
        compressed, _, _ = raw_get(client, "/other", "gzip")
    assert ("content-encoding" in plain.headers, "vary" in plain.headers, body) == (
        False,
        False,
        BIG_TEXT,
    )
    assert compressed.headers["content-encoding"] == "gzip"


def test_error_response_from_a_route_is_compressed():
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/fail")
    async def fail() -> dict[str, str]:
        raise HTTPException(400, detail="x" * 2000)

    with TestClient(api) as client:
        response, raw, _ = raw_get(client, "/fail", "gzip")
    assert (response.status_code, response.headers["content-encoding"]) == (400, "gzip")
    assert gzip.decompress(raw) == b'{"detail":"' + b"x" * 2000 + b'"}'


def test_file_response_weak_etag_and_no_ranges(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(BIG_TEXT)
    api = BoltAPI(compression=CompressionConfig(backend="gzip"))

    @api.get("/file")
    async def file() -> FileResponse:
        return FileResponse(path)

    with TestClient(api) as client:
        plain, _, _ = raw_get(client, "/file", "identity")
        response, raw, _ = raw_get(client, "/file", "gzip")
        partial, part, _ = raw_get(client, "/file", "gzip", headers={"range": "bytes=0-9"})
    assert gzip.decompress(raw) == BIG_TEXT
    # The encoded bytes differ from the file's: its strong validator becomes weak.
    assert response.headers["etag"] == "W/" + plain.headers["etag"]
    assert "accept-ranges" not in response.headers
    assert (partial.status_code, part, partial.headers.get("content-encoding")) == (
        206,
        BIG_TEXT[:10],
        None,
    )


# --- streaming -----------------------------------------------------------------------------------

CHUNKS = [f"chunk {i}: ".encode() + b"z" * (i * 50) for i in range(6)]


def stream_api(kind, backend):
    api = BoltAPI(compression=CompressionConfig(backend=backend))

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        if kind == "sync":
            return StreamingResponse(iter(CHUNKS), media_type="text/plain")

        async def produce():
            for chunk in CHUNKS:
                yield chunk

        return StreamingResponse(produce(), media_type="text/plain")

    return api


@pytest.mark.parametrize(
    "kind", [pytest.param("async", id="async"), pytest.param("sync", id="sync")]
)
@pytest.mark.parametrize(
    ("backend", "coding"),
    [
        pytest.param("gzip", "gzip", id="gzip"),
        pytest.param("brotli", "br", id="brotli"),
        pytest.param("zstd", "zstd", id="zstd"),
    ],
)
def test_stream_is_compressed_and_flushed_per_chunk(kind, backend, coding):
    with TestClient(stream_api(kind, backend)) as client:
        response, raw, raw_chunks = raw_get(client, "/stream", coding)
    assert response.headers["content-encoding"] == coding
    assert response.headers["vary"] == "accept-encoding"
    assert "content-length" not in response.headers
    decode = stream_decoder(coding)
    # Each compressed chunk decodes, on its own, to exactly the chunk the handler produced.
    decoded = [decode(chunk) for chunk in raw_chunks]
    assert decoded[: len(CHUNKS)] == CHUNKS
    assert b"".join(decoded[len(CHUNKS) :]) == b""
    assert DECODERS[coding](raw) == b"".join(CHUNKS)


def test_stream_not_compressed_when_client_does_not_ask():
    with TestClient(stream_api("async", "gzip")) as client:
        response, raw, _ = raw_get(client, "/stream", "identity")
    assert ("content-encoding" in response.headers, response.headers["vary"], raw) == (
        False,
        "accept-encoding",
        b"".join(CHUNKS),
    )


@pytest.mark.parametrize(
    ("backend", "coding"),
    [
        pytest.param("gzip", "gzip", id="gzip"),
        pytest.param("brotli", "br", id="brotli"),
        pytest.param("zstd", "zstd", id="zstd"),
    ],
)
def test_sse_events_each_arrive_decodable(backend, coding):
    api = BoltAPI(compression=CompressionConfig(backend=backend))

    @api.get("/events")
    async def events() -> EventSourceResponse:
        async def gen():
            for n in range(3):
                yield ServerSentEvent(event="tick", data={"n": n})

        return EventSourceResponse(gen(), ping_interval=None)

    with TestClient(api) as client:
        response, _, raw_chunks = raw_get(client, "/events", coding)
    assert response.headers["content-encoding"] == coding
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    decode = stream_decoder(coding)
    decoded = [decode(chunk) for chunk in raw_chunks]
    assert decoded[:3] == [f'event: tick\ndata: {{"n":{n}}}\n\n'.encode() for n in range(3)]


# --- through the real server ---------------------------------------------------------------------

PROJECT = Path(__file__).parent / "compressproj"


def _read_chunk(reader):
    size = int(reader.readline().split(b";")[0], 16)
    data = reader.read(size)
    assert reader.read(2) == b"\r\n"
    return data


@pytest.mark.integration
def test_guide_settings_through_runbolt(run_bolt):
    server = run_bolt(cwd=PROJECT)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", "/big", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "gzip"
        assert response.getheader("Vary") == "accept-encoding"
        assert int(response.getheader("Content-Length")) == len(body)
        assert (
            gzip.decompress(body)
            == b'{"numbers":[' + b",".join(str(i).encode() for i in range(1000)) + b"]}"
        )
    finally:
        conn.close()

    # The SSE stream holds its second event until /release is asked: the first one can only
    # be read (and decoded) here if the server flushed it compressed on its own.
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n")
        reader = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            assert line, "connection closed in the head"
            head += line
        assert b"content-encoding: gzip\r\n" in head.lower()
        assert b"transfer-encoding: chunked\r\n" in head.lower()
        decode = zlib.decompressobj(31)
        text = b""
        while b"\n\n" not in text:
            chunk = _read_chunk(reader)
            assert chunk, "stream ended before the first event"
            text += decode.decompress(chunk)
        assert text == b'event: first\ndata: {"n":1}\n\n'
        assert server.get("/release").status == 200
        rest = b""
        while True:
            chunk = _read_chunk(reader)
            if not chunk:
                break
            rest += decode.decompress(chunk)
        rest += decode.flush()
        assert rest == b'event: second\ndata: {"n":2}\n\n'
        assert decode.eof
