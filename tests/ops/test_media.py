"""Media under MEDIA_URL (also in DEBUG), its stricter rules, and the max-age settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import override_settings

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    media, static = tmp_path / "media", tmp_path / "static"
    media.mkdir()
    static.mkdir()
    (media / "photo.png").write_bytes(b"\x89PNG fake")
    (media / "evil.html").write_bytes(b"<script>alert(1)</script>")
    (media / "avatar.SVG").write_bytes(b"<svg onload=alert(1)/>")
    (media / ".env").write_bytes(b"SECRET=1")
    (media / ".git").mkdir()
    (media / ".git" / "config").write_bytes(b"[core]")
    (static / "site.css").write_bytes(b"body{}")
    (static / "app.0123456789ab.js").write_bytes(b"1")
    return media, static


@pytest.mark.parametrize("debug", [True, False])
def test_media_is_served_with_uploads_disarmed(roots: tuple[Path, Path], debug: bool) -> None:
    media, static = roots
    with (
        override_settings(
            DEBUG=debug, MEDIA_URL="/media/", MEDIA_ROOT=str(media), STATIC_ROOT=str(static)
        ),
        TestClient(BoltAPI(django_fallthrough=False)) as client,
    ):
        photo = client.get("/media/photo.png")
        html = client.get("/media/evil.html")
        svg = client.get("/media/avatar.SVG")
        dotfile = client.get("/media/.env")
        dotdir = client.get("/media/.git/config")
        missing = client.get("/media/none.png")
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in photo.headers
    for answer in (html, svg):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-disposition"] == "attachment"
        assert answer.headers["x-content-type-options"] == "nosniff"
    for answer in (dotfile, dotdir):
        assert answer.status_code == 404
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert b"SECRET" not in answer.content
    assert missing.status_code == 404


def test_the_max_age_settings(roots: tuple[Path, Path]) -> None:
    media, static = roots
    common = {
        "DEBUG": False,
        "MEDIA_URL": "/media/",
        "MEDIA_ROOT": str(media),
        "STATIC_URL": "/static/",
        "STATIC_ROOT": str(static),
    }
    with (
        override_settings(**common, BOLT_STATIC_MAX_AGE=3600, BOLT_MEDIA_MAX_AGE=60),
        TestClient(BoltAPI(django_fallthrough=False)) as client,
    ):
        assert client.get("/static/site.css").headers["cache-control"] == "public, max-age=3600"
        hashed = client.get("/static/app.0123456789ab.js").headers["cache-control"]
        assert hashed == "public, max-age=31536000, immutable"
        assert client.get("/media/photo.png").headers["cache-control"] == "private, max-age=60"
    with override_settings(**common), TestClient(BoltAPI(django_fallthrough=False)) as client:
        revalidate = "public, max-age=0, must-revalidate"
        assert client.get("/static/site.css").headers["cache-control"] == revalidate
    for bad in (-1, "60", True, 1.5):
        with (
            override_settings(**common, BOLT_MEDIA_MAX_AGE=bad),
            pytest.raises(Exception, match="BOLT_MEDIA_MAX_AGE"),
            TestClient(BoltAPI(django_fallthrough=False)) as client,
        ):
            client.get("/media/photo.png")
