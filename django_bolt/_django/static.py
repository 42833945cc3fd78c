"""Static and media files in production: ``STATIC_ROOT`` and ``MEDIA_ROOT`` served by our server.

With ``DEBUG = False`` Django serves neither, and the usual answer is WhiteNoise or a web server in
front. Here the miss path of ``dispatch`` asks :class:`StaticFiles` first: a GET or HEAD under
``STATIC_URL`` (or ``MEDIA_URL``) is looked up under the matching root (for ``STATIC_URL``: then
in each ``STATICFILES_DIRS`` entry, as Django-Bolt 0.13 does) and answered with the same
machinery as :class:`~django_bolt.responses.FileResponse` (ETag, Last-Modified, 304, Range,
large files read by the pool), plus what a static server adds:

- a pre-compressed sibling (``name.br``, ``name.gz``) when it exists and the client accepts that
  coding, with the content type of the original and ``vary: accept-encoding``;
- ``cache-control: public, max-age=31536000, immutable`` for hashed names (``name.<12 hex>.ext``
  as ``ManifestStaticFilesStorage`` writes them, or a value of ``staticfiles.json``'s ``paths``),
  and a revalidating policy for every other name (a name that can change content must not be
  cached blindly);
- no way out of the root: ``..``, ``.``, empty segments, backslashes, NUL bytes and undecodable
  escapes are refused with the JSON 404 before the file system is touched, and a symlink whose
  target lies outside the root is a 404 too.

A name that is simply not there (or is a directory) is not answered here: the request goes on to
Django's URLconf, which may serve it (a view for protected media) or answers the JSON 404.

Everything that depends on settings (prefixes, resolved roots, the manifest) is read once, when
the API compiles.
"""

from __future__ import annotations

import functools
import json
import logging
import mimetypes
import os
import re
import stat
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_to_bytes, urlsplit

from django.contrib.staticfiles.storage import staticfiles_storage

from django_bolt._http.files import file_wire
from django_bolt._http.wire import CT_JSON, WireResponse
from django_bolt.conf import framework_config

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = (
    "CACHE_HASHED",
    "CACHE_REVALIDATE",
    "FileMount",
    "StaticFiles",
    "static_files_from_settings",
)

logger: Final = logging.getLogger("django_bolt")

# A hashed name never changes content, so caches may keep it for a year without asking again.
CACHE_HASHED: Final = b"public, max-age=31536000, immutable"
# Any other name may be replaced in place (a new collectstatic, an uploaded file saved again):
# caches keep it but ask every time, which costs a 304 when nothing changed.
CACHE_REVALIDATE: Final = b"public, max-age=0, must-revalidate"
# An upload's URL is often its only guard: a shared cache must not keep it for another user.
CACHE_REVALIDATE_PRIVATE: Final = b"private, max-age=0, must-revalidate"

# ManifestStaticFilesStorage.hashed_name(): "<root>.<md5[:12]><ext>", ext possibly empty.
_HASHED_NAME: Final = re.compile(r"\.[0-9a-f]{12}(?:\.[^./]+)?\Z")
_MANIFEST_NAME: Final = "staticfiles.json"
# Preference order when the client accepts several: brotli files are the smaller ones.
_CODINGS: Final = ((b"br", ".br"), (b"gzip", ".gz"))
_ACCEPT_CACHE_MAX: Final = 256
_TEXT_LIKE: Final = frozenset({"application/javascript", "application/json"})

_NOT_FOUND: Final = b'{"detail":"Not Found"}'
_BAD_REQUEST: Final = b'{"detail":"Bad Request"}'
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")
# Uploads of these types could run script on this origin if a browser rendered them.
_SCRIPT_BEARING: Final = frozenset(
    {
        *("html", "htm", "xhtml", "xhtm", "shtml", "shtm", "htc", "hta"),
        *("svg", "svgz", "xml", "xsl", "xslt"),
        *("js", "mjs", "cjs", "wasm"),
    }
)
_VARY: Final = (b"vary", b"accept-encoding")


