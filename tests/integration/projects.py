"""Copies of the integration tests' project, for tests that edit its files or add routes."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from tests.integration.conftest import PROJECT_DIR

if TYPE_CHECKING:
    from pathlib import Path

SYNTAX_ERROR = "\ndef broken(:\n"


class Project:
    """A copy of the test project in ``root``; ``deploy()`` rewrites its api.py.

    ``extra_api`` is appended to the copy's api.py (routes only one test needs). ``source`` and
    ``package`` name another project to copy (its directory and its settings' package).
    """

    def __init__(
        self,
        root: Path,
        *,
        extra_api: str = "",
        source: Path = PROJECT_DIR,
        package: str = "testproject",
    ) -> None:
        self.root = root
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__"))
        self.api = root / package / "api.py"
        self.settings = root / package / "settings.py"
        if extra_api:
            self.api.write_text(self.api.read_text() + extra_api)
        self.source = self.api.read_text()

    def deploy(self, version: str) -> None:
        self.api.write_text(self.source.replace('VERSION = "1"', f'VERSION = "{version}"'))

    def deploy_syntax_error(self) -> int:
        """Break api.py; return the line the SyntaxError is reported on."""
        self.api.write_text(self.source + SYNTAX_ERROR)
        return self.source.count("\n") + SYNTAX_ERROR.count("\n")

    def set_debug(self, debug: bool) -> None:
        text = self.settings.read_text()
        self.settings.write_text(text.replace(f"DEBUG = {not debug}", f"DEBUG = {debug}"))
