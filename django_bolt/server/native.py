"""mypyc's class flags for the modules it may compile (see django_bolt/_compiled.py).

The flags mean something only to mypyc, which reads them while compiling; at run time, and
where mypy_extensions is not installed at all, the decorator leaves the class as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ("mypyc_attr",)

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr as mypyc_attr
else:

    def mypyc_attr(*_names: str, **_flags: object) -> Any:
        """Return the class unchanged: the flags are for the compiler only."""
        return lambda cls: cls
