"""A small Chrome DevTools Protocol client: enough to drive headless Chromium from a test.

``Browser.start()`` runs Chromium with a fresh profile and remote debugging on a free port
(Chromium picks it and writes it to ``DevToolsActivePort``); ``Page`` sends commands over the
page's WebSocket, keeps every event it receives (network requests included) and evaluates
JavaScript until a condition holds.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

from websockets.sync.client import ClientConnection, connect

if TYPE_CHECKING:
    from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)


class CDPError(Exception):
    pass


class Page:
    """One tab, driven over its DevTools WebSocket."""

    def __init__(self, ws_url: str) -> None:
        self._stack = contextlib.ExitStack()
        # Entered as a context manager: websockets >= 17.1 warns about a bare connect().
        self._ws: ClientConnection = self._stack.enter_context(
            connect(ws_url, max_size=None, open_timeout=10)
        )
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self._stack.close()

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CDPError(f"no answer to {method} within {timeout} s")
            message = json.loads(self._ws.recv(timeout=remaining))
            if message.get("id") == ident:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, what: str = "") -> Any:
        """Evaluate ``expression`` until it is truthy; its last value is returned."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise CDPError(f"timed out waiting for {what or expression}; page text:\n{text}")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", what=f"{url} to load")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requests(self) -> dict[str, str]:
        """Every request the page started: request id -> URL."""
        return {
            e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        }

    def blocked(self) -> dict[str, str]:
        """Requests the browser refused before sending them: request id -> reason."""
        return {
            e["params"]["requestId"]: e["params"]["blockedReason"]
            for e in self.events
            if e.get("method") == "Network.loadingFailed" and e["params"].get("blockedReason")
        }

    def log_errors(self) -> list[str]:
        return [
            e["params"]["entry"].get("text", "")
            for e in self.events
            if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ]

    def console_errors(self) -> list[str]:
        """Uncaught JavaScript exceptions the page threw."""
        return [
            json.dumps(e["params"]["exceptionDetails"])[:500]
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]


class Browser:
    """A headless Chromium process with a throwaway profile."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.binary = binary
        self.profile = profile
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 30) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise CDPError(f"chromium exited with {self.proc.returncode}: {err[-2000:]}")
            with contextlib.suppress(OSError, ValueError):
                first = marker.read_text().splitlines()[0]
                self.port = int(first)
                return
            time.sleep(0.1)
        raise CDPError("chromium did not open its DevTools port")

    def _http(self, method: str, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def new_page(self) -> Page:
        target = self._http("PUT", "/json/new?about:blank")
        page = Page(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.send(f"{domain}.enable")
        return page

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
