"""Refresh the documentation UIs' JavaScript and CSS shipped inside ``django_bolt/openapi``.

The docs pages must work without internet access, so Swagger UI, ReDoc, Scalar, RapiDoc and
Stoplight Elements are served by our own server from files in the package. This script fetches
each pinned package from the npm registry with ``npm pack`` (the ordinary client), copies the
few files the pages load plus the package's licence files, unmodified, into
``django_bolt/openapi/assets/<ui>/``, and records the versions in ``assets/VERSIONS.json``
(read at run time to version the asset URLs) and ``assets/README.md``.

    python3 scripts/vendor_docs_assets.py            # the pinned versions below
    python3 scripts/vendor_docs_assets.py --check    # exit 1 if the files differ from the pins

To upgrade a UI, change its pin here, run the script, look at the pages in a browser (the test
``tests/openapi/test_browser.py`` does it headless) and commit the result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Final, NamedTuple

ASSETS: Final = Path(__file__).resolve().parent.parent / "django_bolt" / "openapi" / "assets"


class Package(NamedTuple):
    ui: str  # folder under assets/, and the name the asset URLs use
    npm_name: str
    version: str  # an exact version: the URLs carry it, and browsers cache them for a year
    files: tuple[str, ...]  # paths inside the package tarball (under package/)
    licences: tuple[str, ...]  # licence files to keep beside the files, when the package has them


PACKAGES: Final = (
    Package(
        "swagger-ui",
        "swagger-ui-dist",
        "5.35.0",
        ("swagger-ui-bundle.js", "swagger-ui.css"),
        ("LICENSE", "NOTICE"),
    ),
    Package(
        "redoc",
        "redoc",
        "2.5.4",
        ("bundles/redoc.standalone.js",),
        ("LICENSE", "bundles/redoc.standalone.js.LICENSE.txt"),
    ),
    Package(
        "scalar",
        "@scalar/api-reference",
        "1.72.1",
        ("dist/browser/standalone.js",),
        ("LICENSE",),
    ),
    Package(
        "rapidoc",
        "rapidoc",
        "9.3.8",
        ("dist/rapidoc-min.js",),
        ("LICENSE.txt", "dist/rapidoc-min.js.LICENSE.txt"),
    ),
    Package(
        "stoplight",
        "@stoplight/elements",
        "9.0.25",
        ("web-components.min.js", "styles.min.css"),
        ("LICENSE",),
    ),
)


def _log(message: str) -> None:
    print(f"[vendor] {message}", file=sys.stderr, flush=True)


def _pack(package: Package, workdir: Path) -> Path:
    """Download ``name@version`` as the registry's tarball and unpack it; returns package/."""
    spec = f"{package.npm_name}@{package.version}"
    _log(f"npm pack {spec}")
    out = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    tarball = workdir / out[-1]
    target = workdir / package.ui
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_MIT_TEXT: Final = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _write_declared_licence(package: Package, manifest: dict[str, object], folder: Path) -> str:
    """Write a licence file for a package whose tarball has none (its package.json names MIT)."""
    if manifest.get("license") != "MIT":
        raise SystemExit(f"{package.npm_name} ships no licence file; add one by hand")
    author = manifest.get("author") or package.npm_name
    text = (
        f"{package.npm_name} {package.version}: its npm tarball ships no licence file; its\n"
        f"package.json declares the MIT licence, whose text follows.\n\n"
        f"MIT License\n\nCopyright (c) {author}\n\n{_MIT_TEXT}"
    )
    (folder / "LICENSE").write_text(text)
    return "LICENSE"


def vendor(packages: tuple[Package, ...] = PACKAGES) -> dict[str, dict[str, object]]:
    """Fetch every package and write its files; returns what VERSIONS.json records."""
    record: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            root = _pack(package, Path(tmp))
            folder = ASSETS / package.ui
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            files: dict[str, str] = {}
            for name in package.files:
                source = root / name
                target = folder / Path(name).name
                shutil.copyfile(source, target)
                files[target.name] = _sha256(target)
            licences = []
            for name in package.licences:
                source = root / name
                if source.exists():
                    shutil.copyfile(source, folder / Path(name).name)
                    licences.append(Path(name).name)
            manifest = json.loads((root / "package.json").read_text())
            if not licences:
                licences.append(_write_declared_licence(package, manifest, folder))
            record[package.ui] = {
                "package": package.npm_name,
                "version": package.version,
                "license": manifest.get("license", "see licence file"),
                "files": files,
                "licences": licences,
            }
    return record


def write_notes(record: dict[str, dict[str, object]]) -> None:
    (ASSETS / "VERSIONS.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    lines = [
        "# Vendored documentation UIs",
        "",
        "Third-party files shipped unmodified so that `/docs` works without internet access.",
        "Do not edit them: run `python3 scripts/vendor_docs_assets.py` to refresh them from the",
        "npm registry at the versions pinned in that script.",
        "",
        "| folder | npm package | version | licence |",
        "| --- | --- | --- | --- |",
    ]
    for ui, info in sorted(record.items()):
        licences = ", ".join(f"`{ui}/{name}`" for name in info["licences"])  # type: ignore[attr-defined]
        package = f"`{info['package']}` | {info['version']}"
        lines.append(f"| `{ui}/` | {package} | {info['license']} ({licences}) |")
    (ASSETS / "README.md").write_text("\n".join(lines) + "\n")


def check() -> int:
    """1 when a vendored file is missing or differs from VERSIONS.json, or a pin changed."""
    try:
        record = json.loads((ASSETS / "VERSIONS.json").read_text())
    except FileNotFoundError:
        _log("assets/VERSIONS.json is missing")
        return 1
    status = 0
    for package in PACKAGES:
        info = record.get(package.ui)
        if info is None or info["version"] != package.version:
            _log(f"{package.ui}: pinned {package.version}, vendored {info and info['version']}")
            status = 1
            continue
        for name, digest in info["files"].items():
            path = ASSETS / package.ui / name
            if not path.exists() or _sha256(path) != digest:
                _log(f"{package.ui}/{name} is missing or modified")
                status = 1
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of downloading")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    record = vendor()
    write_notes(record)
    _log(f"wrote {ASSETS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
