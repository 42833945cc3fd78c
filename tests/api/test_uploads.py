"""Multipart forms and uploads: UploadFile, File() limits, form fields beside files."""

from typing import Annotated

import pytest

from django_bolt import BoltAPI, File, Form, Request, UploadFile
from django_bolt.datastructures import SPOOL_MAX_BYTES
from django_bolt.testing import TestClient

api = BoltAPI()


@api.post("/upload")
async def upload(document: UploadFile, title: Annotated[str, Form()]):
    content = await document.read()
    return {
        "title": title,
        "name": document.filename,
        "type": document.content_type,
        "size": len(content),
    }


@api.post("/many")
async def many(
    images: Annotated[list[UploadFile], File(max_files=2, allowed_types=["image/*"], max_size=100)],
):
    return [{"name": f.filename, "size": f.size} for f in images]


@api.post("/optional")
async def optional(attachment: Annotated[UploadFile | None, File(min_size=2)] = None):
    return {"given": attachment is not None}


@api.post("/big")
async def big(blob: UploadFile):
    on_disk = not blob.file._in_memory if hasattr(blob.file, "_in_memory") else blob.file._rolled
    head = await blob.read(4)
    await blob.seek(0)
    whole = await blob.read()
    await blob.close()
    return {"on_disk": on_disk, "head": head.decode(), "size": len(whole)}


@api.post("/raw-form")
async def raw_form(request: Request):
    form = request.form()
    return {"fields": dict(form.fields), "files": sorted(request.files)}


@pytest.fixture(scope="module")
def client():
    with TestClient(api) as client:
        yield client


def test_file_and_field(client):
    response = client.post(
        "/upload",
        data={"title": "report"},
        files={"document": ("r.pdf", b"%PDF-1.7 body", "application/pdf")},
    )
    assert response.json() == {
        "title": "report",
        "name": "r.pdf",
        "type": "application/pdf",
        "size": 13,
    }


def test_missing_file(client):
    (item,) = client.post("/upload", data={"title": "x"}, files={"other": ("a", b"1")}).json()[
        "detail"
    ]
    assert item == {
        "loc": ["file", "document"],
        "msg": "Missing required file `document`",
        "type": "missing_field",
    }


def test_several_files(client):
    files = [("images", ("a.png", b"1", "image/png")), ("images", ("b.jpg", b"22", "image/jpeg"))]
    assert client.post("/many", files=files).json() == [
        {"name": "a.png", "size": 1},
        {"name": "b.jpg", "size": 2},
    ]


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        pytest.param(
            [("images", ("a.png", b"1", "image/png"))] * 3, "too_many_files", id="max-files"
        ),
        pytest.param([("images", ("a.txt", b"1", "text/plain"))], "file_type", id="type"),
        pytest.param(
            [("images", ("a.png", b"x" * 101, "image/png"))], "file_too_large", id="max-size"
        ),
    ],
)
def test_file_limits(client, files, kind):
    response = client.post("/many", files=files)
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert (item["loc"], item["type"]) == (["file", "images"], kind)


def test_optional_file_and_min_size(client):
    assert client.post("/optional", data={"x": "1"}).json() == {"given": False}
    assert client.post("/optional", files={"attachment": ("a", b"12")}).json() == {"given": True}
    (item,) = client.post("/optional", files={"attachment": ("a", b"1")}).json()["detail"]
    assert item["type"] == "file_too_small"


def test_large_upload_spools_to_disk(client):
    payload = b"abcd" + b"x" * (SPOOL_MAX_BYTES + 10)
    response = client.post("/big", files={"blob": ("big.bin", payload)})
    assert response.json() == {"on_disk": True, "head": "abcd", "size": len(payload)}


def test_request_form_and_files(client):
    response = client.post("/raw-form", data={"a": "1", "b": "é"}, files={"f": ("f.txt", b"x")})
    assert response.json() == {"fields": {"a": "1", "b": "é"}, "files": ["f"]}


def test_malformed_multipart_is_400(client):
    response = client.post(
        "/raw-form", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Multipart body without a boundary"}


def test_get_handler_with_file_is_a_registration_error():
    bad = BoltAPI()

    @bad.get("/x")
    async def handler(f: UploadFile):
        return {}

    with pytest.raises(TypeError, match="files"):
        bad.compile()


def test_invalid_part_header_is_400(client):
    body = b'--zzz\r\nContent-Disposition: form-data; name="a"\r\nbad header line\r\n\r\nx'
    response = client.post(
        "/raw-form", content=body, headers={"content-type": "multipart/form-data; boundary=zzz"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid multipart body")
