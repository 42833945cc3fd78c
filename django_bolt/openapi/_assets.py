"""The vendored UI files (see assets/README.md) and the versioned URLs they are served at.

``VERSIONS.json`` is written by ``scripts/vendor_docs_assets.py``: for each UI folder, the
package version and each file's SHA-256. The version is part of every asset URL, so the files
can be cached for a year; the digest is the ETag.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Final, NamedTuple

__all__ = ("Asset", "asset_url", "vendored_assets")

ASSETS_DIR: Final = Path(__file__).resolve().parent / "assets"

_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class Asset(NamedTuple):
    ui: str
    version: str
    name: str
    file: Path
    sha256: str
    media_type: str


@functools.cache
def vendored_assets() -> tuple[Asset, ...]:
    """Every vendored file the pages load, as recorded in VERSIONS.json."""
    record = json.loads((ASSETS_DIR / "VERSIONS.json").read_text())
    found: list[Asset] = []
    for ui, info in sorted(record.items()):
        for name, digest in sorted(info["files"].items()):
            suffix = Path(name).suffix
            found.append(
                Asset(
                    ui,
                    info["version"],
                    name,
                    ASSETS_DIR / ui / name,
                    digest,
                    _MEDIA_TYPES.get(suffix, "application/octet-stream"),
                )
            )
    return tuple(found)


def asset_url(docs_path: str, ui: str, name: str) -> str:
    """Return the URL one vendored file is served at: ``<docs>/assets/<ui>/<version>/<name>``."""
    for asset in vendored_assets():
        if asset.ui == ui and asset.name == name:
            return f"{docs_path}/assets/{ui}/{asset.version}/{name}"
    raise LookupError(f"no vendored asset {ui}/{name} (run scripts/vendor_docs_assets.py)")
