"""The documentation routes: the document (JSON, YAML), the UI pages and their vendored assets.

``BoltAPI.compile()`` adds them as ordinary routes (``include_in_schema=False``), so serving
them costs the other routes nothing. The document is generated on the first request for it (or
for a page) and kept for the life of the process; asset files are read on first request too.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import msgspec

from django_bolt.openapi._assets import vendored_assets
from django_bolt.openapi.config import DocumentedAPI, OpenAPIConfig, effective_config
from django_bolt.openapi.plugins import to_yaml
from django_bolt.openapi.schema import SchemaGenerator
from django_bolt.openapi.spec import to_json_value
from django_bolt.request import Request  # noqa: TC001 - the binder resolves it at run time
from django_bolt.responses import Response
from django_bolt.router import RouteInfo

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from django_bolt.openapi._assets import Asset
    from django_bolt.openapi.plugins import OpenAPIRenderPlugin

__all__ = ("DocumentCache", "docs_routes", "effective_config")

# The asset URL carries the package version, so a file at one URL never changes.
_ASSET_CACHE: Final = "public, max-age=31536000, immutable"
_PAGE_CACHE: Final = "no-cache"
_JSON: Final = "application/json"
_YAML: Final = "text/yaml; charset=utf-8"


class DocumentCache:
    """The document of one API, built once on first use, with its JSON and YAML encodings."""

    __slots__ = ("_document", "_json", "_lock", "_yaml", "api", "config")

    def __init__(self, api: DocumentedAPI, config: OpenAPIConfig) -> None:
        self.api = api
        self.config = config
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._json: bytes | None = None
        self._yaml: bytes | None = None

    def document(self) -> dict[str, Any]:
        document = self._document
        if document is None:
            # Worker threads each run a loop: the first request in any of them builds it, once.
            with self._lock:
                document = self._document
                if document is None:
                    document = SchemaGenerator(self.api, self.config).generate()
                    self._document = document
        return document

    def json(self) -> bytes:
        if self._json is None:
            self._json = msgspec.json.encode(self.document())
        return self._json

    def yaml(self) -> bytes:
        if self._yaml is None:
            self._yaml = to_yaml(self.document())
        return self._yaml


def _bare(path: str) -> str:
    return path.rstrip("/") or "/"


def _join(base: str, path: str) -> str:
    tail = path.strip("/")
    return base if not tail else f"{base}/{tail}"


def docs_routes(api: DocumentedAPI) -> list[RouteInfo]:
    """Build the routes serving ``api``'s docs (none when disabled); paths the API already
    serves itself are left to it.

    The docs paths are written without a trailing slash whatever ``trailing_slash`` says (the
    other spelling answers 308 to them), so a route of the API's own at either spelling counts:
    under ``"append"`` a handler for ``/docs`` is registered as ``/docs/``, and Swagger UI must
    not keep answering at ``/docs`` beside it.
    """
    config = effective_config(api)
    if config is None:
        return []
    taken = {_bare(info.path) for info in api.routes() if "GET" in info.methods}
    cache = DocumentCache(api, config)
    routes: list[RouteInfo] = []

    def add(path: str, endpoint: Callable[..., Awaitable[Response]], name: str) -> None:
        if path in taken:
            return
        taken.add(path)
        routes.append(
            RouteInfo(
                path,
                ("GET",),
                endpoint,
                name=name,
                include_in_schema=False,
                # Explicit, so the settings' default auth/guards do not apply to the docs.
                auth=list(config.auth or []),
                guards=list(config.guards or []),
            )
        )

    json_paths = [f"{config.path}/openapi.json"]
    yaml_paths = [f"{config.path}/openapi.yaml", f"{config.path}/openapi.yml"]
    if config.openapi_url is not None:
        json_paths.append(config.openapi_url)
        yaml_paths.append(config.openapi_url[: -len(".json")] + ".yaml")
    for path in json_paths:
        add(path, _document_view(cache.json, _JSON), "openapi_json")
    for path in yaml_paths:
        add(path, _document_view(cache.yaml, _YAML), "openapi_yaml")
    schema_url = json_paths[0]
    servers = _server_origins(config)
    root = config.default_plugin
    for plugin in config.render_plugins:
        plugin.docs_path = config.path
        page = _page_view(plugin, cache, schema_url, servers)
        relatives = list(plugin.paths)
        if plugin is root and not plugin.has_path("/"):
            # No plugin claims the docs path itself: the first one serves it (as in 0.13).
            relatives.insert(0, "/")
        for relative in relatives:
            add(_join(config.path, relative), page, f"docs_{type(plugin).__name__}")
    for asset in vendored_assets():
        url = f"{config.path}/assets/{asset.ui}/{asset.version}/{asset.name}"
        add(url, _asset_view(asset), f"docs_asset_{asset.ui}")
    return routes


def _document_view(
    encoded: Callable[[], bytes], media_type: str
) -> Callable[[], Awaitable[Response]]:
    async def openapi_document() -> Response:
        return Response(encoded(), media_type=media_type, headers={"cache-control": _PAGE_CACHE})

    return openapi_document


def _server_origins(config: OpenAPIConfig) -> list[str]:
    """Return the origins of the absolute ``servers`` URLs: "Try it out" may send requests there."""
    origins: list[str] = []
    for server in config.servers:
        url = server if isinstance(server, str) else str(to_json_value(server).get("url", ""))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc and "{" not in parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(origins))


def _page_view(
    plugin: OpenAPIRenderPlugin, cache: DocumentCache, schema_url: str, servers: list[str]
) -> Callable[[], Awaitable[Response]]:
    rendered: list[bytes] = []
    headers = {"cache-control": _PAGE_CACHE}
    policy = plugin.content_security_policy
    if policy:
        if servers:
            policy = policy.replace("connect-src 'self'", "connect-src 'self' " + " ".join(servers))
        headers["content-security-policy"] = policy

    async def docs_page() -> Response:
        if not rendered:
            rendered.append(plugin.render(cache.document(), schema_url).encode())
        return Response(rendered[0], media_type=plugin.media_type, headers=headers)

    return docs_page


def _asset_view(asset: Asset) -> Callable[[Request], Awaitable[Response]]:
    etag = f'"{asset.sha256[:32]}"'
    headers = {"cache-control": _ASSET_CACHE, "etag": etag}
    content: list[bytes] = []

    async def docs_asset(request: Request) -> Response:
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(b"", 304, headers=headers)
        if not content:
            content.append(asset.file.read_bytes())
        return Response(content[0], media_type=asset.media_type, headers=headers)

    return docs_asset


def _matches(header: str | None, etag: str) -> bool:
    """RFC 9110 section 13.1.2: a weak comparison against any listed tag, or ``*``."""
    if not header:
        return False
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
