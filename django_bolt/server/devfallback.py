"""What ``runbolt --dev`` serves while the project cannot be loaded.

The ``--dev`` watcher holds the listening socket across restarts of the real server (its
child). When the child dies, a ``SyntaxError`` in ``api.py`` say, nobody would accept the
connections queued on that socket and every request would hang until the next file change.
Instead the watcher serves :class:`FallbackApp` on the socket until then: every request gets a
500 at once. With ``DEBUG`` on, the page is plain text with the error and its traceback, which
the child reported in a :class:`LoadFailure` before it exited; with ``DEBUG`` off it is the
framework's generic 500 JSON, so a ``--dev`` server reachable by others shows no source.

``DEBUG`` is read without importing the broken project: the child reports the value of the
settings it loaded (the settings module imported, only the APIs or the checks failed). A child
that died before it loaded the settings (a broken ``settings.py``) reports nothing; then the
watcher's own value decides, the one of the settings it was started with, and the page says
only that the server exited, since the traceback is only on the console.

This module belongs to the server: it imports nothing of the framework, and the app speaks the
server contract (``request_class``, ``dispatch``, ``startup``, ``shutdown``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from django_bolt.server.contract import RawRequest

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Iterable

__all__ = ("FallbackApp", "LoadFailure", "decode_failure")

# The framework's own 500 body (django_bolt/exceptions.py, response_for_exception), written out
# here because the server layer may not import the framework.
GENERIC_500_BODY: Final = b'{"detail":"Internal Server Error"}'
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]
_TEXT_HEADERS: Final = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


class LoadFailure(msgspec.Struct, frozen=True):
    """Why the ``--dev`` child could not load the project, as it tells its watcher."""

    # settings.DEBUG of the settings the child loaded.
    debug: bool
    # The traceback (or the system checks' report), as printed on the console.
    text: str

    def encode(self) -> bytes:
        return msgspec.json.encode(self)


def decode_failure(data: bytes) -> LoadFailure | None:
    """Return the report a child wrote, or None when it wrote none (or an unreadable one)."""
    if not data:
        return None
    try:
        return msgspec.json.decode(data, type=LoadFailure)
    except msgspec.DecodeError:
        return None


class _ErrorResponse:
    """A complete response with a body (a :class:`~.contract.ResponseLike`)."""

    __slots__ = ("background", "body", "raw_headers", "status_code", "stream")

    def __init__(self, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = 500
        self.raw_headers = raw_headers
        self.body = body
        self.stream: AsyncIterable[bytes] | Iterable[bytes] | None = None
        self.background: Callable[[], Awaitable[None]] | None = None


class FallbackApp:
    """Answers every request with 500: the load error in DEBUG, a generic JSON body otherwise.

    ``failure`` is the child's report (None when it exited without one); ``exit_status``
    describes how the child ended; ``debug`` is the watcher's DEBUG, used when there is no report.
    """

    request_class = RawRequest

    def __init__(self, failure: LoadFailure | None, exit_status: str, *, debug: bool) -> None:
        if failure is not None:
            debug = failure.debug
            text = failure.text.strip()
            # The last line of a traceback says what failed: first, then the whole story.
            summary = text.rsplit("\n", 1)[-1]
            detail = f"{summary}\n\n{text}\n"
        else:
            detail = (
                f"The server process exited ({exit_status}) before it loaded the project.\n"
                "Its error is on the console where runbolt runs.\n"
            )
        if debug:
            page = (
                "runbolt --dev: the project could not be loaded.\n\n"
                f"{detail}\n"
                "Fix the error and save the file: the server reloads by itself.\n"
                "(This page is shown because DEBUG is on.)\n"
            )
            self._headers, self._body = _TEXT_HEADERS, page.encode("utf-8", "replace")
        else:
            self._headers, self._body = _JSON_HEADERS, GENERIC_500_BODY

    async def dispatch(self, request: RawRequest) -> _ErrorResponse:
        return _ErrorResponse(self._headers, self._body)

    async def startup(self) -> None:
        """Nothing to set up: the page was built in ``__init__``."""

    async def shutdown(self) -> None:
        """Nothing to release."""
