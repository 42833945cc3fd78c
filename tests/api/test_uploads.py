"""Multipart forms and uploads: UploadFile, File() limits, form fields beside files."""

import hashlib
import random
from typing import Annotated, Any

import pytest
from django.test import override_settings

from django_bolt import BoltAPI, File, Form, Request, UploadFile
from django_bolt.datastructures import SPOOL_MAX_BYTES
from django_bolt.testing import TestClient

api = BoltAPI()
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


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
    on_disk = blob.rolled_to_disk
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
        "loc": ["body", "document"],
        "msg": "Missing required file",
        "type": "file_missing",
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
            [("images", ("a.png", b"1", "image/png"))] * 3, "file_too_many", id="max-files"
        ),
        pytest.param(
            [("images", ("a.txt", b"1", "text/plain"))], "file_invalid_content_type", id="type"
        ),
        pytest.param(
            [("images", ("a.png", b"x" * 101, "image/png"))], "file_too_large", id="max-size"
        ),
    ],
)
def test_file_limits(client, files, kind):
    response = client.post("/many", files=files)
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert (item["loc"], item["type"]) == (["body", "images"], kind)


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

    # Refused by the decorator, as in Django-Bolt 0.13.
    with pytest.raises(TypeError, match="GET handler cannot take a request body"):

        @bad.get("/x")
        async def handler(f: UploadFile):
            return {}