def _refusal(status: int) -> WireResponse:
    """Return the file server's own 400 or 404, with ``nosniff`` as on all its answers."""
    return WireResponse(status, [CT_JSON, _NOSNIFF], _BAD_REQUEST if status == 400 else _NOT_FOUND)


@functools.lru_cache(maxsize=256)
def _content_type(ext: str) -> bytes:
    """Return the content type for a file extension (of the name asked for, not of a sibling)."""
    guessed, encoding = mimetypes.guess_type("f" + ext)
    if encoding is not None:
        # "x.css.gz" asked for by name is a gzip file, not a compressed stylesheet.
        guessed = {"gzip": "application/gzip", "br": "application/x-brotli"}.get(
            encoding, "application/octet-stream"
        )
    elif guessed is None:
        guessed = "application/octet-stream"
    elif guessed.startswith("text/") or guessed in _TEXT_LIKE:
        guessed += "; charset=utf-8"
    return guessed.encode("latin-1")


_accept_cache: dict[str, frozenset[bytes]] = {}


def _accepted_codings(header: str | None) -> frozenset[bytes]:
    """Return the codings of ``_CODINGS`` an ``Accept-Encoding`` value allows (q > 0, ``*``
    included)."""
    if not header:
        return frozenset()
    cached = _accept_cache.get(header)
    if cached is not None:
        return cached
    allowed: set[bytes] = set()
    refused: set[bytes] = set()
    for item in header.split(","):
        coding, _, params = item.partition(";")
        name = coding.strip().lower().encode("latin-1", "replace")
        if name == b"x-gzip":
            name = b"gzip"
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        (allowed if quality > 0 else refused).add(name)
    if b"*" in allowed:
        allowed.update(coding for coding, _ in _CODINGS if coding not in refused)
    result = frozenset(coding for coding, _ in _CODINGS if coding in allowed)
    # Browsers send a handful of distinct values; the bound keeps odd clients from growing it.
    if len(_accept_cache) < _ACCEPT_CACHE_MAX:
        _accept_cache[header] = result
    return result


class _Traversal(Exception):
    """A ``.`` or ``..`` segment: an attempt to leave the directory, answered 400."""


def _safe_relative(rest: str) -> str | None:
    """Return the decoded relative name for the raw path after the prefix; None if it names no
    file that may be served; raise :class:`_Traversal` for a dot segment."""
    try:
        if "%" in rest:
            name = unquote_to_bytes(rest).decode("utf-8")
        else:
            name = rest.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    if not name or name[0] == "/" or "\\" in name or "\x00" in name:
        return None
    for segment in name.split("/"):
        if segment in (".", ".."):
            raise _Traversal(name)
        # "" (a "//" or a trailing "/") would make os.path.join restart or name a directory;
        # a dotfile (".env", ".git/config") is never served, as nginx and Apache refuse them.
        if not segment or segment[0] == ".":
            return None
    return name


