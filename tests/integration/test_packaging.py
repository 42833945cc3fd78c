"""The distribution as a user gets it: built, installed into a fresh venv, running the example.

``python -m build`` makes the sdist and then the wheel from the unpacked sdist, so a file the
sdist forgets fails the wheel too. The wheel goes into a new venv (no PYTHONPATH, no editable
checkout on the path), where the console script reports the version and the example project,
copied away from the repository, migrates and answers over a real socket, its offline
documentation pages included.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import django_bolt
from django_bolt import _compiled

from .conftest import BANNER, BoltProcess, http_get

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "django-bolt-py"


def _clean_env() -> dict[str, str]:
    dropped = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DJANGO_BOLT_PURE_PYTHON"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONUNBUFFERED"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the sdist and wheel of the checkout into a fresh directory."""
    out = tmp_path_factory.mktemp("dist")
    # A copy without the venvs and caches, so the build sees what a clean clone holds.
    source = tmp_path_factory.mktemp("source") / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "bench",
            "*.egg-info",
            "build",
            "dist",
            "__pycache__",
            "*.sqlite3",
            "*.so",  # an editable install's compiled modules: a clean clone has none
        ),
    )
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]


def test_the_archives_hold_the_package_data(dist: Path) -> None:
    version = django_bolt.__version__
    wheel = _one(dist, f"django_bolt_py-{version}-*.whl")
    sdist = _one(dist, f"django_bolt_py-{version}.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "django_bolt/compiled_modules.txt" in names
    compiled = {n for n in names if n.endswith(".so")}
    if os.environ.get("DJANGO_BOLT_EXPECT_COMPILED") == "1":
        # Built where a C compiler is: a wheel for this platform, with the request path
        # compiled (one extension per listed module, and mypyc's shared library).
        assert not wheel.name.endswith("-py3-none-any.whl"), wheel.name
        for module in _compiled.COMPILED_MODULES:
            stem = module.replace(".", "/") + "."
            assert any(n.startswith(stem) for n in compiled), (module, sorted(compiled))
    elif not compiled:
        assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    assert "django_bolt/py.typed" in names
    assert "django_bolt/cli.py" in names
    assert any(n.startswith("django_bolt/openapi/assets/") and n.endswith(".js") for n in names)
    assert not any(n.startswith(("tests/", "example/", "bench/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"django_bolt_py-{version}.dist-info/METADATA").decode()
    assert f"Name: {DISTRIBUTION}\n" in metadata
    assert "Requires-Dist: httpx" in metadata
    entry_points = zipfile.ZipFile(wheel).read(
        f"django_bolt_py-{version}.dist-info/entry_points.txt"
    )
    assert b"django-bolt = django_bolt.cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "django_bolt/py.typed"} <= members
    assert {"setup.py", "django_bolt/compiled_modules.txt"} <= members
    assert not any(m.endswith(".so") for m in members)


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the bin directory of a new venv holding the wheel and what it depends on."""
    home = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True).create(home)
    wheel = _one(dist, "django_bolt_py-*.whl")
    done = subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / "bin"


def test_the_console_script_reports_the_version(installed: Path) -> None:
    short = subprocess.run(
        [str(installed / "django-bolt"), "--version"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=True,
    )
    assert short.stdout == f"{DISTRIBUTION} {django_bolt.__version__}\n"
    detailed = subprocess.run(
        [str(installed / "django-bolt"), "version", "-v"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=True,
    )
    assert re.search(r"^Django\s+\d+\.\d+", detailed.stdout, re.MULTILINE), detailed.stdout
    assert re.search(r"^msgspec\s+\d+\.", detailed.stdout, re.MULTILINE), detailed.stdout
    if os.environ.get("DJANGO_BOLT_EXPECT_COMPILED") == "1":
        assert re.search(r"^request path\s+compiled \(mypyc\)$", detailed.stdout, re.MULTILINE), (
            detailed.stdout
        )
    # The venv imports the installed copy, not the checkout's.
    where = subprocess.run(
        [str(installed / "python"), "-c", "import django_bolt; print(django_bolt.__file__)"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=installed,
        check=True,
    )
    assert where.stdout.startswith(str(installed.parent)), where.stdout


def test_the_example_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(
        ROOT / "example", example, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3")
    )
    python = str(installed / "python")
    env = _clean_env()
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=example,
        env=env,
        check=True,
        timeout=120,
    )
    proc = subprocess.Popen(
        [python, "manage.py", "runbolt", "--host", "127.0.0.1", "--port", "0"],
        cwd=example,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    bolt = BoltProcess(proc)
    try:
        bolt.wait_for(lambda: BANNER.search(bolt.stdout) is not None, 60, "the banner")
        match = BANNER.search(bolt.stdout)
        assert match is not None
        bolt.host, bolt.port = match.group(1), int(match.group(2))
        bolt.wait_output("] Ready: ", 60)

        hello = bolt.get("/hello/ada")
        assert (hello.status, hello.json()) == (200, {"message": "Hello, ada!"})
        document = http_get(bolt.host, bolt.port, "/openapi.json")
        assert document.status == 200
        assert "/hello/{name}" in json.loads(document.body)["paths"]
        docs = bolt.get("/docs")
        assert docs.status == 200
        # The UI's script is served from the installed package, not a CDN.
        script = re.search(rb'<script src="(/docs/[^"]+\.js)"', docs.body)
        assert script is not None, docs.body[:500]
        assert bolt.get(script.group(1).decode()).status == 200
        bolt.send_signal(signal.SIGTERM)
        assert bolt.wait(30) == 0, bolt.describe()
    finally:
        bolt.kill_group()
