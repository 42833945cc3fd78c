"""The documentation pages in a real browser: headless Chromium against a real ``runbolt``.

Swagger UI lists the operations and "Try it out" / "Execute" gets a live response; ReDoc,
Scalar, RapiDoc and Stoplight Elements render the API's title and operations. Every request the
pages make goes to our own server (the UIs' files are vendored): the test records them all
through the DevTools protocol. Screenshots land in the test's tmp_path.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from tests.conftest import skip_or_fail
from tests.integration.conftest import run_bolt  # noqa: F401 - the fixture, used by name
from tests.openapi.cdp import Browser, CDPError, Page

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

TITLE = "Bolt Docs Browser Test"  # testproject/docs_api.py
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "devtools:")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    skip_or_fail("chromium is not installed (python3 scripts/install_deps.py chromium)")
    raise AssertionError("unreachable")  # pragma: no cover - skip_or_fail raises


@pytest.fixture
def docs_server(run_bolt: Callable[..., BoltProcess]) -> BoltProcess:  # noqa: F811
    return run_bolt("--workers", "1", env={"DJANGO_SETTINGS_MODULE": "testproject.docs_settings"})


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    browser = Browser(_chromium(), tmp_path / "profile")
    try:
        browser.start()
        tab = browser.new_page()
        try:
            yield tab
        finally:
            tab.close()
    finally:
        browser.stop()


def _assert_offline(page: Page, base: str) -> None:
    """Every request went to our server; one a UI tried elsewhere was refused unsent (CSP)."""
    requests = page.requests()
    assert any(url.startswith(f"{base}/docs/assets/") for url in requests.values()), requests
    blocked = page.blocked()
    sent_elsewhere = [
        url
        for rid, url in requests.items()
        if not url.startswith((base, *LOCAL_SCHEMES)) and blocked.get(rid) != "csp"
    ]
    assert sent_elsewhere == [], sent_elsewhere
    # Nothing of our own was refused: the policy lets the UI itself work.
    assert [url for rid, url in requests.items() if url.startswith(base) and rid in blocked] == []


def test_swagger_ui_lists_operations_and_tries_one_out(
    docs_server: BoltProcess, page: Page, tmp_path: Path
) -> None:
    base = f"http://{docs_server.host}:{docs_server.port}"
    page.navigate(f"{base}/docs")
    count = page.wait_for(
        "document.querySelectorAll('.opblock').length", what="Swagger UI's operations"
    )
    assert count == 3
    assert page.evaluate("document.querySelector('.info .title').innerText").startswith(TITLE)
    op = "#operations-greetings-get_hello"
    page.evaluate(f"document.querySelector('{op} .opblock-summary-control').click()")
    page.wait_for(f"!!document.querySelector('{op} .try-out__btn')", what="Try it out")
    page.evaluate(f"document.querySelector('{op} .try-out__btn').click()")
    page.wait_for(f"!!document.querySelector('{op} button.execute')", what="Execute")
    page.evaluate(f"document.querySelector('{op} button.execute').click()")
    live = f"{op} .live-responses-table tbody"
    status = page.wait_for(
        f"(document.querySelector('{live} .response-col_status') || {{}}).innerText",
        what="the live response",
    )
    assert status.strip() == "200"
    body = page.evaluate(
        f"document.querySelector('{live} .response-col_description pre').innerText"
    )
    assert json.loads(body) == {"hello": "world"}
    page.screenshot(tmp_path / "swagger.png")
    _assert_offline(page, base)
    assert page.console_errors() == []


def test_redoc_renders_the_title_and_operations(
    docs_server: BoltProcess, page: Page, tmp_path: Path
) -> None:
    base = f"http://{docs_server.host}:{docs_server.port}"
    page.navigate(f"{base}/docs/redoc")
    heading = page.wait_for(
        "(document.querySelector('.api-info h1') || {}).innerText", what="ReDoc's title"
    )
    assert heading.startswith(TITLE)
    page.wait_for(
        "document.body.innerText.includes('Greet someone, up to five times.')",
        what="ReDoc's operations",
    )
    page.screenshot(tmp_path / "redoc.png")
    _assert_offline(page, base)
    assert page.console_errors() == []


def test_scalar_renders_the_title_and_operations(
    docs_server: BoltProcess, page: Page, tmp_path: Path
) -> None:
    base = f"http://{docs_server.host}:{docs_server.port}"
    page.navigate(f"{base}/docs/scalar")
    try:
        page.wait_for(f"document.body.innerText.includes({json.dumps(TITLE)})", what="title")
        page.wait_for("document.body.innerText.includes('Say hello')", what="operations")
    finally:
        page.screenshot(tmp_path / "scalar.png")
    _assert_offline(page, base)
    assert page.console_errors() == []


def test_rapidoc_renders_the_title_and_operations(
    docs_server: BoltProcess, page: Page, tmp_path: Path
) -> None:
    base = f"http://{docs_server.host}:{docs_server.port}"
    page.navigate(f"{base}/docs/rapidoc")
    # RapiDoc renders inside its element's shadow root, which document.body.innerText skips.
    text = "((document.querySelector('rapi-doc') || {}).shadowRoot || {}).textContent || ''"
    try:
        page.wait_for(f"({text}).includes({json.dumps(TITLE)})", what="RapiDoc's title")
        page.wait_for(f"({text}).includes('Greet someone')", what="RapiDoc's operations")
    finally:
        page.screenshot(tmp_path / "rapidoc.png")
    _assert_offline(page, base)
    assert page.console_errors() == []


def test_stoplight_elements_renders_the_title_and_operations(
    docs_server: BoltProcess, page: Page, tmp_path: Path
) -> None:
    base = f"http://{docs_server.host}:{docs_server.port}"
    page.navigate(f"{base}/docs/stoplight")
    try:
        page.wait_for(f"document.body.innerText.includes({json.dumps(TITLE)})", what="title")
        page.wait_for("document.body.innerText.includes('greetings')", what="operations")
    finally:
        page.screenshot(tmp_path / "stoplight.png")
    _assert_offline(page, base)
    assert page.console_errors() == []


def test_cdp_errors_are_reported(page: Page) -> None:
    with pytest.raises(CDPError, match="timed out"):
        page.wait_for("false", timeout=0.5, what="something that never happens")
