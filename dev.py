#!/usr/bin/env python3
"""The project's two commands, for a fresh machine that has nothing but python3.

    python3 dev.py example [runbolt flags...]   set up, migrate and run example/ with runbolt
    python3 dev.py test [pytest args...]        set up, then ruff check and pytest over tests/

Both create ``.venv`` (once; later runs only compare a stamp of pyproject.toml and return at
once) and install the package editable into it. ``test`` also installs what the real-world tests
drive (nginx from Debian when missing; supervisor comes from PyPI through the ``test`` extra).
Under ``CI=true`` it sets ``BOLT_REQUIRE_SERVICES=1`` so a missing service fails instead of
skipping. The exit status of ``test`` is pytest's, except that "no tests ran" counts as failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent
VENV: Final = ROOT / ".venv"
STAMP: Final = VENV / ".dev-stamp.json"
VENV_PYTHON: Final = VENV / "bin" / "python"
MIN_PYTHON: Final = (3, 11)
PYTEST_NO_TESTS: Final = 5
# The server drives handlers differently from Python 3.12 on (eager Tasks): when the machine has
# such an interpreter besides the one running this script, the in-process tests run on it too.
SECOND_VENV: Final = ROOT / ".venv-second"
SECOND_SUITES: Final = ("tests", "-m", "not integration", "-q")


def log(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def _compiled_sources() -> list[Path]:
    """Return the files whose compiled form an editable install keeps beside them (setup.py)."""
    listing = (ROOT / "django_bolt" / "compiled_modules.txt").read_text(encoding="utf-8")
    names = [line for line in listing.split("\n") if line and not line.startswith("#")]
    return [ROOT / "setup.py", *(ROOT / (name.replace(".", "/") + ".py") for name in names)]


def _is_cpython() -> bool:
    return platform.python_implementation() == "CPython"


def _fingerprint() -> str:
    # The compiled modules are built in place by the editable install: an edit of their source
    # must rebuild them, or the stale extension would keep running instead of the new code.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for source in _compiled_sources():
        digest.update(source.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _read_stamp() -> dict[str, object]:
    try:
        data = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ensure_venv_module() -> None:
    """Debian splits ensurepip into python3-venv; install it when a bare python3 lacks it."""
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        log(f"installing python{version}-venv (ensurepip is missing)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", f"python{version}-venv", "python3-venv"],
            check=True,
            env=env,
        )


def ensure_venv(extras: tuple[str, ...]) -> Path:
    """Create .venv and install the package (editable) with ``extras``; quick when up to date."""
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(f"python {'.'.join(map(str, MIN_PYTHON))}+ is needed, not {sys.version}")
    stamp = _read_stamp()
    installed = set(stamp.get("extras", []))  # type: ignore[call-overload]
    if (
        VENV_PYTHON.exists()
        and stamp.get("fingerprint") == _fingerprint()
        and installed.issuperset(extras)
    ):
        return VENV_PYTHON
    if not VENV_PYTHON.exists():
        _ensure_venv_module()
        log(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    wanted = sorted(installed.union(extras))
    target = f".[{','.join(wanted)}]" if wanted else "."
    log(f"pip install -e '{target}'")
    pip = [str(VENV_PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run([*pip, "install", "-e", target], check=True, cwd=ROOT)
    STAMP.write_text(json.dumps({"fingerprint": _fingerprint(), "extras": wanted}))
    return VENV_PYTHON


def command_example(args: list[str]) -> int:
    python = ensure_venv(())
    example = ROOT / "example"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log("applying migrations (SQLite: example/db.sqlite3)")
    subprocess.run(
        [str(python), "manage.py", "migrate", "--noinput", "-v", "0"],
        check=True,
        cwd=example,
        env=env,
    )
    argv = [str(python), "manage.py", "runbolt", *args]
    log(" ".join(["python", *argv[1:]]) + "   (Ctrl+C stops it)")
    os.chdir(example)
    # exec, so Ctrl+C and SIGTERM reach runbolt itself and its exit status is ours.
    os.execve(str(python), argv, env)  # noqa: S606 - argv is ours, no shell involved
    return 0  # pragma: no cover - execve does not return


def command_test(args: list[str]) -> int:
    python = ensure_venv(("test",))
    sys.path.insert(0, str(ROOT / "scripts"))
    import install_deps

    install_deps.ensure_nginx()
    install_deps.ensure_chromium()
    install_deps.ensure_services()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        env["BOLT_REQUIRE_SERVICES"] = "1"
    # This suite runs the compiled request path (setup.py builds it wherever a C compiler is),
    # and tests/server/test_compiled.py holds the build to it; the second interpreter runs the
    # source (see run_second_interpreter): the same tests on both forms.
    env.pop("DJANGO_BOLT_PURE_PYTHON", None)
    compiler = shutil.which("cc") or shutil.which("gcc")
    env["DJANGO_BOLT_EXPECT_COMPILED"] = "1" if compiler and _is_cpython() else "0"
    log("ruff check .")
    ruff_status = subprocess.run([str(python), "-m", "ruff", "check", "."], cwd=ROOT, env=env)
    pytest = [str(python), "-m", "pytest", "tests", "--durations=15", *args]
    log(" ".join(["pytest", *pytest[3:]]))
    status = subprocess.run(pytest, cwd=ROOT, env=env).returncode
    if status == PYTEST_NO_TESTS:
        log("pytest collected no tests: that is a failure, not a pass")
        return 1
    if status == 0 and not args:
        status = run_second_interpreter(env)
        if status == PYTEST_NO_TESTS:
            return 1
    if status == 0 and ruff_status.returncode != 0:
        log("tests passed but ruff check failed")
        return ruff_status.returncode
    return status


def _second_python() -> Path | None:
    """Return a Python >= 3.12 of another minor version than ours, if this machine has one."""
    if sys.version_info >= (3, 12):
        return None
    # Newest first; pyenv's shims are skipped (they fail for versions not selected).
    candidates = sorted(Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"), reverse=True)
    folders = [f for f in os.environ.get("PATH", "").split(os.pathsep) if "shims" not in f]
    candidates.extend(
        Path(folder) / name
        for name in ("python3.14", "python3.13", "python3.12")
        for folder in folders
    )
    for candidate in candidates:
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_second_interpreter(env: dict[str, str]) -> int:
    """Run the in-process suites on a second interpreter (skipped when there is none)."""
    other = _second_python()
    if other is None:
        log("no Python >= 3.12 besides this one: the eager-task drive is not exercised")
        return 0
    # The source of the compiled modules, not their compiled form: nothing to build here.
    env = {**env, "DJANGO_BOLT_PURE_PYTHON": "1"}
    env.pop("DJANGO_BOLT_EXPECT_COMPILED", None)
    python = SECOND_VENV / "bin" / "python"
    stamp = SECOND_VENV / ".dev-stamp"
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + bytes(other)).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text() != fingerprint:
        log(f"setting up {SECOND_VENV.name} with {other}")
        subprocess.run([str(other), "-m", "venv", str(SECOND_VENV)], check=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "-e", ".[test]"], check=True, cwd=ROOT, env=env)
        stamp.write_text(fingerprint)
    pytest = [str(python), "-m", "pytest", *SECOND_SUITES]
    log(f"pytest {' '.join(SECOND_SUITES)}   (on {other}, DJANGO_BOLT_PURE_PYTHON=1)")
    return subprocess.run(pytest, cwd=ROOT, env=env).returncode


COMMANDS: Final = {"example": command_example, "test": command_test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
