"""docs/server.md and ``runbolt --help`` list every flag of the option table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django_bolt.conf import OPTIONS
from tests.integration.conftest import PROJECT_DIR, bolt_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"
FLAGS = [flag for _, opt in OPTIONS for flag in (opt.flag, opt.negative_flag) if flag]


def test_docs_table_lists_every_flag() -> None:
    text = DOCS.read_text()
    missing = [flag for flag in FLAGS if f"`{flag}`" not in text]
    assert missing == []


def test_help_lists_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, "manage.py", "runbolt", "--help"],
        cwd=PROJECT_DIR,
        env=bolt_env(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    missing = [flag for flag in FLAGS if flag not in out]
    assert missing == []
