"""One port for everything, through the real runbolt: the API, Django's admin and Django views."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.integration.conftest import PROJECT_DIR, bolt_env

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

PASSWORD = "integration-admin-pass"


def manage(db: Path, *args: str, env: dict[str, str | None] | None = None) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=bolt_env({"BOLT_TEST_DB": str(db), **(env or {})}),
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated SQLite file with the superuser ``admin``."""
    db = tmp_path / "db.sqlite3"
    manage(db, "migrate", "--noinput")
    manage(
        db,
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    return db


def csrf_field(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def test_admin_login_session_and_messages(
    run_bolt: Callable[..., BoltProcess], database: Path
) -> None:
    bolt = run_bolt(env={"BOLT_TEST_DB": str(database)})
    base = f"http://{bolt.host}:{bolt.port}"
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get("/django-view/").text == "plain django view"

        login_page = client.get("/admin/login/?next=/admin/")
        assert login_page.status_code == 200
        assert 'id="login-form"' in login_page.text
        assert client.cookies.get("csrftoken")

        refused = client.post(
            "/admin/login/?next=/admin/",
            data={"username": "admin", "password": PASSWORD, "next": "/admin/"},
        )
        assert refused.status_code == 403  # no CSRF token

        logged_in = client.post(
            "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": csrf_field(login_page.text),
                "username": "admin",
                "password": PASSWORD,
                "next": "/admin/",
            },
        )
        assert logged_in.status_code == 302, logged_in.text
        assert logged_in.headers["location"] == "/admin/"
        assert client.cookies.get("sessionid")

        index = client.get("/admin/")
        assert index.status_code == 200
        assert "Site administration" in index.text

        # Adding a group ends in a redirect whose page shows the "added" message: sessions,
        # the ORM in the pool and the messages framework, across three requests.
        add_page = client.get("/admin/auth/group/add/")
        assert add_page.status_code == 200
        added = client.post(
            "/admin/auth/group/add/",
            data={"csrfmiddlewaretoken": csrf_field(add_page.text), "name": "editors"},
        )
        assert added.status_code == 302, added.text
        changelist = client.get(added.headers["location"])
        assert changelist.status_code == 200
        assert "was added successfully" in changelist.text
        assert "editors" in changelist.text

        unknown = client.get("/no-such-page/")
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "Not Found"}


def test_no_admin_turns_the_fallthrough_off(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--no-admin")
    assert "Admin:" not in bolt.stdout
    assert bolt.get("/hello").status == 200
    for path in ("/admin/login/", "/django-view/"):
        response = bolt.get(path)
        assert response.status == 404
        assert response.json() == {"detail": "Not Found"}
