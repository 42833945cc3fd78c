"""Build script: the metadata is in pyproject.toml; this adds the compiled request path.

The modules named in django_bolt/compiled_modules.txt are compiled with mypyc when the build has it
(pyproject.toml's build requirements bring it on CPython) and unless DJANGO_BOLT_PURE_PYTHON is
set. Every extension is optional: without a working C compiler the build installs the source
alone, which is the same program, only slower.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
# gcc and clang on ELF: calls from one compiled function to another, and into libpython, go
# straight to their target instead of through a PLT stub (the compiled functions are global
# symbols, so by default every call between them may be interposed). It saves only 1 % of the
# instructions per request, but the small requests (hellos, path + query, 404) were served 3 to
# 5 % faster (BENCHMARKS.md, session 13).
_ELF_FLAGS = ("-fno-semantic-interposition", "-fno-plt")


def _listed_modules() -> list[str]:
    """Read the list of modules to compile (django_bolt/compiled_modules.txt)."""
    listing = (ROOT / "django_bolt" / "compiled_modules.txt").read_text(encoding="utf-8")
    return [line for line in listing.split("\n") if line and not line.startswith("#")]


def _extensions() -> list[object]:
    wanted = os.environ.get("DJANGO_BOLT_PURE_PYTHON", "").strip().lower()
    if wanted not in {"", "0", "false", "no", "off"}:
        print("django-bolt: DJANGO_BOLT_PURE_PYTHON is set: the source alone is installed")
        return []
    if sys.implementation.name != "cpython":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("django-bolt: mypyc is not available: the source alone is installed")
        return []
    paths = [name.replace(".", "/") + ".py" for name in _listed_modules()]
    # Third-party packages are not installed in an isolated build: their types read as Any
    # there, which mypyc compiles as ordinary Python object operations.
    try:
        extensions = mypycify(
            ["--ignore-missing-imports", "--follow-imports=silent", *paths],
            opt_level="3",
            group_name="django_bolt",
        )
    except (Exception, SystemExit) as error:  # mypyc exits on a type error it cannot compile
        print(f"django-bolt: mypyc could not compile the request path ({error!r}): source only")
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: build_ext skips it and the source is used
        if sys.platform.startswith("linux"):
            extension.extra_compile_args = [*extension.extra_compile_args, *_ELF_FLAGS]
    return list(extensions)


setup(ext_modules=_extensions())
