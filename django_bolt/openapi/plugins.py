"""Render plugins: the pages (Swagger UI, ReDoc, Scalar, RapiDoc, Stoplight Elements) and the raw
formats the docs are served as.

Every page loads its JavaScript and CSS from our own server (the files vendored under
``assets/``), never from a CDN, so the docs work on a machine without internet access. A
plugin's ``path`` is relative to ``OpenAPIConfig.path``; ``js_url`` / ``css_url`` point a page
at other copies of the UI when a project prefers to host them elsewhere.
"""

from __future__ import annotations

import html
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django_bolt.openapi._assets import asset_url

__all__ = (
    "JsonRenderPlugin",
    "OpenAPIRenderPlugin",
    "RapidocRenderPlugin",
    "RedocRenderPlugin",
    "ScalarRenderPlugin",
    "StoplightRenderPlugin",
    "SwaggerRenderPlugin",
    "YamlRenderPlugin",
    "to_yaml",
)

# The pages may load from their own server only. The UIs' bundles reach out by themselves
# (ReDoc's sidebar shows a logo from its vendor's CDN): the browser refuses such requests
# before they leave, so the docs behave the same with or without internet access. Inline
# script and style are the pages' own bootstrap code and the UIs' styling.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
# An empty icon: without it every page view asks the server for /favicon.ico.
_DEFAULT_FAVICON = "<link rel='icon' href='data:,'>"
_DEFAULT_STYLE = "<style>body { margin: 0; padding: 0 }</style>"


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>`` can close it early)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class OpenAPIRenderPlugin(ABC):
    """Base class of the documentation renderers: one page (or format) at one or more paths."""

    def __init__(
        self,
        *,
        path: str | list[str],
        media_type: str = "text/html; charset=utf-8",
        favicon: str = _DEFAULT_FAVICON,
        style: str = _DEFAULT_STYLE,
        content_security_policy: str | None = DEFAULT_CSP,
    ) -> None:
        self.paths = [path] if isinstance(path, str) else list(path)
        if not self.paths:
            raise ValueError(f"{type(self).__name__} needs at least one path")
        self.media_type = media_type
        self.favicon = favicon
        self.style = style
        self._csp = content_security_policy
        # Set when the docs routes are built: the asset URLs live under the docs path.
        self.docs_path = "/docs"

    def has_path(self, path: str) -> bool:
        return path in self.paths

    def external_urls(self) -> list[str]:
        """Return the ``js_url`` / ``css_url`` given to load the UI from elsewhere (none by
        default)."""
        return [
            url
            for url in (getattr(self, "js_url", None), getattr(self, "css_url", None))
            if url and not (url.startswith("/") and not url.startswith("//"))
        ]

    @property
    def content_security_policy(self) -> str | None:
        """The page's ``Content-Security-Policy``: none for a raw format, or when the UI is
        loaded from another host (the default policy would block it)."""
        if not self.media_type.startswith("text/html") or self.external_urls():
            return None
        return self._csp

    @staticmethod
    def render_json(openapi_schema: dict[str, Any]) -> str:
        return json.dumps(openapi_schema, ensure_ascii=False)

    @abstractmethod
    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        """Return the page (or document) for ``openapi_schema``, whose JSON is served at
        ``schema_url``."""

    def _title(self, openapi_schema: dict[str, Any]) -> str:
        return html.escape(str(openapi_schema.get("info", {}).get("title", "API")))

    def _page(self, openapi_schema: dict[str, Any], head: str, body: str) -> str:
        return (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            f"<title>{self._title(openapi_schema)}</title>\n"
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"{self.favicon}\n{head}\n{self.style}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
        )


class JsonRenderPlugin(OpenAPIRenderPlugin):
    """The document as JSON (also always served at ``<path>/openapi.json``)."""

    def __init__(
        self,
        *,
        path: str | list[str] = "/openapi.json",
        media_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, media_type=media_type, **kwargs)

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        return self.render_json(openapi_schema)


class YamlRenderPlugin(OpenAPIRenderPlugin):
    """The document as YAML (also always served at ``<path>/openapi.yaml``)."""

    def __init__(
        self,
        *,
        path: str | list[str] | None = None,
        media_type: str = "text/yaml; charset=utf-8",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            path=path if path is not None else ["/openapi.yaml", "/openapi.yml"],
            media_type=media_type,
            **kwargs,
        )

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        return to_yaml(openapi_schema).decode()


