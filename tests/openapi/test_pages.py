"""The documentation pages and their vendored assets, served by our own server (no CDN)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from django_bolt import BoltAPI
from django_bolt.openapi import (
    OpenAPIConfig,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    ScalarRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from django_bolt.testing import TestClient
from tests.openapi import everykind

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "django_bolt" / "openapi" / "assets"
# A client that takes no content coding (httpx asks for gzip by default).
IDENTITY = {"accept-encoding": "identity"}
PAGES = {
    "/docs": "swagger-ui",
    "/docs/swagger": "swagger-ui",
    "/docs/redoc": "redoc",
    "/docs/scalar": "scalar",
    "/docs/rapidoc": "rapidoc",
    "/docs/stoplight": "stoplight",
}


class _Links(HTMLParser):
    """Every URL a page makes the browser load (src, href) and every inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls.extend(value for name, value in attrs if name in {"src", "href"} and value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(everykind.api) as c:
        yield c  # type: ignore[misc]


@pytest.mark.parametrize(("path", "ui"), PAGES.items())
def test_page_references_only_local_urls(client: TestClient, path: str, ui: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "<title>Every Kind API</title>" in html
    links = _links(html)
    assets = [u for u in links.urls if u.startswith("/docs/assets/")]
    assert assets, links.urls
    assert all(f"/docs/assets/{ui}/" in u for u in assets)
    for url in links.urls:
        # Root-relative paths on this server, or the inline empty icon; never another host.
        assert (url.startswith("/") and not url.startswith("//")) or url == "data:,", url
    # No absolute URL anywhere in the page, inline scripts included.
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), html


def test_pages_point_the_ui_at_the_served_document(client: TestClient) -> None:
    swagger = "".join(_links(client.get("/docs").text).scripts)
    assert '"url":"/docs/openapi.json"' in swagger
    # Swagger UI would otherwise post the document to its online validator.
    assert '"validatorUrl":null' in swagger
    redoc = "".join(_links(client.get("/docs/redoc").text).scripts)
    assert 'Redoc.init("/docs/openapi.json"' in redoc
    scalar = "".join(_links(client.get("/docs/scalar").text).scripts)
    assert '"url":"/docs/openapi.json"' in scalar
    assert '"withDefaultFonts":false' in scalar
    rapidoc = client.get("/docs/rapidoc").text
    assert '<rapi-doc spec-url="/docs/openapi.json" load-fonts="false">' in rapidoc
    stoplight = client.get("/docs/stoplight").text
    assert '<elements-api apiDescriptionUrl="/docs/openapi.json"' in stoplight


def _referenced_assets(client: TestClient) -> set[str]:
    urls: set[str] = set()
    for path in PAGES:
        urls.update(u for u in _links(client.get(path).text).urls if "/assets/" in u)
    return urls


def test_assets_are_the_vendored_files_with_long_cache_headers(client: TestClient) -> None:
    versions = json.loads((ASSETS / "VERSIONS.json").read_text())
    urls = _referenced_assets(client)
    # swagger js + css, redoc js, scalar js, rapidoc js, stoplight js + css
    assert len(urls) == 7
    for url in urls:
        _, _, _, ui, version, name = url.split("/")
        # The package version is in the URL: a new version is a new URL.
        assert version == versions[ui]["version"]
        # The file's own bytes go to a client that takes no content coding.
        response = client.get(url, headers=IDENTITY)
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert response.content == (ASSETS / ui / name).read_bytes()
        digest = hashlib.sha256(response.content).hexdigest()
        assert digest == versions[ui]["files"][name]
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        expected_type = "text/css" if name.endswith(".css") else "text/javascript"
        assert response.headers["content-type"] == f"{expected_type}; charset=utf-8"
        etag = response.headers["etag"]
        assert etag == f'"{digest[:32]}"'
        again = client.get(url, headers={"if-none-match": etag, **IDENTITY})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert client.get(url, headers={"if-none-match": '"other"'}).status_code == 200
        assert client.get(url, headers={"if-none-match": f"W/{etag}"}).status_code == 304
        # Compressed by default (no BOLT_COMPRESSION in the test settings): other bytes, so the
        # tag turns weak, and revalidating with the weak tag still answers 304.
        compressed = client.get(url, headers={"accept-encoding": "gzip"})
        assert compressed.headers["content-encoding"] == "gzip"
        assert compressed.content == response.content
        assert compressed.headers["etag"] == f"W/{etag}"
        revalidated = client.get(
            url, headers={"if-none-match": compressed.headers["etag"], "accept-encoding": "gzip"}
        )
        assert revalidated.status_code == 304


def test_unknown_asset_is_a_404(client: TestClient) -> None:
    assert client.get("/docs/assets/swagger-ui/0.0.0/swagger-ui-bundle.js").status_code == 404
    assert client.get("/docs/assets/../settings.py").status_code == 404


def test_each_vendored_ui_keeps_its_licence() -> None:
    versions = json.loads((ASSETS / "VERSIONS.json").read_text())
    assert set(versions) == {"swagger-ui", "redoc", "scalar", "rapidoc", "stoplight"}
    for ui, info in versions.items():
        assert info["licences"], ui
        for licence in info["licences"]:
            text = (ASSETS / ui / licence).read_text()
            assert "licen" in text.lower() or "copyright" in text.lower(), (ui, licence)


def test_vendoring_script_check_passes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_docs_assets.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_render_plugins_choose_the_pages_and_paths() -> None:
    config = OpenAPIConfig(
        title="Chosen",
        render_plugins=[
            ScalarRenderPlugin(path="/"),
            RedocRenderPlugin(path=["/reference", "/redoc"]),
            YamlRenderPlugin(path="/spec.yaml"),
        ],
    )
    assert isinstance(config.default_plugin, ScalarRenderPlugin)
    api = BoltAPI(openapi_config=config)

    @api.get("/a")
    async def a() -> dict[str, int]:
        return {"a": 1}

    with TestClient(api) as client:
        assert "Scalar.createApiReference" in client.get("/docs").text
        assert "Redoc.init" in client.get("/docs/reference").text
        assert "Redoc.init" in client.get("/docs/redoc").text
        assert client.get("/docs/scalar").status_code == 404
        assert client.get("/docs/swagger").status_code == 404
        spec = client.get("/docs/spec.yaml")
        assert spec.headers["content-type"].startswith("text/yaml")
        assert "title: Chosen" in spec.text


def test_element_options_are_escaped_attributes() -> None:
    config = OpenAPIConfig(
        render_plugins=[
            RapidocRenderPlugin(path="/", options={"theme": "dark", "heading-text": 'a"b'}),
            StoplightRenderPlugin(path="/elements", options={"layout": "stacked"}),
        ]
    )
    with TestClient(BoltAPI(openapi_config=config)) as client:
        rapidoc = client.get("/docs").text
        assert 'theme="dark"' in rapidoc
        assert 'heading-text="a&quot;b"' in rapidoc
        assert 'layout="stacked"' in client.get("/docs/elements").text


def test_plugin_urls_can_point_elsewhere() -> None:
    plugin = SwaggerRenderPlugin(path="/", js_url="/static/ui.js", css_url="/static/ui.css")
    api = BoltAPI(openapi_config=OpenAPIConfig(render_plugins=[plugin]))
    with TestClient(api) as client:
        html = client.get("/docs").text
    assert '<script src="/static/ui.js">' in html
    assert '<link rel="stylesheet" href="/static/ui.css">' in html


def test_title_is_escaped_in_pages() -> None:
    api = BoltAPI(openapi_config=OpenAPIConfig(title="</title><script>x()</script>"))
    with TestClient(api) as client:
        for path in PAGES:
            html = client.get(path).text
            assert "<script>x()" not in html
            assert "&lt;/title&gt;" in html


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="cannot be '/'"):
        OpenAPIConfig(path="/")
    with pytest.raises(ValueError, match=r"\.json"):
        OpenAPIConfig(openapi_url="/schema")
    with pytest.raises(TypeError, match="OpenAPIRenderPlugin"):
        OpenAPIConfig(render_plugins=["swagger"])  # type: ignore[list-item]


def test_pages_forbid_other_hosts_with_a_content_security_policy(client: TestClient) -> None:
    for path in PAGES:
        policy = client.get(path).headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"].startswith("'self'")
        assert "http" not in directives["script-src"] + directives["style-src"]
        # "Try it out" may call the absolute server the document names (everykind's servers).
        assert directives["connect-src"] == "'self' http://testserver"
    # The raw document is not a page.
    assert "content-security-policy" not in client.get("/openapi.json").headers


def test_no_policy_when_the_ui_is_loaded_from_elsewhere() -> None:
    plugin = SwaggerRenderPlugin(path="/", js_url="https://cdn.example/ui.js")
    api = BoltAPI(openapi_config=OpenAPIConfig(render_plugins=[plugin, RedocRenderPlugin()]))
    with TestClient(api) as client:
        assert "content-security-policy" not in client.get("/docs").headers
        assert "content-security-policy" in client.get("/docs/redoc").headers
