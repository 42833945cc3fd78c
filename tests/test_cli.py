"""The ``django-bolt`` console script, called in process (tests/integration/test_packaging.py
runs the installed script)."""

from __future__ import annotations

import re

import pytest

import django_bolt
from django_bolt import _compiled
from django_bolt.cli import main


def test_version_prints_the_distribution_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out == f"django-bolt-py {django_bolt.__version__}\n"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"django-bolt-py {django_bolt.__version__}\n"


def test_verbose_version_lists_python_the_loop_and_libraries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["version", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("Python", "event loop", "Django", "msgspec", "httptools"):
        assert re.search(rf"^{name}\s+\S", out, re.MULTILINE), out


def test_verbose_version_says_which_form_of_the_request_path_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["version", "-v"]) == 0
    line = re.search(r"^request path\s+(.+)$", capsys.readouterr().out, re.MULTILINE)
    assert line is not None
    kinds = set(_compiled.status().values())
    if kinds == {True}:
        assert line.group(1) == "compiled (mypyc)"
    elif _compiled.pure_python():
        assert line.group(1) == "source (DJANGO_BOLT_PURE_PYTHON is set)"
    else:
        assert line.group(1).startswith(("source", "partly compiled"))


def test_no_command_prints_the_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "runbolt" in capsys.readouterr().err


def test_an_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"])
    assert exit_info.value.code == 2
