"""FileResponse: content, validators, 304, ranges (206/416), allowed roots and traversal."""

import pytest

from django_bolt import BoltAPI, FileResponse
from django_bolt._http.files import CHUNK_BYTES, INLINE_READ_MAX_BYTES
from django_bolt.testing import TestClient

SMALL = b"0123456789" * 10
LARGE = bytes(range(256)) * ((INLINE_READ_MAX_BYTES + CHUNK_BYTES) // 256 + 7)


@pytest.fixture
def files(tmp_path, settings):
    public = tmp_path / "public"
    public.mkdir()
    (public / "small.txt").write_bytes(SMALL)
    (public / "large.bin").write_bytes(LARGE)
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (public / "link.txt").symlink_to(tmp_path / "secret.txt")
    settings.BOLT_ALLOWED_FILE_PATHS = [str(public)]

    api = BoltAPI()

    @api.get("/files/{name:path}")
    async def serve(name: str):
        return FileResponse(public / name)

    @api.get("/by-query")
    async def by_query(name: str):
        return FileResponse(public / name)

    @api.get("/download")
    async def download():
        return FileResponse(public / "small.txt", filename="résumé.txt")

    with TestClient(api) as client:
        yield client


def test_small_file(files):
    response = files.get("/files/small.txt")
    assert response.status_code == 200
    assert response.content == SMALL
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    assert "last-modified" in response.headers


def test_large_file_is_streamed(files):
    with files.stream("GET", "/files/large.bin") as response:
        # Read in pieces, yet sent with its size declared rather than chunked.
        assert response.headers["content-length"] == str(len(LARGE))
        assert "transfer-encoding" not in response.headers
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == LARGE
    assert len(chunks) > 1


def test_attachment_filename(files):
    disposition = files.get("/download").headers["content-disposition"]
    assert disposition == "attachment; filename=\"rsum.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"


def test_if_none_match_gives_304(files):
    etag = files.get("/files/small.txt").headers["etag"]
    response = files.get("/files/small.txt", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_if_modified_since_gives_304(files):
    last_modified = files.get("/files/small.txt").headers["last-modified"]
    response = files.get("/files/small.txt", headers={"if-modified-since": last_modified})
    assert response.status_code == 304


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        pytest.param("bytes=0-9", 206, "bytes 0-9/100", SMALL[:10], id="first"),
        pytest.param("bytes=95-", 206, "bytes 95-99/100", SMALL[95:], id="open-end"),
        pytest.param("bytes=-3", 206, "bytes 97-99/100", SMALL[-3:], id="suffix"),
        pytest.param("bytes=90-500", 206, "bytes 90-99/100", SMALL[90:], id="clamped"),
        pytest.param("bytes=0-1,5-6", 200, None, SMALL, id="multi-range-whole"),
        pytest.param("bytes=100-", 416, "bytes */100", b"", id="unsatisfiable"),
        pytest.param("items=0-1", 200, None, SMALL, id="other-unit"),
    ],
)
def test_ranges(files, header, status, content_range, body):
    response = files.get("/files/small.txt", headers={"range": header})
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    assert response.content == body


def test_large_range_is_streamed(files):
    start = INLINE_READ_MAX_BYTES - 5
    response = files.get("/files/large.bin", headers={"range": f"bytes={start}-"})
    assert response.status_code == 206
    assert response.content == LARGE[start:]


def test_if_range_mismatch_sends_whole_file(files):
    response = files.get("/files/small.txt", headers={"range": "bytes=0-1", "if-range": '"old"'})
    assert response.status_code == 200
    assert response.content == SMALL


@pytest.mark.parametrize(
    ("name", "status"),
    [
        pytest.param("missing.txt", 404, id="missing"),
        pytest.param("..%2Fsecret.txt", 403, id="encoded-dot-dot"),
        pytest.param("link.txt", 403, id="symlink-out"),
        pytest.param("", 404, id="directory"),
    ],
)
def test_outside_or_missing(files, name, status):
    assert files.get(f"/files/{name}").status_code == status


def test_dot_dot_in_a_query_value_is_refused(files):
    assert files.get("/by-query", params={"name": "../secret.txt"}).status_code == 403
    assert files.get("/by-query", params={"name": "small.txt"}).content == SMALL
