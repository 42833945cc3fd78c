"""The modules of the request path that an install may compile, and the way back to their source.

The modules listed in ``compiled_modules.txt`` (:data:`COMPILED_MODULES`) are ordinary Python,
and that source is the reference: what the documentation describes and what the tests run.
Where the install has mypyc and a C compiler, ``setup.py`` also builds them into one extension
(mypyc turns their annotated classes into C structs and their functions into C), which Python
then imports instead of the ``.py`` files. A build without a compiler, or with
``DJANGO_BOLT_PURE_PYTHON=1`` set, installs the source alone. ``dev.py`` rebuilds an editable
install whenever one of those files changes, so a stale extension never shadows an edit.

``DJANGO_BOLT_PURE_PYTHON=1`` in the environment of a process also makes an install that has the
compiled modules import their source instead (tracebacks with source lines, a debugger that
steps into the server, the reference behaviour to compare against). It is read once, when
``django_bolt`` is first imported, which imports this module first. :func:`status` tells which
kind each module is. This module imports nothing outside the standard library.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

__all__ = ("COMPILED_MODULES", "PURE_PYTHON_ENV", "install_source_finder", "pure_python", "status")

# The list setup.py compiles, as one mypyc group (a module of it calls another's functions
# directly); dev.py also rebuilds when one of them changes.
_LISTING: Final = Path(__file__).with_name("compiled_modules.txt").read_text(encoding="utf-8")
COMPILED_MODULES: Final = tuple(
    line for line in _LISTING.split("\n") if line and not line.startswith("#")
)
PURE_PYTHON_ENV: Final = "DJANGO_BOLT_PURE_PYTHON"


def pure_python(environ: dict[str, str] | None = None) -> bool:
    """Tell whether the environment asks for the source of the compiled modules."""
    value = (os.environ if environ is None else environ).get(PURE_PYTHON_ENV, "")
    return value.strip().lower() not in {"", "0", "false", "no", "off"}


class _SourceFinder(importlib.abc.MetaPathFinder):
    """A meta path finder that imports the listed modules from their ``.py`` files."""

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in COMPILED_MODULES or not path:
            return None
        leaf = name.rpartition(".")[2] + ".py"
        for folder in path:
            source = Path(folder) / leaf
            if source.is_file():
                return importlib.util.spec_from_file_location(name, source)
        return None


_FINDER: Final = _SourceFinder()


def install_source_finder() -> bool:
    """Put the source finder first on ``sys.meta_path`` when asked to; True if it is there."""
    if _FINDER in sys.meta_path:
        return True
    if not pure_python():
        return False
    sys.meta_path.insert(0, _FINDER)
    return True


def status() -> dict[str, bool]:
    """Map each listed module to whether the one this process imports (or would) is compiled."""
    result: dict[str, bool] = {}
    for name in COMPILED_MODULES:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module is not None else None
        if origin is None:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
        result[name] = origin is not None and origin.endswith(
            tuple(importlib.machinery.EXTENSION_SUFFIXES)
        )
    return result


install_source_finder()