def test_invalid_part_header_is_400(client):
    body = b'--zzz\r\nContent-Disposition: form-data; name="a"\r\nbad header line\r\n\r\nx'
    response = client.post(
        "/raw-form", content=body, headers={"content-type": "multipart/form-data; boundary=zzz"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid multipart body")


# --- large uploads: parsed from the spooled body, parts on disk, limits while parsing ---------

MIB = 1024 * 1024
kept: list[Any] = []


def blob(size: int, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(size)


@api.post("/digest")
async def digest_upload(
    blob: UploadFile, note: Annotated[UploadFile | None, File()] = None
) -> dict[str, Any]:
    kept.extend([blob, note] if note is not None else [blob])
    sha = hashlib.sha256()
    while chunk := await blob.read(256 * 1024):
        sha.update(chunk)
    return {
        "size": blob.size,
        "sha256": sha.hexdigest(),
        "on_disk": blob.rolled_to_disk,
        "note_on_disk": note.rolled_to_disk if note is not None else None,
    }


@api.post("/capped")
async def capped(
    blob: Annotated[UploadFile, File(max_size=100_000)], title: Annotated[str, Form()]
) -> dict[str, Any]:
    return {"size": blob.size, "title": title}


@api.post("/limits-seen")
async def limits_seen(request: Request) -> dict[str, Any]:
    """What the parser stored when told the limits binding would pass."""
    form = request.form({"blob": File(max_size=1000), "pics": File(max_files=1)})
    return {
        name: [
            {"size": f.size, "stored": len(await f.read()), "on_disk": f.rolled_to_disk}
            for f in uploads
        ]
        for name, uploads in form.files.items()
    }


@pytest.fixture
def _no_kept():
    kept.clear()
    yield
    kept.clear()


@pytest.mark.usefixtures("_no_kept")
def test_a_large_upload_is_parsed_from_the_spooled_body(client):
    data = blob(3 * MIB + 7)
    response = client.post(
        "/digest", files={"blob": ("big.bin", data), "note": ("n.txt", b"small part")}
    )
    assert response.json() == {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "on_disk": True,  # past BOLT_MEMORY_SPOOL_THRESHOLD (1 MiB)
        "note_on_disk": False,
    }
    # Every part's file is closed with the request's body after the response.
    assert len(kept) == 2
    assert all(upload.file.closed for upload in kept)


@pytest.mark.usefixtures("_no_kept")
def test_parts_of_a_body_kept_in_memory_stay_in_memory(client):
    with override_settings(BOLT_MEMORY_SPOOL_THRESHOLD=10):
        response = client.post("/digest", files={"blob": ("a.bin", b"y" * 5000)})
    assert response.json()["on_disk"] is False


@pytest.mark.usefixtures("_no_kept")
@pytest.mark.parametrize(("threshold", "on_disk"), [(8 * MIB, False), (0, True)])
def test_the_memory_spool_threshold_is_a_setting(client, threshold, on_disk):
    with override_settings(BOLT_MEMORY_SPOOL_THRESHOLD=threshold):
        response = client.post(
            "/digest", files={"blob": ("a.bin", blob(3 * MIB)), "note": ("n", b"tiny")}
        )
    assert (response.json()["on_disk"], response.json()["note_on_disk"]) == (on_disk, on_disk)


def test_an_oversize_part_is_refused_with_the_usual_422(client):
    response = client.post(
        "/capped", data={"title": "t"}, files={"blob": ("big.bin", blob(3 * MIB))}
    )
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item == {
        "loc": ["body", "blob"],
        "msg": "File exceeds maximum size of 100000 bytes",
        "type": "file_too_large",
        "ctx": {"max_size": 100000, "actual_size": item["ctx"]["actual_size"]},
    }
    assert item["ctx"]["actual_size"] > 100000


def test_an_oversize_part_stops_being_stored_while_it_is_parsed(client):
    files = [
        ("blob", ("big.bin", blob(3 * MIB))),
        ("pics", ("a.png", b"a" * 10)),
        ("pics", ("b.png", b"b" * 20)),
    ]
    assert client.post("/limits-seen", files=files).json() == {
        # The size is counted, the bytes past max_size were never written (nor rolled to disk).
        "blob": [{"size": 3 * MIB, "stored": 0, "on_disk": False}],
        # Beyond max_files a part is only counted.
        "pics": [
            {"size": 10, "stored": 10, "on_disk": False},
            {"size": 20, "stored": 0, "on_disk": False},
        ],
    }


def test_a_part_within_its_limit_is_stored_whole(client):
    assert client.post("/limits-seen", files={"blob": ("s.bin", b"s" * 1000)}).json() == {
        "blob": [{"size": 1000, "stored": 1000, "on_disk": False}]
    }


MULTIPART = {"content-type": "multipart/form-data; boundary=zzz"}
GOOD_PART = b'--zzz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not multipart at all", id="garbage"),
        pytest.param(GOOD_PART.replace(b"zzz", b"yyy") + b"--yyy--\r\n", id="other-boundary"),
        pytest.param(GOOD_PART, id="no-closing-boundary"),
        pytest.param(GOOD_PART[:30], id="cut-in-headers"),
        pytest.param(
            b'--zzz\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
            + b"x" * (2 * MIB),
            id="large-and-truncated",
        ),
        pytest.param(
            b"--zzz\r\nX-Long: " + b"h" * 10_000 + b"\r\n\r\nv\r\n--zzz--\r\n",
            id="huge-part-header",
        ),
    ],
)
def test_malformed_multipart_is_a_400_never_a_500(client, body):
    response = client.post("/raw-form", content=body, headers=MULTIPART)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(("Invalid multipart body", "Multipart part"))


def test_a_well_formed_body_with_the_same_shapes_parses(client):
    response = client.post("/raw-form", content=GOOD_PART + b"--zzz--\r\n", headers=MULTIPART)
    assert response.json() == {"fields": {"a": "value"}, "files": []}


def test_other_content_types_give_an_empty_form(client):
    response = client.post("/raw-form", json={"a": "1"})
    assert response.json() == {"fields": {}, "files": []}


@pytest.mark.parametrize("large", [False, True], ids=["in-memory", "spooled"])
def test_an_urlencoded_body_over_data_upload_max_memory_size_is_413(client, large):
    size = 3 * MIB if large else 200
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2 * MIB if large else 100):
        response = client.post("/raw-form", content=b"a=" + b"x" * size, headers=URLENCODED)
    assert response.status_code == 413
    cap = 2 * MIB if large else 100
    assert response.json() == {
        "detail": f"Form body exceeds {cap} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
    }


