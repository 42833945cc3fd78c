"""The compiled request path (django_bolt/_compiled.py): what runs, and that it answers alike.

dev.py builds the listed modules with mypyc and sets ``DJANGO_BOLT_EXPECT_COMPILED=1`` when the
machine has a C compiler, and runs the second interpreter's suite with
``DJANGO_BOLT_PURE_PYTHON=1``: the same tests then run on both forms.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from django_bolt import _compiled

ROOT = Path(__file__).resolve().parents[2]


def _probe(pure: bool) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if key != _compiled.PURE_PYTHON_ENV}
    if pure:
        env[_compiled.PURE_PYTHON_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "tests.server.compiled_probe"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_every_listed_module_exists_and_the_status_names_them_all() -> None:
    for name in _compiled.COMPILED_MODULES:
        importlib.import_module(name)
    assert set(_compiled.status()) == set(_compiled.COMPILED_MODULES)
    assert "django_bolt.server.protocol" in _compiled.COMPILED_MODULES


def test_this_process_runs_the_form_the_build_promised() -> None:
    kinds = set(_compiled.status().values())
    if _compiled.pure_python():
        assert kinds == {False}
    elif os.environ.get("DJANGO_BOLT_EXPECT_COMPILED") == "1":
        assert kinds == {True}, _compiled.status()
    else:
        pytest.skip("neither form was promised: dev.py sets DJANGO_BOLT_EXPECT_COMPILED")


def test_the_switch_imports_the_source_and_both_forms_answer_alike() -> None:
    pure = _probe(pure=True)
    assert set(pure["compiled"].values()) == {False}  # type: ignore[attr-defined]
    native = _probe(pure=False)
    if os.environ.get("DJANGO_BOLT_EXPECT_COMPILED") == "1" and not _compiled.pure_python():
        assert set(native["compiled"].values()) == {True}  # type: ignore[attr-defined]
    outputs = pure["outputs"]
    assert isinstance(outputs, list)
    # The corpus reached the server: answers, refusals and closes, not one kind of output.
    assert any(o["written"].startswith("HTTP/1.1 200 ") for o in outputs)
    assert any(o["written"].startswith("HTTP/1.1 400 ") for o in outputs)
    assert any(o["written"].startswith("HTTP/1.1 413 ") for o in outputs)
    assert any(o["closed"] for o in outputs) and not all(o["closed"] for o in outputs)
    for index, (a, b) in enumerate(zip(outputs, native["outputs"], strict=True)):  # type: ignore[call-overload]
        assert a == b, f"case {index}: the source and the compiled form differ"


@pytest.mark.parametrize("value", ["1", "yes", "true", "on"])
def test_pure_python_reads_the_usual_true_spellings(value: str) -> None:
    assert _compiled.pure_python({_compiled.PURE_PYTHON_ENV: value})


@pytest.mark.parametrize("value", ["", "0", "no", "false", "off"])
def test_pure_python_reads_the_usual_false_spellings(value: str) -> None:
    assert not _compiled.pure_python({_compiled.PURE_PYTHON_ENV: value})
