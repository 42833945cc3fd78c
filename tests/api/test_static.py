"""STATIC_ROOT and MEDIA_ROOT served by our own server when DEBUG is off (_django/static.py)."""

from __future__ import annotations

import asyncio
import gzip
import importlib.util
import json
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.staticfiles import finders

from django_bolt import BoltAPI
from django_bolt._http.files import INLINE_READ_MAX_BYTES
from django_bolt.request import Request

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.testing import TestClient

NOT_FOUND = {"detail": "Not Found"}
CSS = b"body { color: #123456; }\n" * 40
BIG = bytes(range(256)) * (2 * INLINE_READ_MAX_BYTES // 256 + 3)
HAS_BROTLI = importlib.util.find_spec("brotli") is not None
IDENTITY = {"accept-encoding": "identity"}
REVALIDATE = "public, max-age=0, must-revalidate"
REVALIDATE_PRIVATE = "private, max-age=0, must-revalidate"
BAD_REQUEST = {"detail": "Bad Request"}
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def roots(tmp_path: Path, settings: Any) -> Path:
    """STATIC_ROOT and MEDIA_ROOT in a tmp dir, with a secret next to them (not inside)."""
    static = tmp_path / "static"
    media = tmp_path / "media"
    (static / "css").mkdir(parents=True)
    (static / "empty-dir").mkdir()
    media.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"TOP-SECRET")
    (static / "css" / "site.css").write_bytes(CSS)
    (static / "css" / "site.css.gz").write_bytes(gzip.compress(CSS))
    if HAS_BROTLI:
        import brotli

        (static / "css" / "site.css.br").write_bytes(brotli.compress(CSS))
    (static / "css" / "plain.css").write_bytes(b"p{}")
    (static / "app.0123456789ab.js").write_bytes(b"console.log(1);")
    (static / "listed-v2.js").write_bytes(b"console.log(2);")
    (static / "big.bin").write_bytes(BIG)
    (static / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"listed.js": "listed-v2.js"}})
    )
    (static / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (static / "css" / "leak.css.gz").write_bytes(b"not used")
    (static / "css" / "leak.css").write_bytes(b"ok")
    (static / "css" / "leak.css.br").symlink_to(tmp_path / "secret.txt")
    (static / "alias.css").symlink_to(static / "css" / "plain.css")
    (media / "upload.txt").write_bytes(b"uploaded")
    (static / ".env").write_bytes(b"SECRET=static-env")
    (static / ".git").mkdir()
    (static / ".git" / "config").write_bytes(b"SECRET=git")
    (static / "css" / ".hidden.css").write_bytes(b"SECRET=hidden")
    (media / "photo.0123456789ab.jpg").write_bytes(b"\xff\xd8jpeg")
    settings.DEBUG = False
    settings.STATIC_URL = "/static/"
    settings.STATIC_ROOT = str(static)
    settings.MEDIA_URL = "/media/"
    settings.MEDIA_ROOT = str(media)
    return tmp_path


@pytest.fixture
def client(roots: Path, bolt_client_factory: Callable[..., TestClient]) -> TestClient:
    api = BoltAPI()

    @api.get("/static/api-owned")
    async def owned() -> dict[str, str]:
        return {"from": "api"}

    return bolt_client_factory(api)


def test_static_file_is_served_with_validators(client: TestClient) -> None:
    response = client.get("/static/css/plain.css")
    assert response.status_code == 200
    assert response.content == b"p{}"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["content-length"] == "3"
    assert response.headers["etag"].startswith('"')
    assert "last-modified" in response.headers
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == REVALIDATE
    assert "vary" not in response.headers
    assert "content-encoding" not in response.headers


def test_head_has_headers_and_no_body(client: TestClient) -> None:
    response = client.head("/static/css/plain.css")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "3"
    assert response.headers["content-type"] == "text/css; charset=utf-8"


def test_media_file_is_served(client: TestClient) -> None:
    response = client.get("/media/upload.txt")
    assert response.status_code == 200
    assert response.content == b"uploaded"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == REVALIDATE_PRIVATE
    assert response.headers["x-content-type-options"] == "nosniff"


def test_if_none_match_gives_304(client: TestClient) -> None:
    etag = client.get("/static/css/plain.css").headers["etag"]
    response = client.get("/static/css/plain.css", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == REVALIDATE
    other = client.get("/static/css/plain.css", headers={"if-none-match": '"other"'})
    assert other.status_code == 200


def test_if_modified_since_gives_304(client: TestClient, roots: Path) -> None:
    last_modified = client.get("/static/css/plain.css").headers["last-modified"]
    response = client.get("/static/css/plain.css", headers={"if-modified-since": last_modified})
    assert response.status_code == 304
    mtime = (roots / "static" / "css" / "plain.css").stat().st_mtime
    older = formatdate(mtime - 3600, usegmt=True)
    assert (
        client.get("/static/css/plain.css", headers={"if-modified-since": older}).status_code == 200
    )


def test_range_gives_206(client: TestClient) -> None:
    response = client.get("/static/css/site.css", headers={"range": "bytes=5-9", **IDENTITY})
    assert response.status_code == 206
    assert response.content == CSS[5:10]
    assert response.headers["content-range"] == f"bytes 5-9/{len(CSS)}"
    assert response.headers["content-length"] == "5"


def test_range_of_a_large_file_is_streamed(client: TestClient) -> None:
    start = INLINE_READ_MAX_BYTES + 10
    response = client.get("/static/big.bin", headers={"range": f"bytes={start}-"})
    assert response.status_code == 206
    assert response.content == BIG[start:]
    assert response.headers["content-range"] == f"bytes {start}-{len(BIG) - 1}/{len(BIG)}"
    assert client.get("/static/big.bin").content == BIG


def test_unsatisfiable_range_gives_416(client: TestClient) -> None:
    response = client.get("/static/css/plain.css", headers={"range": "bytes=100-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */3"


def test_gzip_sibling_when_accepted(client: TestClient) -> None:
    response = client.get("/static/css/site.css", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["vary"] == "accept-encoding"
    # The bytes sent are the .gz file's (httpx decodes them back for .content).
    assert response.headers["content-length"] == str(len(gzip.compress(CSS)))
    assert response.content == CSS


def test_gzip_sibling_has_its_own_etag_and_304(client: TestClient) -> None:
    plain = client.get("/static/css/site.css", headers=IDENTITY).headers["etag"]
    gzipped = client.get("/static/css/site.css", headers={"accept-encoding": "gzip"})
    assert gzipped.headers["etag"] != plain
    again = client.get(
        "/static/css/site.css",
        headers={"accept-encoding": "gzip", "if-none-match": gzipped.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.headers["vary"] == "accept-encoding"


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "deflate", "", "*;q=0"])
def test_original_when_no_sibling_is_accepted(client: TestClient, accept: str) -> None:
    response = client.get("/static/css/site.css", headers={"accept-encoding": accept})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.content == CSS
    assert response.headers["content-length"] == str(len(CSS))
    # Another client would have got the sibling: caches must key on Accept-Encoding.
    assert response.headers["vary"] == "accept-encoding"


@pytest.mark.skipif(not HAS_BROTLI, reason="brotli is not installed (pip install brotli)")
@pytest.mark.parametrize("accept", ["gzip, deflate, br", "br", "*"])
def test_brotli_sibling_is_preferred(client: TestClient, accept: str) -> None:
    import brotli

    response = client.get("/static/css/site.css", headers={"accept-encoding": accept})
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["content-length"] == str(len(brotli.compress(CSS)))
    assert response.content == CSS


def test_star_without_refused_gzip_picks_gzip(client: TestClient) -> None:
    accept = "*, br;q=0" if HAS_BROTLI else "*"
    response = client.get("/static/css/site.css", headers={"accept-encoding": accept})
    assert response.headers["content-encoding"] == "gzip"


def test_sibling_symlinked_out_of_the_root_is_ignored(client: TestClient) -> None:
    response = client.get("/static/css/leak.css", headers={"accept-encoding": "br"})
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "content-encoding" not in response.headers


def test_compressed_file_asked_for_by_name(client: TestClient) -> None:
    response = client.get("/static/css/site.css.gz", headers=IDENTITY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in response.headers
    assert gzip.decompress(response.content) == CSS


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/static/app.0123456789ab.js", IMMUTABLE),
        ("/static/listed-v2.js", IMMUTABLE),
        ("/static/css/plain.css", REVALIDATE),
        ("/media/photo.0123456789ab.jpg", REVALIDATE_PRIVATE),
    ],
)
def test_cache_control_hashed_and_not(client: TestClient, path: str, policy: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == policy


def test_symlink_inside_the_root_is_followed(client: TestClient) -> None:
    response = client.get("/static/alias.css")
    assert response.status_code == 200
    assert response.content == b"p{}"


DOT_SEGMENTS = [
    "/static/%2e%2e/secret.txt",
    "/static/%2E%2E/secret.txt",
    "/static/css/%2e%2e/%2e%2e/secret.txt",
    "/static/css/..%2f..%2fsecret.txt",
    "/static/%2e/css/plain.css",
    "/media/%2e%2e/secret.txt",
    "/media/%2e%2e/static/css/plain.css",
]
TRAVERSALS = [
    "/static/..%5csecret.txt",
    "/static/css%5c..%5c..%5csecret.txt",
    "/static/css\\..\\..\\secret.txt",
    "/static/%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/css/plain.css%00",
    "/static/css/plain.css%00.png",
    "/static/%ff%fe.css",
    "/static/leak.txt",
]


@pytest.mark.parametrize("path", DOT_SEGMENTS)
def test_dot_segments_are_400(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST
    assert response.headers["x-content-type-options"] == "nosniff"
    assert b"SECRET" not in response.content


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert b"SECRET" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/static/.env",
        "/static/.git/config",
        "/static/css/.hidden.css",
        "/static/%2eenv",
        "/static/%2egit%2fconfig",
        "/static/css%5c.hidden.css",
    ],
)
def test_static_dotfiles_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert response.headers["x-content-type-options"] == "nosniff"
    assert b"SECRET" not in response.content


@pytest.mark.parametrize(
    "path", ["/static/css/plain.css", "/static/app.0123456789ab.js", "/static/css/site.css"]
)
def test_static_answers_carry_nosniff(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    etag = response.headers["etag"]
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.headers["x-content-type-options"] == "nosniff"


def _raw_get(api: BoltAPI, target: bytes) -> Any:
    """A request with a literal target: httpx removes "..", as browsers do, but curl
    --path-as-is and attackers do not, and the server passes the target on untouched."""
    request = Request(
        "GET", target, [(b"host", b"testserver")], b"", ("127.0.0.1", 1), "http",
        ("testserver", 80), "1.1",
    )  # fmt: skip
    return asyncio.run(api.dispatch(request))


@pytest.mark.parametrize(
    ("target", "status", "body"),
    [
        (b"/static/../secret.txt", 400, BAD_REQUEST),
        (b"/static/css/../../secret.txt", 400, BAD_REQUEST),
        (b"/static/./css/plain.css", 400, BAD_REQUEST),
        (b"/media/../secret.txt", 400, BAD_REQUEST),
        (b"/static/css/\x00plain.css", 404, NOT_FOUND),
    ],
)
def test_literal_dot_segments_are_400(
    roots: Path, target: bytes, status: int, body: dict[str, str]
) -> None:
    response = _raw_get(BoltAPI(django_fallthrough=False), target)
    assert response.status_code == status
    assert json.loads(response.body) == body


@pytest.mark.parametrize("path", ["/static/empty-dir", "/static/empty-dir/", "/static/css"])
def test_directory_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("path", ["/static/missing.css", "/media/nope/x.png", "/static/"])
def test_missing_is_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_api_route_under_static_url_wins(client: TestClient) -> None:
    assert client.get("/static/api-owned").json() == {"from": "api"}


def test_served_without_the_django_fallthrough(
    roots: Path, bolt_client_factory: Callable[..., TestClient]
) -> None:
    client = bolt_client_factory(BoltAPI(django_fallthrough=False))
    assert client.get("/static/css/plain.css").content == b"p{}"
    assert client.get("/static/missing.css").json() == NOT_FOUND


def test_not_served_without_roots(
    roots: Path, settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.STATIC_ROOT = None
    settings.MEDIA_ROOT = ""
    client = bolt_client_factory(BoltAPI())
    assert client.get("/static/css/plain.css").status_code == 404
    assert client.get("/media/upload.txt").status_code == 404


def test_static_url_on_another_host_is_not_served(
    roots: Path, settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.STATIC_URL = "https://cdn.example.com/static/"
    client = bolt_client_factory(BoltAPI())
    assert client.get("/static/css/plain.css").status_code == 404
    assert client.get("/media/upload.txt").status_code == 200


def test_debug_keeps_the_finders(
    roots: Path, settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.DEBUG = True
    client = bolt_client_factory(BoltAPI())
    found = finders.find("admin/css/base.css")
    assert found is not None
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.content == Path(found).read_bytes()
    # Only collectstatic's copy has this file; the finders do not know it.
    assert client.get("/static/css/plain.css").status_code == 404
    # MEDIA_ROOT is served in DEBUG too (Django-Bolt 0.13's runbolt --dev does).
    assert client.get("/media/upload.txt").status_code == 200


def test_post_is_not_served(client: TestClient) -> None:
    response = client.post("/static/css/plain.css")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