def test_multipart_fields_count_against_data_upload_max_memory_size(client):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        response = client.post("/raw-form", data={"a": "x" * 60, "b": "y" * 60})
        # Files do not count against it.
        ok = client.post("/raw-form", data={"a": "x"}, files={"f": ("f", b"z" * 1000)})
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    assert ok.json() == {"fields": {"a": "x"}, "files": ["f"]}


def _too_many_fields(most: int) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["body"],
            "msg": f"Too many fields: more than {most} (DATA_UPLOAD_MAX_NUMBER_FIELDS)",
            "type": "too_many_fields",
            "ctx": {"max_fields": most},
        }
    ]


def test_too_many_fields_is_a_422_and_too_many_files_a_400(client):
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=2, DATA_UPLOAD_MAX_NUMBER_FILES=1):
        fields = client.post("/raw-form", content=b"a=1&b=2&c=3", headers=URLENCODED)
        parts = client.post("/raw-form", data={"a": "1", "b": "2", "c": "3"}, files={"f": "x"})
        files = client.post("/raw-form", files=[("f", ("1", b"1")), ("f", ("2", b"2"))])
    assert fields.status_code == parts.status_code == 422
    assert fields.json() == parts.json() == {"detail": _too_many_fields(2)}
    assert files.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FILES" in files.json()["detail"]


def test_a_request_routed_to_django_keeps_djangos_answer(bolt_client_factory):
    """The 422 is the API's: a path no route matches goes to Django, which parses its own form
    and answers too many fields with its 400."""
    django_routed = bolt_client_factory(api)
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=2):
        ours = django_routed.post("/raw-form", content=b"a=1&b=2&c=3", headers=URLENCODED)
        django = django_routed.post("/digest/", content=b"a=1&b=2&c=3", headers=URLENCODED)
        within = django_routed.post("/digest/", content=b"a=1&b=2", headers=URLENCODED)
    assert ours.status_code == 422
    assert django.status_code == 400
    assert "too_many_fields" not in django.text
    assert within.status_code == 200


@api.post("/form-tags")
async def form_tags(tag: Annotated[list[str], Form()]) -> dict[str, Any]:
    return {"tags": tag}


def test_a_repeated_key_counts_once_for_each_field(client):
    """Django-Bolt 0.13's default (Django's): 1000 fields; a repeated key counts each time,
    whether the handler binds the form or reads it itself."""
    at_limit = b"&".join([b"tag=x"] * 1000)
    over = at_limit + b"&tag=y"
    assert client.post("/form-tags", content=at_limit, headers=URLENCODED).json() == {
        "tags": ["x"] * 1000
    }
    for path in ("/form-tags", "/raw-form"):
        response = client.post(path, content=over, headers=URLENCODED)
        assert response.status_code == 422
        assert response.json() == {"detail": _too_many_fields(1000)}


@pytest.mark.parametrize(
    ("size", "in_pool"), [(10 * 1024, False), (3 * MIB, True)], ids=["in-memory", "spooled"]
)
def test_a_spooled_form_is_parsed_off_the_event_loop(client, monkeypatch, size, in_pool):
    """Parsing a large multipart body takes long enough to stall every other connection of
    the loop: once the body is spooled, an async handler's form is parsed in the sync pool."""
    import threading

    from django_bolt import request as request_module

    threads: list[str] = []
    real_parse = request_module.parse_form

    def recording_parse(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(request_module, "parse_form", recording_parse)
    response = client.post(
        "/upload", data={"title": "t"}, files={"document": ("d.bin", blob(size))}
    )
    assert response.status_code == 200
    assert response.json()["size"] == size
    assert len(threads) == 1
    assert threads[0].startswith("bolt-sync") is in_pool
