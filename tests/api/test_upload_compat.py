"""Django-Bolt 0.13 upload behaviour: ``File(allowed_types=...)`` is checked when the marker is
made, and ``UploadFile.file`` is a Django ``File`` that a storage or a ``FileField`` can save."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from django.core.files import File as DjangoFile
from django.core.files.storage import FileSystemStorage
from django.test import override_settings

from django_bolt import BoltAPI, File, UploadFile
from django_bolt.datastructures import SPOOL_MAX_BYTES
from django_bolt.testing import TestClient
from tests.serializers.models import Attachment

# --- File(allowed_types=...) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "allowed",
    [
        pytest.param(["image/*", "application/pdf"], id="list"),
        pytest.param(("image/*", "application/pdf"), id="tuple"),
        pytest.param(iter(["image/*", "application/pdf"]), id="iterator"),
        pytest.param((t for t in ["image/*", "application/pdf"]), id="generator"),
        pytest.param(dict.fromkeys(["image/*", "application/pdf"]), id="dict-keys"),
    ],
)
def test_allowed_types_accepts_any_iterable_and_freezes_it(allowed):
    marker = File(allowed_types=allowed)
    assert marker.allowed_types == ("image/*", "application/pdf")
    assert isinstance(marker.allowed_types, tuple)


def test_allowed_types_set_is_kept_as_tuple():
    marker = File(allowed_types={"image/png"})
    assert marker.allowed_types == ("image/png",)


def test_allowed_types_omitted_allows_each_type():
    assert File().allowed_types is None
    assert File(allowed_types=None).allowed_types is None


@pytest.mark.parametrize("allowed", ["image/*", ""], ids=["str", "empty-str"])
def test_allowed_types_str_is_type_error(allowed):
    with pytest.raises(TypeError, match="allowed_types"):
        File(allowed_types=allowed)


@pytest.mark.parametrize(
    "allowed",
    [
        pytest.param(["image/*", 3], id="int-item"),
        pytest.param([b"image/png"], id="bytes-item"),
        pytest.param([None], id="none-item"),
        pytest.param(b"image/png", id="bytes"),
        pytest.param(42, id="not-iterable"),
    ],
)
def test_allowed_types_non_str_item_is_type_error(allowed):
    with pytest.raises(TypeError, match="allowed_types"):
        File(allowed_types=allowed)


@pytest.mark.parametrize(
    "allowed",
    [[], (), set(), iter([])],
    ids=["list", "tuple", "set", "iterator"],
)
def test_allowed_types_empty_is_value_error(allowed):
    with pytest.raises(ValueError, match="allowed_types"):
        File(allowed_types=allowed)


# A one-shot iterator: 0.13 reads it once, so each request sees the same types.
checked = BoltAPI()


@checked.post("/avatar")
async def avatar(
    upload: Annotated[UploadFile, File(allowed_types=iter(["image/*", "application/pdf"]))],
) -> dict[str, Any]:
    return {"name": upload.filename, "type": upload.content_type}


@pytest.fixture(scope="module")
def checked_client():
    with TestClient(checked) as client:
        yield client


def test_iterator_allowed_types_hold_for_every_request(checked_client):
    for _ in range(3):
        response = checked_client.post(
            "/avatar", files={"upload": ("a.png", b"\x89PNG", "image/png")}
        )
        assert response.status_code == 200, response.text
        response = checked_client.post(
            "/avatar", files={"upload": ("a.pdf", b"%PDF", "application/pdf")}
        )
        assert response.status_code == 200, response.text
    refused = checked_client.post("/avatar", files={"upload": ("a.txt", b"x", "text/plain")})
    assert refused.status_code == 422
    (item,) = refused.json()["detail"]
    assert item["type"] == "file_invalid_content_type"
    assert item["ctx"] == {
        "allowed_types": ["image/*", "application/pdf"],
        "actual_type": "text/plain",
    }


# --- UploadFile.file is a Django File ---------------------------------------------------------


stored = BoltAPI()
seen: dict[str, Any] = {}


@stored.post("/describe")
async def describe(upload: UploadFile) -> dict[str, Any]:
    head = await upload.read(4)
    await upload.seek(0)
    return {
        "is_django_file": isinstance(upload.file, DjangoFile),
        "name": upload.file.name,
        "filename": upload.filename,
        "size": upload.size,
        "type": upload.content_type,
        "head": head.decode(),
        "sync_read": upload.file.read().decode(),
    }


@stored.post("/storage")
def to_storage(upload: UploadFile) -> dict[str, Any]:
    storage = FileSystemStorage(location=seen["root"])
    name = storage.save(upload.file.name, upload.file)
    seen["upload"] = upload
    return {"name": name, "path": storage.path(name)}


@stored.post("/model")
def to_model(upload: UploadFile) -> dict[str, Any]:
    # What Model.save() does with a FileField before it writes the row (the test model has no
    # table): commit the assigned file to the field's storage.
    instance = Attachment()
    instance.upload = upload.file
    Attachment._meta.get_field("upload").pre_save(instance, add=True)
    return {"name": instance.upload.name, "path": instance.upload.path}


@pytest.fixture(scope="module")
def stored_client():
    with TestClient(stored) as client:
        yield client


def test_file_is_a_named_django_file(stored_client):
    response = stored_client.post(
        "/describe", files={"upload": ("report.txt", b"hello world", "text/plain")}
    )
    assert response.json() == {
        "is_django_file": True,
        "name": "report.txt",
        "filename": "report.txt",
        "size": 11,
        "type": "text/plain",
        "head": "hell",
        "sync_read": "hello world",
    }


@pytest.mark.parametrize(
    "payload",
    [b"small upload", b"L" * (SPOOL_MAX_BYTES + 4096)],
    ids=["in-memory", "on-disk"],
)
def test_file_saves_to_storage(stored_client, tmp_path, payload):
    seen["root"] = str(tmp_path / "media")
    response = stored_client.post("/storage", files={"upload": ("notes.bin", payload)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "notes.bin"
    assert Path(body["path"]).read_bytes() == payload
    upload = seen.pop("upload")
    if len(payload) > SPOOL_MAX_BYTES:
        # A spooled body's parts are closed with it, after the response.
        assert upload.file.closed


@pytest.mark.parametrize(
    "client_name", ["../../etc/passwd", "/abs/dir/passwd", "..\\..\\passwd"], ids=str
)
def test_client_path_does_not_escape_storage(stored_client, tmp_path, client_name):
    root = tmp_path / "media"
    seen["root"] = str(root)
    response = stored_client.post("/storage", files={"upload": (client_name, b"secret")})
    assert response.status_code == 200, response.text
    path = Path(response.json()["path"]).resolve()
    assert path.is_relative_to(root.resolve())
    assert path.read_bytes() == b"secret"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]


def test_file_assigned_to_model_file_field_is_saved(stored_client, tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        response = stored_client.post(
            "/model", files={"upload": ("photo.jpg", b"\xff\xd8jpeg", "image/jpeg")}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "photo.jpg"
    assert Path(body["path"]).read_bytes() == b"\xff\xd8jpeg"