class FileMount:
    """One URL prefix served from one directory.

    A name with a component that starts with a dot (``.env``, ``.git/config``) is a 404, a ``.``
    or ``..`` segment a 400, and every answer carries ``X-Content-Type-Options: nosniff``. A
    media mount (``media=True``: ``MEDIA_ROOT``, user uploads) is stricter: a file whose type
    can carry script (HTML, SVG, XML, JavaScript, WebAssembly) is sent as a download
    (``application/octet-stream``, ``Content-Disposition: attachment``) so a browser never runs
    it on this origin. ``max_age`` (``BOLT_STATIC_MAX_AGE`` / ``BOLT_MEDIA_MAX_AGE``) sets the
    ``Cache-Control`` of names that are not hashed; it is ``public`` for static files,
    ``private`` for media.
    ``extra_roots`` (``STATICFILES_DIRS``, as ``(prefix, directory)`` pairs) are looked in, in
    order, for a name ``root`` does not hold; each one keeps its own files in (no symlink out).
    """

    __slots__ = ("cache_control", "hashed_names", "immutable", "lookups", "media", "prefix", "root")

    def __init__(
        self,
        prefix: str,
        root: str | None,
        immutable: bool,
        hashed_names: frozenset[str],
        *,
        media: bool = False,
        max_age: int | None = None,
        extra_roots: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.prefix = prefix
        self.root = os.path.realpath(root) if root else None
        # (name prefix, directory), looked in in order. As Django's FileSystemFinder does it,
        # "css/x.css" of a directory given with the prefix "lib" is asked for as "lib/css/x.css".
        lookups = [("", self.root)] if self.root else []
        lookups.extend(
            (extra_prefix + "/" if extra_prefix else "", os.path.realpath(directory))
            for extra_prefix, directory in extra_roots
        )
        self.lookups = tuple(lookups)
        # Only STATIC_ROOT holds names that promise never to change; uploads do not.
        self.immutable = immutable
        self.hashed_names = hashed_names
        self.media = media
        if max_age is None:
            self.cache_control = CACHE_REVALIDATE_PRIVATE if media else CACHE_REVALIDATE
        else:
            scope = b"private" if media else b"public"
            self.cache_control = b"%s, max-age=%d" % (scope, max_age)

    def __repr__(self) -> str:
        return f"<FileMount {self.prefix} -> {[root for _, root in self.lookups]}>"

    @staticmethod
    def _inside(path: str, root: str) -> str | None:
        """``path`` with symlinks resolved, or None when that lands outside ``root``."""
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError):
            return None
        if real == path:
            return real
        return real if os.path.commonpath((root, real)) == root else None

    def _find(self, name: str) -> tuple[str, str, os.stat_result] | None:
        """Return (root, resolved path, stat) of the first regular file named ``name``; raise
        LookupError when a candidate's symlink leads out of its root."""
        for name_prefix, root in self.lookups:
            if not name.startswith(name_prefix) or len(name) == len(name_prefix):
                continue
            real = self._inside(os.path.join(root, name[len(name_prefix) :]), root)
            if real is None:
                raise LookupError(name)
            try:
                info = os.stat(real)
            except (OSError, ValueError):
                continue
            if stat.S_ISREG(info.st_mode):
                return root, real, info
        return None

    def serve(self, request: Request, rest: str) -> WireResponse | None:
        """Return the answer for the raw path ``rest`` below the prefix; None: not here, ask
        Django."""
        try:
            name = _safe_relative(rest)
        except _Traversal:
            return _refusal(400)
        if name is None:
            return _refusal(404)
        try:
            found = self._find(name)
        except LookupError:
            return _refusal(404)
        if found is None:
            return None
        root, real, info = found
        headers = self._headers(name, collected=root == self.root)
        served, served_info = real, info
        accepted = _accepted_codings(request.headers.get("accept-encoding"))
        varies = encoded = False
        for coding, suffix in _CODINGS:
            sibling = self._sibling(real + suffix, root)
            if sibling is None:
                continue
            if not varies:
                # The answer depends on Accept-Encoding whenever a sibling exists, also for a
                # client that gets the original: a shared cache must not mix them up.
                varies = True
                headers.append(_VARY)
            if coding in accepted and not encoded:
                encoded = True
                served, served_info = sibling
                headers.append((b"content-encoding", coding))
        return file_wire(served, served_info, 200, headers).finish(request)

    def _headers(self, name: str, *, collected: bool) -> list[tuple[bytes, bytes]]:
        """Return the content type and caching fields of the file ``name`` (media: disarmed).

        ``collected``: found in the root itself, where the manifest's names are.
        """
        ext = os.path.splitext(name)[1].lower()
        listed = collected and name in self.hashed_names
        if self.immutable and (listed or _HASHED_NAME.search(name)):
            cache = CACHE_HASHED
        else:
            cache = self.cache_control
        if not self.media:
            return [(b"content-type", _content_type(ext)), (b"cache-control", cache), _NOSNIFF]
        headers = [(b"cache-control", cache), _NOSNIFF]
        if ext[1:] in _SCRIPT_BEARING:
            headers.append((b"content-type", b"application/octet-stream"))
            headers.append((b"content-disposition", b"attachment"))
        else:
            headers.append((b"content-type", _content_type(ext)))
        return headers

    def _sibling(self, path: str, root: str) -> tuple[str, os.stat_result] | None:
        try:
            info = os.lstat(path)
        except (OSError, ValueError):
            return None
        if stat.S_ISLNK(info.st_mode):
            real = self._inside(path, root)
            if real is None:
                return None
            try:
                info = os.stat(real)
            except OSError:
                return None
            path = real
        return (path, info) if stat.S_ISREG(info.st_mode) else None


