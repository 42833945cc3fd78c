"""The --dev error page: what the fallback app answers, and the child's report that feeds it."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest

from django_bolt.server import reload
from django_bolt.server.contract import RawRequest
from django_bolt.server.devfallback import FallbackApp, LoadFailure, decode_failure

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/shop/api.py", line 12\n'
    "    def broken(:\n"
    "SyntaxError: invalid syntax\n"
)


def answer(app: FallbackApp) -> tuple[int, dict[bytes, bytes], bytes]:
    request = RawRequest("GET", b"/items", [], b"", None, "http", None, "1.1")
    response = asyncio.run(app.dispatch(request))
    assert response.stream is None
    assert response.background is None
    return response.status_code, dict(response.raw_headers), response.body


def test_debug_page_names_the_error_first_then_the_traceback() -> None:
    app = FallbackApp(LoadFailure(debug=True, text=TRACEBACK), "exit code 1", debug=False)
    status, headers, body = answer(app)
    assert status == 500
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"x-content-type-options"] == b"nosniff"
    text = body.decode()
    assert text.startswith("runbolt --dev: the project could not be loaded.\n\nSyntaxError:")
    assert TRACEBACK in text


def test_without_debug_the_page_is_the_generic_500() -> None:
    # The child's DEBUG wins over the watcher's.
    app = FallbackApp(LoadFailure(debug=False, text=TRACEBACK), "exit code 1", debug=True)
    status, headers, body = answer(app)
    assert (status, headers[b"content-type"]) == (500, b"application/json")
    assert body == b'{"detail":"Internal Server Error"}'


@pytest.mark.parametrize("debug", [True, False])
def test_a_child_that_reported_nothing_gets_the_watchers_debug(debug: bool) -> None:
    status, _, body = answer(FallbackApp(None, "exit code 1", debug=debug))
    assert status == 500
    if debug:
        assert b"exited (exit code 1) before it loaded the project" in body
    else:
        assert body == b'{"detail":"Internal Server Error"}'


def test_report_reaches_the_watcher_through_the_shared_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failure = LoadFailure(debug=True, text=TRACEBACK)
    with tempfile.TemporaryFile() as shared:
        monkeypatch.setenv(reload.REPORT_FD_ENV, str(shared.fileno()))
        reload.report_load_failure(failure)
        assert decode_failure(os.pread(shared.fileno(), 1 << 20, 0)) == failure


def test_no_watcher_no_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(reload.REPORT_FD_ENV, raising=False)
    reload.report_load_failure(LoadFailure(debug=True, text=TRACEBACK))  # nothing to write to


@pytest.mark.parametrize("data", [b"", b"{not json", b'{"debug": "yes"}'], ids=repr)
def test_a_missing_or_unreadable_report_is_none(data: bytes) -> None:
    assert decode_failure(data) is None
