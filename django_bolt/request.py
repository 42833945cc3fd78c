"""The request handlers see: lazy views over the bytes the server parsed.

Nothing is decoded until a handler (or a parameter binder) asks for it; each view is computed on
first access and kept in a slot. Unset slots raise ``AttributeError``, which is how a view knows
it has not been built yet: that costs nothing on requests that never read the view, unlike an
``__init__`` that would have to set every slot to ``None``.
"""

from __future__ import annotations

import typing
from asyncio import _get_running_loop as _running_loop
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, unquote, urljoin, urlsplit

import msgspec
from django.conf import settings as django_settings
from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port, validate_host
from django.utils.encoding import iri_to_uri

from django_bolt._conf.read import cache_until_settings_change, framework_config
from django_bolt._django.sessions import (
    aget_session_user,
    anonymous_user,
    get_session_user,
    load_session,
)
from django_bolt._http.fields import parse_cookie_headers, parse_cookies, parse_query
from django_bolt._http.limits import check_values as check_param_values, limit as param_limit
from django_bolt._http.multipart import FormData, UploadFile, parse_form
from django_bolt._http.parse import Headers, QueryParams
from django_bolt._http.state import DeferredUser, State
from django_bolt._http.streams import body_chunks
from django_bolt.exceptions import JSON_DECODE_ERRORS, RequestValidationError, body_error
from django_bolt.server.contract import (
    UNSET,
    RawRequest,
    SpooledBody,
    Unset,
    mypyc_attr,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from django_bolt.params import File

# Headers, QueryParams and the parsers live in _http.parse; named here as well, where users
# (and Django-Bolt code) import them.
__all__ = (
    "DeferredUser",
    "Headers",
    "QueryParams",
    "Request",
    "State",
    "parse_cookies",
    "parse_query",
)

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Characters a URI may hold as they are (RFC 3986 reserved and unreserved, and ``%``): the request
# target is quoted with them, as Django's iri_to_uri treats the rest of an absolute URL.
_URI_SAFE: Final = "/#%[]=:;$&()+,!?*@'~"
# Held here: compiled code would look ``json`` then ``decode`` up on the module at every call.
_JSON_DECODE: Final = msgspec.json.decode


@mypyc_attr(allow_interpreted_subclasses=True)
class Request(RawRequest):
    """One HTTP request. Every view below is built on first access only."""

    __slots__ = (
        "_auser",
        "_auth",
        "_context",
        "_cookies",
        "_form",
        "_headers",
        "_json",
        # django.contrib.messages' storage, set by DjangoMiddleware's MessageMiddleware.
        "_messages",
        "_meta",
        "_path",
        "_path_params",
        "_query",
        "_query_string",
        "_session",
        "_state",
        "_user",
    )
    # Slot types (annotations only: a slot must not also be a class attribute).
    _cookies: dict[str, str]
    _form: FormData
    _headers: Headers
    _json: Any
    _meta: dict[str, Any]
    _messages: Any
    _path: str
    _path_params: dict[str, str]
    _query: QueryParams
    _query_string: str
    _state: State
    _user: Any
    _auth: Any
    _context: dict[str, Any] | None
    _session: Any
    _auser: Callable[[], Awaitable[Any]]

    def __init__(
        self,
        method: str,
        target: bytes,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        client: tuple[str, int] | None,
        scheme: str,
        server: tuple[str, int] | None,
        http_version: str,
        body_file: SpooledBody | None = None,
        origin: bytes | Unset | None = UNSET,
    ) -> None:
        # Both classes compiled, this is a direct C call (it was written out while they were not).
        super().__init__(
            method,
            target,
            raw_headers,
            body,
            client,
            scheme,
            server,
            http_version,
            body_file,
            origin,
        )
        # The one slot set up front: dispatch reads it after every handler to learn whether a
        # session needs saving, and reading a set slot costs a tenth of an unset one.
        self._session = None

    def __class_getitem__(cls, params: Any) -> type[Request]:
        """``Request[User, JWTClaims, State]`` is ``Request``: Django-Bolt's generic spelling.

        The parameters document what ``user``, ``auth`` and ``state`` hold; at run time (and
        for argument binding) the annotation is the plain class.
        """
        return cls

    @property
    def path_params(self) -> dict[str, str]:
        """Values captured from the path template, URL-decoded (empty for static routes)."""
        try:
            return self._path_params
        except AttributeError:
            return {}

    @property
    def params(self) -> dict[str, str]:
        """Django-Bolt's name for :attr:`path_params`.

        The values are the strings from the path; the handler's typed arguments hold the
        converted values.
        """
        return self.path_params

    # --- target --------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The URL-decoded path, without the query string."""
        try:
            return self._path
        except AttributeError:
            target = self.target
            cut = target.find(b"?")
            path = (target if cut < 0 else target[:cut]).decode("latin-1")
            self._path = unquote(path) if "%" in path else path
            return self._path

    @property
    def query_string(self) -> str:
        """The raw (still percent-encoded) query string, without ``?``."""
        try:
            return self._query_string
        except AttributeError:
            target = self.target
            cut = target.find(b"?")
            self._query_string = "" if cut < 0 else target[cut + 1 :].decode("latin-1")
            return self._query_string

    def get_full_path(self, force_append_slash: bool = False) -> str:
        """Return the path and query string as the client sent them (Django's ``get_full_path``).

        Nothing is decoded: ``/a%20b?x=1%202`` stays as it is. ``force_append_slash`` adds a
        ``/`` to a path that lacks one, as Django's does.
        """
        target = self.target.decode("latin-1")
        if force_append_slash:
            path, sep, query = target.partition("?")
            if not path.endswith("/"):
                target = f"{path}/{sep}{query}"
        return target

    @property
    def query(self) -> QueryParams:
        """Query parameters, multi-valued."""
        try:
            return self._query
        except AttributeError:
            self._query = QueryParams(parse_query(self.query_string))
            return self._query

    @property
    def GET(self) -> QueryParams:
        """Django's name for :attr:`query`."""
        return self.query

    # --- headers and cookies -------------------------------------------------------------------
    @property
    def headers(self) -> Headers:
        try:
            return self._headers
        except AttributeError:
            self._headers = Headers(self.raw_headers)
            return self._headers

    @property
    def cookies(self) -> dict[str, str]:
        try:
            return self._cookies
        except AttributeError:
            self._cookies = parse_cookie_headers(self.raw_headers)
            return self._cookies

    @property
    def raw_cookies(self) -> dict[str, str]:
        """The cookies as sent, percent-escapes kept; a new dict on each read.

        :attr:`cookies` decodes ``%XX`` escapes; this view does not, for code that must see the
        exact bytes (signatures, Django's ``COOKIES``). Being a fresh dict, it may be changed.
        """
        return parse_cookie_headers(self.raw_headers, decode=False)

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    # --- body ----------------------------------------------------------------------------------
    # ``body`` itself comes from RawRequest: the bytes, read into memory on first access when the
    # server spooled a large body to a temporary file (``body_file``).

    def stream(self) -> AsyncIterator[bytes]:
        """Return the body in pieces, without loading a large (spooled) body into memory.

        A body kept in memory comes as one piece; a spooled one in pieces of 64 KiB read from
        its temporary file (a file the server has just written, so normally from the page
        cache). The body is complete before the handler runs, so this can be iterated more
        than once.
        """
        return body_chunks(self.body_file, self)

    def json(self) -> Any:
        """Return the body decoded as JSON; malformed JSON raises a 422
        ``RequestValidationError``."""
        try:
            return self._json
        except AttributeError:
            pass
        try:
            self._json = _JSON_DECODE(self.body)
        except JSON_DECODE_ERRORS as exc:
            # Malformed or too deeply nested JSON is the client's mistake: a 422, never a 500.
            raise RequestValidationError([body_error(exc, self.body)]) from None
        return self._json

    def form(self, limits: Mapping[str, File] | None = None) -> FormData:
        """Return the form body (urlencoded or multipart), parsed once; ``.fields`` and ``.files``.

        Parsing streams a spooled body from its file; file parts larger than
        ``BOLT_MEMORY_SPOOL_THRESHOLD`` go to temporary files. ``limits`` (file field name to
        its ``File()`` marker) applies only to the call that parses: binding passes the
        handler's, so an oversize part stops being stored while it is parsed.
        """
        try:
            return self._form
        except AttributeError:
            self._form = parse_form(self, limits)
            return self._form

    @property
    def files(self) -> dict[str, list[UploadFile]]:
        """Uploaded files by field name (multipart bodies only)."""
        return self.form().files

    # --- misc ----------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        try:
            return self._state
        except AttributeError:
            self._state = State()
            return self._state

    def get_host(self) -> str:
        """Return the host the client asked for (Django's ``get_host``).

        ``Host``, or the server address when absent. With ``USE_X_FORWARDED_HOST`` on, an
        ``X-Forwarded-Host`` field wins (repeated fields joined by commas, as in ``META``) and is
        checked against ``ALLOWED_HOSTS`` here, as Django does: a host outside the list raises
        ``DisallowedHost``. ``Host`` itself was checked before the handler ran.
        """
        allowed = _forwarded_host_allowed()
        if allowed is not None:
            forwarded = self.headers.getlist("x-forwarded-host")
            if forwarded:
                return _checked_host(",".join(forwarded), allowed)
        host = self.headers.get("host")
        if host:
            return str(host)
        if self.server is None:
            return "localhost"
        name, port = self.server
        if port == _DEFAULT_PORTS.get(self.scheme):
            return name
        return f"{name}:{port}"

    def is_secure(self) -> bool:
        return self.scheme == "https"

    @property
    def url(self) -> str:
        """The full URL of this request."""
        return self.build_absolute_uri()

    def build_absolute_uri(self, location: object = None) -> str:
        """Return the absolute URL of ``location``, as Django's ``build_absolute_uri`` does.

        Without ``location``: this request's URL, path and query as the client sent them. An
        absolute URL is returned as it is (no host is read); ``//host/x`` takes this request's
        scheme; anything else is resolved against this request's URL (``urljoin``: ``?q``,
        ``#f``, ``../x``). The result is IRI-encoded (``ü`` -> ``%C3%BC``, space -> ``%20``).
        """
        if location is None:
            return f"{self.scheme}://{self.get_host()}{quote(self.target, safe=_URI_SAFE)}"
        text = str(location)  # a lazy string (reverse_lazy) too, as Django accepts
        parts = urlsplit(text)
        if parts.scheme and parts.netloc:
            return _uri(text)
        base = f"{self.scheme}://{self.get_host()}"
        plain = "/./" not in parts.path and "/../" not in parts.path
        if plain and text.startswith("/") and not text.startswith("//"):
            return _uri(base + text)  # a path from the root: no resolving needed
        target = self.target
        cut = target.find(b"?")
        path = quote(target if cut < 0 else target[:cut], safe=_URI_SAFE)
        return _uri(urljoin(base + path, text))

    @property
    def META(self) -> dict[str, Any]:
        """Django's WSGI-style environ, built once on first read."""
        try:
            return self._meta
        except AttributeError:
            self._meta = self._build_meta()
            return self._meta

    def _build_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query_string,
            "SERVER_PROTOCOL": f"HTTP/{self.http_version}",
            "wsgi.url_scheme": self.scheme,
        }
        if self.client is not None:
            meta["REMOTE_ADDR"], meta["REMOTE_PORT"] = self.client[0], self.client[1]
        if self.server is not None:
            meta["SERVER_NAME"], meta["SERVER_PORT"] = self.server[0], str(self.server[1])
        for raw_name, raw_value in self.raw_headers:
            name = raw_name.decode("latin-1").upper().replace("-", "_")
            value = raw_value.decode("latin-1")
            key = name if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH" else "HTTP_" + name
            # Repeated fields are joined the way a WSGI server would.
            meta[key] = f"{meta[key]},{value}" if key in meta else value
        meta["SCRIPT_NAME"] = ""
        host = meta.get("HTTP_HOST")
        if host:
            # As Django-Bolt 0.13 fills them: the name and port the client asked for.
            meta["SERVER_NAME"], meta["SERVER_PORT"] = _split_host(host, self.scheme)
        return meta

    # --- users and sessions --------------------------------------------------------------------
    def set_messages(self, storage: Any) -> None:
        """Attach ``django.contrib.messages``' storage (what ``MessageMiddleware`` puts on
        Django's request), so ``messages.success(request, ...)`` works on this one."""
        self._messages = storage

    @property
    def session(self) -> Any:
        """Django's session (``settings.SESSION_ENGINE``), loaded from the cookie on first use.

        Reading or writing its data may query the session store: in an async handler use the
        async API (``await request.session.aget(key)``, ``aset``...). A modified session is
        saved after the handler and its cookie set on the response, as ``SessionMiddleware``
        does.
        """
        session = self._session
        if session is None:
            session = load_session(self)
        return session

    @session.setter
    def session(self, value: Any) -> None:
        """Replace the session (``None``: none loaded yet, the next read loads one)."""
        self._session = value

    @property
    def loaded_session(self) -> Any:
        """The session loaded (or assigned) for this request, else None; never loads one.

        What runs after the handler reads this to learn whether a session needs saving.
        """
        return self._session

    @property
    def user(self) -> Any:
        """The user an auth class accepted, else the Django session's user, else anonymous.

        The session's user is looked up on first access (``django.contrib.auth.get_user``), which
        queries the database: that happens in ``def`` handlers, which run in the thread pool. On
        the event loop (async handlers, guards) no lookup is made and the answer is
        ``AnonymousUser`` until ``await request.auser()`` has resolved it.
        """
        try:
            return self._user
        except AttributeError:
            pass
        if _running_loop() is not None:
            return anonymous_user()
        user = get_session_user(self)
        self._user = user
        return user

    @user.setter
    def user(self, value: Any) -> None:
        self._user = value

    @property
    def auser(self) -> Callable[[], Awaitable[Any]]:
        """``await request.auser()``: the user, resolved asynchronously (as on Django's request).

        Assignable, as on Django's ``HttpRequest``: ``login()``/``alogin()`` (Django >= 5.2)
        replace it with a function answering the user they logged in.
        """
        try:
            return self._auser
        except AttributeError:
            return self._resolve_user

    @auser.setter
    def auser(self, value: Callable[[], Awaitable[Any]]) -> None:
        self._auser = value

    async def _resolve_user(self) -> Any:
        try:
            user = self._user
        except AttributeError:
            pass
        else:
            # type(), not isinstance: a lazy user's __class__ would load it here, on the loop.
            if issubclass(type(user), DeferredUser):
                user = self._user = await user.aresolve()
            return user
        user = await aget_session_user(self)
        self._user = user
        return user

    @property
    def auth(self) -> Any:
        """What the auth class accepted (JWT claims, API key info), or None."""
        try:
            return self._auth
        except AttributeError:
            return None

    @auth.setter
    def auth(self, value: Any) -> None:
        self._auth = value

    @property
    def context(self) -> dict[str, Any] | None:
        """Django-Bolt's authentication context, or None when no auth class accepted.

        ``{"user_id", "is_staff", "is_superuser", "auth_backend", "auth_backend_index",
        "auth_claims", "permissions"}``; ``auth_claims`` holds the JWT claims (None for other
        backends; an API key's context has no such key), ``permissions`` a list (empty when
        there are none).
        """
        try:
            return self._context
        except AttributeError:
            return None

    @context.setter
    def context(self, value: dict[str, Any] | None) -> None:
        self._context = value

    # --- what the framework stores while it routes and authenticates ---------------------------
    # Plain methods, one store each (set_identity three): dispatch and the auth gate call them on
    # every request that has path values or credentials, where a property setter would cost a
    # descriptor call per value.

    def set_path_params(self, params: dict[str, str]) -> None:
        """Store the values the matched route captured from the path (:attr:`path_params`).

        A value longer than ``DJANGO_BOLT_MAX_PARAM_LENGTH`` bytes raises the 422 (only a
        target that long can hold one).
        """
        if len(self.target) > param_limit():
            check_param_values(params.items(), "path")
        self._path_params = params

    def set_query_string(self, query_string: str) -> None:
        """Store the query string when the caller has already split it off the target.

        A value longer than ``DJANGO_BOLT_MAX_PARAM_LENGTH`` bytes raises the 422.
        """
        if len(query_string) > param_limit():
            check_param_values(parse_query(query_string), "query")
        self._query_string = query_string

    def set_identity(self, user: Any, auth: Any, context: dict[str, Any] | None) -> None:
        """Store what an auth class accepted: :attr:`user`, :attr:`auth` and :attr:`context`."""
        self._user = user
        self._auth = auth
        self._context = context

    # --- Django-Bolt's dict-style access ----------------------------------------------------------
    # ``request.get("method")`` and ``request["params"]`` read the attribute of that name (see
    # _ITEM_ATTRIBUTES); only the attributes that may be replaced can be assigned this way.

    def get(self, key: str, default: Any = None) -> Any:
        """``request.<key>`` for a known key, or ``default`` when unknown or None."""
        attribute = _ITEM_ATTRIBUTES.get(key)
        if attribute is None:
            return default
        value = getattr(self, attribute)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        attribute = _ITEM_ATTRIBUTES.get(key)
        if attribute is None:
            raise KeyError(key)
        return getattr(self, attribute)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in _SETTABLE_ITEMS:
            raise KeyError(key)
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in _ITEM_ATTRIBUTES

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``request[key]``, first set to ``default`` when it is None and may be set."""
        value = self[key]
        if value is None and key in _SETTABLE_ITEMS:
            self[key] = default
            return default
        return value

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target.decode('latin-1')!r}>"


def new_request(
    method: str,
    target: bytes,
    raw_headers: list[tuple[bytes, bytes]],
    body: bytes | None,
    client: tuple[str, int] | None,
    scheme: str,
    server: tuple[str, int] | None,
    http_version: str,
    body_file: SpooledBody | None = None,
    origin: bytes | Unset | None = UNSET,
) -> Request:
    """Return ``Request(...)``: the server's ``request_factory`` (server/contract.py).

    Compiled, it takes its arguments as the server passes them, where calling the class needs
    a tuple of them first (about 700 instructions a request).
    """
    return Request(
        method, target, raw_headers, body, client, scheme, server, http_version, body_file, origin
    )


# ``class TenantRequest(Request, typing.Protocol)`` is how Django-Bolt 0.13 (whose Request is a
# Protocol) types a request that middleware extended. A protocol may derive only from protocols
# and from the classes typing lists as allowed; Request, a plain compiled class, joins that list.
_PROTOCOL_BASES: Final[dict[str, list[str]] | None] = getattr(typing, "_PROTO_ALLOWLIST", None)
if _PROTOCOL_BASES is not None:
    _PROTOCOL_BASES.setdefault(__name__, []).append("Request")

# Keys of ``request.get(key)`` / ``request[key]`` and the attribute each one reads.
_ITEM_ATTRIBUTES: Final[dict[str, str]] = {
    "auth": "auth",
    "body": "body",
    "context": "context",
    "cookies": "cookies",
    "headers": "headers",
    "method": "method",
    "params": "path_params",
    "path": "path",
    "query": "query",
    "state": "state",
    "user": "user",
}
_SETTABLE_ITEMS: Final = frozenset({"auth", "context", "user"})


def _split_host(host: str, scheme: str) -> tuple[str, str]:
    """Return (name, port) of a ``Host`` value; the scheme's default port when it names none."""
    name, port = host, ""
    if host.startswith("["):  # an IPv6 literal: [::1]:8000
        end = host.find("]")
        if end > 0:
            name, rest = host[: end + 1], host[end + 1 :]
            port = rest[1:] if rest.startswith(":") else ""
    elif ":" in host:
        name, _, port = host.rpartition(":")
    if not port.isdigit():
        port = "443" if scheme == "https" else "80"
    return name, port


def _uri(iri: str) -> str:
    """Return ``iri`` with what a URI may not hold percent-encoded (Django's ``iri_to_uri``)."""
    uri: str = iri_to_uri(iri)
    return uri


@cache_until_settings_change
def _forwarded_host_allowed() -> tuple[str, ...] | None:
    """Return the hosts X-Forwarded-Host may name; None when ``USE_X_FORWARDED_HOST`` is off."""
    config = framework_config()
    if not config.configured or not getattr(django_settings, "USE_X_FORWARDED_HOST", False):
        return None
    return config.hosts_in_force


def _checked_host(host: str, allowed: tuple[str, ...]) -> str:
    """Return ``host`` when ``allowed`` names it (Django's rules), else raise DisallowedHost."""
    domain, _port = split_domain_port(host)
    if domain and validate_host(domain, list(allowed)):
        return host
    raise DisallowedHost(f"Invalid HTTP_HOST header: {host!r}.")