class StaticFiles:
    """The mounts of a project (``STATIC_URL`` and ``MEDIA_URL``), longest prefix first.

    ``csp``: a ``Content-Security-Policy`` value (from ``SECURE_CSP``) put on every answer.
    """

    __slots__ = ("csp", "mounts")

    def __init__(self, mounts: list[FileMount], csp: str | None = None) -> None:
        self.mounts = tuple(sorted(mounts, key=lambda m: len(m.prefix), reverse=True))
        self.csp = None if csp is None else (b"content-security-policy", csp.encode("ascii"))

    def __repr__(self) -> str:
        return f"<StaticFiles {list(self.mounts)!r}>"

    def serve(self, request: Request, raw_path: str) -> WireResponse | None:
        """Return a response for a GET/HEAD under one of the prefixes, or None to go on to
        Django."""
        method = request.method
        if method != "GET" and method != "HEAD":
            return None
        for mount in self.mounts:
            if raw_path.startswith(mount.prefix):
                response = mount.serve(request, raw_path[len(mount.prefix) :])
                if response is not None and self.csp is not None:
                    response.raw_headers.append(self.csp)
                return response
        return None


def _prefix(url: str | None) -> str | None:
    """Return the path part of a ``*_URL`` setting we can serve, or None (unset, or on another
    host)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path
    return path if path.endswith("/") else path + "/"


def _manifest_names(root: str) -> frozenset[str]:
    """Return the hashed names ``ManifestStaticFilesStorage`` wrote to its manifest, if there is
    one."""
    manifest = _MANIFEST_NAME
    try:
        manifest = getattr(staticfiles_storage, "manifest_name", None) or manifest
    except Exception:
        logger.debug("no staticfiles storage; looking for %s", manifest)
    try:
        with open(os.path.join(root, manifest), encoding="utf-8") as handle:
            paths = json.load(handle).get("paths", {})
    except (OSError, ValueError, AttributeError):
        return frozenset()
    if not isinstance(paths, dict):
        return frozenset()
    return frozenset(value for value in paths.values() if isinstance(value, str))


def static_files_from_settings() -> StaticFiles | None:
    """Return the mounts for ``STATIC_ROOT``/``MEDIA_ROOT``; None when neither is served.

    ``STATIC_URL`` is looked up in ``STATIC_ROOT``, then in each ``STATICFILES_DIRS`` entry.

    DEBUG keeps serving ``STATIC_URL`` from the staticfiles finders (the fall-through does that),
    as ``runserver`` does; ``MEDIA_URL`` is served from ``MEDIA_ROOT`` in DEBUG too. Without
    configured settings (a bare BoltAPI) nothing is served.
    """
    config = framework_config()
    if not config.configured:
        return None
    static_root, static_url = config.static_root, config.static_url
    media_root, media_url = config.media_root, config.media_url
    mounts: list[FileMount] = []
    static_prefix = _prefix(static_url)
    static_dirs = config.staticfiles_dirs
    if (static_root or static_dirs) and static_prefix and not config.debug:
        root = os.fspath(static_root) if static_root else None
        mounts.append(
            FileMount(
                static_prefix,
                root,
                True,
                _manifest_names(root) if root else frozenset(),
                max_age=config.bolt_static_max_age,
                extra_roots=static_dirs,
            )
        )
    media_prefix = _prefix(media_url)
    if media_root and media_prefix and media_prefix != static_prefix:
        # Also in DEBUG (runbolt --dev): runserver serves no uploads, Django-Bolt does.
        media = FileMount(
            media_prefix,
            os.fspath(media_root),
            False,
            frozenset(),
            media=True,
            max_age=config.bolt_media_max_age,
        )
        mounts.append(media)
    return StaticFiles(mounts, config.secure_csp) if mounts else None