class _UIRenderPlugin(OpenAPIRenderPlugin):
    """A documentation UI page: its script (and stylesheet, for UIs that have one) comes from
    the vendored assets unless ``js_url``/``css_url`` point elsewhere; ``options`` configure it."""

    ui: ClassVar[str]
    default_path: ClassVar[str]
    has_css: ClassVar[bool] = False

    def __init__(
        self,
        *,
        js_url: str | None = None,
        css_url: str | None = None,
        path: str | list[str] | None = None,
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if css_url is not None and not self.has_css:
            raise TypeError(f"{type(self).__name__} takes no css_url")
        self.js_url = js_url
        self.css_url = css_url
        self.options = dict(options or {})
        super().__init__(path=self.default_path if path is None else path, **kwargs)


class SwaggerRenderPlugin(_UIRenderPlugin):
    """Swagger UI: browse the operations and send requests with "Try it out"."""

    ui: ClassVar[str] = "swagger-ui"
    default_path: ClassVar[str] = "/swagger"
    has_css: ClassVar[bool] = True

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        js = self.js_url or asset_url(self.docs_path, self.ui, "swagger-ui-bundle.js")
        css = self.css_url or asset_url(self.docs_path, self.ui, "swagger-ui.css")
        # validatorUrl null: Swagger UI would otherwise send the document to an online validator.
        options = {
            "url": schema_url,
            "dom_id": "#swagger-ui",
            "deepLinking": True,
            "validatorUrl": None,
            "layout": "BaseLayout",
            **self.options,
        }
        head = f'<link rel="stylesheet" href="{html.escape(css)}">'
        body = (
            '<div id="swagger-ui"></div>\n'
            f'<script src="{html.escape(js)}"></script>\n'
            "<script>\n"
            f"const options = {script_json(options)};\n"
            "options.presets = [SwaggerUIBundle.presets.apis];\n"
            "window.ui = SwaggerUIBundle(options);\n"
            "</script>"
        )
        return self._page(openapi_schema, head, body)


class RedocRenderPlugin(_UIRenderPlugin):
    """ReDoc: a three-panel reference page."""

    ui: ClassVar[str] = "redoc"
    default_path: ClassVar[str] = "/redoc"

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        js = self.js_url or asset_url(self.docs_path, self.ui, "redoc.standalone.js")
        body = (
            '<div id="redoc-container"></div>\n'
            f'<script src="{html.escape(js)}"></script>\n'
            "<script>\n"
            f"Redoc.init({script_json(schema_url)}, {script_json(self.options)}, "
            "document.getElementById('redoc-container'));\n"
            "</script>"
        )
        return self._page(openapi_schema, "", body)


class ScalarRenderPlugin(_UIRenderPlugin):
    """Scalar's API reference, with its own request client."""

    ui: ClassVar[str] = "scalar"
    default_path: ClassVar[str] = "/scalar"

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        js = self.js_url or asset_url(self.docs_path, self.ui, "standalone.js")
        # Scalar loads its fonts from its own CDN unless told not to.
        options = {"url": schema_url, "withDefaultFonts": False, **self.options}
        body = (
            '<div id="app"></div>\n'
            f'<script src="{html.escape(js)}"></script>\n'
            f"<script>Scalar.createApiReference('#app', {script_json(options)});</script>"
        )
        return self._page(openapi_schema, "", body)


class RapidocRenderPlugin(_UIRenderPlugin):
    """RapiDoc: a web component reference with a request console; ``options`` become
    attributes of its element (``theme="dark"``, ...)."""

    ui: ClassVar[str] = "rapidoc"
    default_path: ClassVar[str] = "/rapidoc"

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        js = self.js_url or asset_url(self.docs_path, self.ui, "rapidoc-min.js")
        attributes = {"spec-url": schema_url, "load-fonts": "false", **self.options}
        rendered = _attributes(attributes)
        head = f'<script type="module" src="{html.escape(js)}"></script>'
        return self._page(openapi_schema, head, f"<rapi-doc {rendered}></rapi-doc>")


class StoplightRenderPlugin(_UIRenderPlugin):
    """Stoplight Elements: a three-column reference with a "Try It" panel; ``options`` become
    attributes of its element (``layout="stacked"``, ...)."""

    ui: ClassVar[str] = "stoplight"
    default_path: ClassVar[str] = "/stoplight"
    has_css: ClassVar[bool] = True

    def render(self, openapi_schema: dict[str, Any], schema_url: str) -> str:
        js = self.js_url or asset_url(self.docs_path, self.ui, "web-components.min.js")
        css = self.css_url or asset_url(self.docs_path, self.ui, "styles.min.css")
        attributes = {
            "apiDescriptionUrl": schema_url,
            "router": "hash",
            "layout": "sidebar",
            **self.options,
        }
        rendered = _attributes(attributes)
        head = (
            f'<script src="{html.escape(js)}"></script>\n'
            f'<link rel="stylesheet" href="{html.escape(css)}">'
        )
        body = f"<elements-api {rendered}></elements-api>"
        return self._page(openapi_schema, head, body)


def _attributes(values: dict[str, Any]) -> str:
    """Return an element's attributes, escaped."""
    return " ".join(
        f'{html.escape(name)}="{html.escape(str(value))}"' for name, value in values.items()
    )


def to_yaml(document: dict[str, Any]) -> bytes:
    """Encode the document as YAML (PyYAML through msgspec; keys keep the document's order)."""
    # Imported here: msgspec.yaml needs PyYAML, an optional dependency only YAML output uses.
    import msgspec.yaml

    return msgspec.yaml.encode(document)
