"""The one place that picks the event loop implementation.

uvloop (libuv) is 2-4x faster than asyncio's default loop on small requests; where it cannot be
imported (PyPy, Windows, a build without it) the standard loop serves the same code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

__all__ = ("LOOP_NAME", "new_event_loop")


if TYPE_CHECKING:
    from types import ModuleType

_uvloop: ModuleType | None
try:
    import uvloop as _uvloop
except ImportError:  # pragma: no cover - depends on the platform
    _uvloop = None

LOOP_NAME: Final = "uvloop" if _uvloop is not None else "asyncio"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a fresh event loop for the calling thread (not installed as the thread's current
    loop)."""
    if _uvloop is not None:
        loop: asyncio.AbstractEventLoop = _uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()  # pragma: no cover - depends on the platform
