"""The example project's ORM, session and admin endpoints, in its own process and settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "example"

# Runs inside the example project (its settings, a throw-away SQLite file) and prints JSON.
SCRIPT = r"""
import json, os, re, sys
sys.path.insert(0, ".")
os.environ["DJANGO_SETTINGS_MODULE"] = "exampleproject.settings"
import django
from django.conf import settings
django.setup()
settings.DATABASES["default"]["NAME"] = sys.argv[1]
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
User.objects.create_superuser("admin", "admin@example.com", "pw")
from django_bolt.testing import TestClient
from exampleproject.api import api
out = {}
with TestClient(api) as client:
    out["created"] = client.post("/products", json={"name": "kettle", "price_cents": 2500}).json()
    out["listed"] = client.get("/products").json()
    out["sold"] = client.post("/products/1/sell").json()
    out["sold_again"] = client.post("/products/1/sell").status_code
    out["fetched"] = client.get("/products/1").json()
    out["visits"] = [client.get("/visits").json()["visits"] for _ in range(2)]
    out["me_before"] = client.get("/me").json()
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    login = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "admin", "password": "pw", "csrfmiddlewaretoken": token},
    )
    out["login"] = login.status_code
    out["me_after"] = client.get("/me").json()
    out["admin_list"] = client.get("/admin/catalog/product/").status_code
print(json.dumps(out))
"""


def test_example_project(tmp_path: Path) -> None:
    root = str(EXAMPLE.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "example.sqlite3")],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    kettle = {"id": 1, "name": "kettle", "price_cents": 2500, "in_stock": True}
    assert out["created"] == kettle
    assert out["listed"] == [kettle]
    assert out["sold"] == {**kettle, "in_stock": False}
    assert out["sold_again"] == 409
    assert out["fetched"] == {**kettle, "in_stock": False}
    # The test client keeps the session cookie between requests, as a browser would.
    assert out["visits"] == [1, 2]
    assert out["me_before"] == {"authenticated": False, "username": ""}
    assert out["login"] == 302
    assert out["me_after"] == {"authenticated": True, "username": "admin"}
    assert out["admin_list"] == 200
