"""A handler's arguments classified once, at registration: where each value comes from.

Each argument is one of: the request itself, a dependency (``Depends``), a path, query, header,
cookie or form value (a *scalar*, possibly a list, or a Struct grouping several values of one
source), an uploaded file, or the JSON body. :func:`classify` returns that as a :class:`Plan`;
the binder compiles the plan into decoders and readers, the shortcut binder (``fast``) reads the
same plan, and OpenAPI reads its :class:`ParameterInfo` list, so the three cannot disagree.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, Final, Generic, TypeVar

import msgspec
import msgspec.inspect

from django_bolt import cookies
from django_bolt._http.multipart import UploadFile
from django_bolt.params import UNSET, Body, Cookie as CookieMarker, Depends, File, Param, Source
from django_bolt.request import Request

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "FAST_KINDS",
    "GROUP",
    "MANY",
    "SINGLE",
    "WEBSOCKET_METHOD",
    "BodyPlan",
    "FileParam",
    "ParameterInfo",
    "Plan",
    "Scalar",
    "check_bodiless",
    "classify",
    "upload_fields",
)

_NO_BODY_METHODS: Final = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Argument names that receive the request itself (Django-Bolt accepts both).
_REQUEST_NAMES: Final = frozenset({"request", "req"})
# The pseudo-method a WebSocket route's handler is classified with (besides GET): there an
# argument named ``websocket`` or ``ws`` without an annotation is the connection too.
WEBSOCKET_METHOD: Final = "WEBSOCKET"
_CONNECTION_NAMES: Final = frozenset({"websocket", "ws"})
# The kwargs key of a body decoded as one object keyed by argument: never a Python identifier,
# so it cannot clash with an argument.
EMBEDDED_BODY: Final = "\0body"

# How a scalar is read from its source: one value, every value of a repeated key, or a group.
SINGLE: Final = 0
MANY: Final = 1
GROUP: Final = 2

# What a dependency compiles to (the binder's own class: the plan does not need to know it).
_Compiled = TypeVar("_Compiled")

# The annotations a value may have for the binders to convert it without msgspec: str, or an
# int written in canonical decimal (see extract.canonical_int).
FAST_KINDS: Final[dict[Any, type]] = {
    str: str,
    int: int,
    str | None: str,
    int | None: int,
    typing.Optional[str]: str,  # noqa: UP045 - the typing spelling is a different object
    typing.Optional[int]: int,  # noqa: UP045
}


@dataclasses.dataclass(slots=True)
class Scalar:
    """A path, query, header, cookie or form argument."""

    name: str
    source: Source
    wire: str
    annotation: Any
    required: bool
    is_list: bool
    group: type | None  # a Struct that gathers several values of one source
    # For a group: (key msgspec expects, name in the request, collects repeated values).
    group_fields: tuple[tuple[str, str, bool], ...] = ()

    @property
    def kind(self) -> int:
        """:data:`SINGLE`, :data:`MANY` or :data:`GROUP`."""
        return GROUP if self.group is not None else MANY if self.is_list else SINGLE


@dataclasses.dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One value a handler reads from the request, as classified at registration.

    ``annotation`` carries the marker's constraints folded in as ``msgspec.Meta`` (so a JSON
    schema generated from it shows them); ``wire`` is the name in the request (alias, or the
    kebab-cased header name); ``group`` is the Struct that gathers several values of one source.
    ``default`` is :data:`~django_bolt.params.UNSET` for a required value. ``embedded`` body
    values are keys (``wire``) of one JSON object rather than the whole body.
    """

    name: str
    source: Source
    wire: str
    annotation: Any
    required: bool
    default: Any = UNSET
    description: str | None = None
    is_list: bool = False
    group: type | None = None
    file_limits: File | None = None
    # A body value read as one key of a JSON object (several body arguments, or embed=True).
    embedded: bool = False
    # Documentation only: the marker's example value and deprecation.
    example: Any = None
    deprecated: bool = False


@dataclasses.dataclass(slots=True)
class FileParam:
    """An argument taking one uploaded file (or, ``many``, a list of them)."""

    name: str
    wire: str
    many: bool
    required: bool
    default: Any
    limits: File
    # Annotated ``dict`` (or ``list[dict]``): the handler gets file-info dicts, as in 0.13.
    as_info: bool = False


@dataclasses.dataclass(slots=True)
class BodyPlan:
    """How the JSON body is decoded: as one argument's own type, or as an object keyed by
    argument (several body arguments, or ``Body(embed=True)``)."""

    # The kwargs key the decoded value goes to (EMBEDDED_BODY for an object keyed by argument).
    name: str
    type: Any
    required: bool
    default: Any
    # With an embedded body: the argument names taken from the decoded object.
    spread: tuple[str, ...] = ()


@dataclasses.dataclass(slots=True)
class Plan(Generic[_Compiled]):
    """Everything a handler reads from a request, classified (see :func:`classify`)."""

    request_names: list[str] = dataclasses.field(default_factory=list)
    # (argument name, the dependency compiled, whether its value is cached per request)
    dependencies: list[tuple[str, _Compiled, bool]] = dataclasses.field(default_factory=list)
    scalars: list[Scalar] = dataclasses.field(default_factory=list)
    files: list[FileParam] = dataclasses.field(default_factory=list)
    # (argument, default) of optional arguments whose Python default is the marker itself
    # (``q: str = Query(default="x")``): the handler must get the value, not the marker.
    marker_defaults: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    # Whether a Form() Struct has UploadFile fields: the form's files are then read with its
    # fields (as Django-Bolt 0.13 fills them from the multipart parts).
    form_files: bool = False
    body: BodyPlan | None = None
    # What OpenAPI needs to know of each request value; unused per request.
    described: list[ParameterInfo] = dataclasses.field(default_factory=list)
    # Declared body arguments: (name, key in the JSON object, annotation, required, default,
    # embed). One plain argument takes the whole body; several are keys of one JSON object.
    body_params: list[tuple[str, str, Any, bool, Any, bool]] = dataclasses.field(
        default_factory=list
    )

    def single_wires(self, source: str) -> frozenset[str] | None:
        """Return the wire names of ``source`` when each is a single value (no list, no group)."""
        fields = [s for s in self.scalars if s.source == source]
        if not fields or any(s.is_list or s.group is not None for s in fields):
            return None
        return frozenset(s.wire for s in fields)


def classify(
    fn: Callable[..., Any],
    label: str,
    path_names: tuple[str, ...],
    methods: frozenset[str],
    dependency: Callable[[Callable[..., Any]], _Compiled],
) -> Plan[_Compiled]:
    """Classify each of ``fn``'s arguments; ``dependency`` compiles a ``Depends()`` callable.

    Raises ``TypeError`` (naming ``label``) for what cannot be bound from a request.
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise TypeError(f"{label}: cannot resolve annotations: {exc}") from exc
    plan: Plan[_Compiled] = Plan()
    connection_names = _CONNECTION_NAMES if WEBSOCKET_METHOD in methods else frozenset()
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{label}: *args/**kwargs cannot be bound from a request")
        if param.name in connection_names and param.name not in hints:
            plan.request_names.append(param.name)
            continue
        _classify_one(
            plan, label, param, hints.get(param.name, Any), path_names, methods, dependency
        )
    plan.body = _plan_body(plan, getattr(fn, "__name__", "handler"))
    return plan


def _classify_one(
    plan: Plan[_Compiled],
    label: str,
    param: inspect.Parameter,
    ann: Any,
    path_names: tuple[str, ...],
    methods: frozenset[str],
    dependency: Callable[[Callable[..., Any]], _Compiled],
) -> None:
    name = param.name
    base, extras = _split_annotated(ann)
    _refuse_annotated_default(label, name, extras)
    marker, default = _marker_and_default(param, extras)
    metas = [e for e in extras if isinstance(e, msgspec.Meta)]
    if isinstance(marker, Depends):
        dep_fn = marker.dependency or base
        if not callable(dep_fn):
            raise TypeError(f"{label}: Depends() for {name!r} has nothing to call")
        plan.dependencies.append((name, dependency(dep_fn), marker.use_cache))
        return
    if marker is None and (
        name in _REQUEST_NAMES or (isinstance(base, type) and issubclass(base, Request))
    ):
        plan.request_names.append(name)
        return
    if marker is not None:
        source = marker.source
    elif name in path_names:
        source = "path"
    elif _is_body_type(base):
        source = "body"
    else:
        source = "query"
    if source == "path" and name not in path_names and not (marker and marker.alias in path_names):
        raise TypeError(f"{label}: path parameter {name!r} is not in the route's path")
    base = _items_as_text(base, source)
    if isinstance(marker, Param):
        constraints = marker.constraints()
        if constraints:
            metas.append(msgspec.Meta(**constraints))
    annotation = _checked(label, name, source, base, _constrained(base, metas))
    required = default is param.empty
    if not required and marker is not None and param.default is not default:
        plan.marker_defaults.append((name, default))
    if _mentions_upload(base):
        source = "file"
    wire = _wire_name(name, source, marker)
    plan.described.append(
        _describe(name, source, wire, marker, annotation, required, default, base)
    )
    if source == "file":
        if methods & _NO_BODY_METHODS:
            raise TypeError(f"{label}: a handler taking files cannot serve GET/HEAD/...")
        plan.files.append(_file_param(label, name, wire, base, marker, required, default))
        return
    if source == "body":
        if methods & _NO_BODY_METHODS:
            bad = ", ".join(sorted(methods & _NO_BODY_METHODS))
            raise TypeError(f"{label}: a {bad} handler cannot take a request body ({name!r})")
        key = marker.alias if marker is not None and marker.alias else name
        embed = isinstance(marker, Body) and marker.embed
        plan.body_params.append((name, key, annotation, required, default, embed))
        return
    group = base if _groups(source, base) else None
    scalar = Scalar(name, source, wire, annotation, required, _is_list(base), group)
    if group is not None:
        scalar.group_fields = _group_fields(group, source)
        if source == "form" and _struct_mentions_upload(group):
            plan.form_files = True
    plan.scalars.append(scalar)


# Methods whose handlers 0.13 refuses a request body at registration (the decorator raises).
_BODILESS_AT_REGISTRATION: Final = frozenset({"GET", "HEAD"})
_PATH_NAME: Final = re.compile(r"\{([^}:]+)")


def check_bodiless(fn: Callable[..., Any], path: str, methods: tuple[str, ...]) -> None:
    """Raise ``TypeError`` now when a GET or HEAD handler declares a body, form or file argument.

    Called by the route decorators, so the mistake stops the import of the module that made it
    (0.13 raises there too). Annotations that cannot be resolved yet (a class defined further
    down) are left to :func:`classify`, which reports the same mistake when the route compiles.
    """
    bad = _BODILESS_AT_REGISTRATION.intersection(methods)
    if not bad:
        return
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
        parameters = inspect.signature(fn).parameters.values()
    except Exception:
        return  # classify() reports what is wrong when the route compiles
    path_names = set(_PATH_NAME.findall(path))
    for param in parameters:
        base, extras = _split_annotated(hints.get(param.name, Any))
        marker, _ = _marker_and_default(param, extras)
        if isinstance(marker, Param):
            takes_body = marker.source in ("body", "form", "file")
        else:
            takes_body = (
                marker is None
                and param.name not in _REQUEST_NAMES
                and param.name not in path_names
                and (_is_body_type(base) or _mentions_upload(base))
                and not (isinstance(base, type) and issubclass(base, Request))
            )
        if takes_body:
            label = getattr(fn, "__qualname__", repr(fn))
            which = "/".join(sorted(bad))
            raise TypeError(
                f"{label}: a {which} handler cannot take a request body ({param.name!r})"
            )


def _marker_and_default(
    param: inspect.Parameter, extras: list[Any]
) -> tuple[Param | Depends | None, Any]:
    """Return the argument's marker (from ``Annotated`` or its default) and its real default.

    A name-only ``django_bolt.Cookie("x")`` (the response-cookie class, which is what
    ``django_bolt.Cookie`` is) in either place is this framework's older spelling of the
    ``Cookie("x")`` marker with the default ``"x"``, and is read as that.
    """
    found = [_as_marker(e) for e in extras]
    marker: Param | Depends | None = next((e for e in found if e is not None), None)
    default = param.default
    as_marker = _as_marker(default)
    if as_marker is not None:
        marker = as_marker
        default = param.empty
    if isinstance(marker, Param) and marker.default is not UNSET:
        default = marker.default
    return marker, default


def _refuse_annotated_default(label: str, name: str, extras: list[Any]) -> None:
    """Raise ``TypeError`` when a marker inside ``Annotated`` carries a default.

    As in 0.13 (and FastAPI), the default of an ``Annotated`` argument is written after ``=``:
    a marker there only says where the value comes from and what it must satisfy.
    """
    for extra in extras:
        marker = _as_marker(extra)
        if isinstance(marker, Param) and marker.default is not UNSET:
            kind = type(marker).__name__
            raise TypeError(
                f"{label}: parameter {name!r}: a default inside Annotated "
                f"({kind}(default={marker.default!r})) is not allowed; write it after '=': "
                f"{name}: Annotated[..., {kind}()] = {marker.default!r}"
            )


def _as_marker(value: Any) -> Param | Depends | None:
    """Return ``value`` as a marker, or None when it is not one."""
    if isinstance(value, Param | Depends):
        return value
    if isinstance(value, cookies.Cookie) and value == cookies.Cookie(value.name):
        return CookieMarker(value.name)
    return None


def _file_param(
    label: str,
    name: str,
    wire: str,
    base: Any,
    marker: Param | Depends | None,
    required: bool,
    default: Any,
) -> FileParam:
    """Return the plan of a File() argument: uploads, or file-info dicts for ``dict``."""
    limits = marker if isinstance(marker, File) else File()
    as_info = _is_file_info(base)
    if not as_info and not _mentions_upload(base):
        raise TypeError(
            f"{label}: File() parameter {name!r} must be annotated UploadFile, "
            "list[UploadFile], dict or list[dict]"
        )
    return FileParam(name, wire, _is_list(base), required, default, limits, as_info)


def _plan_body(plan: Plan[Any], fn_name: str) -> BodyPlan | None:
    """One decoded type for the body: the argument's own, or an object keyed by argument."""
    params = plan.body_params
    if not params:
        return None
    if len(params) == 1 and not params[0][5]:
        name, _, annotation, required, default, _ = params[0]
        return BodyPlan(name, annotation, required, None if required else default)
    # Several body arguments (or Body(embed=True)): the body is one JSON object with a key
    # per argument, decoded and validated in one pass through a Struct made for it.
    fields: list[Any] = []
    rename: dict[str, str] = {}
    for name, key, annotation, required, default, _ in params:
        fields.append((name, annotation) if required else (name, annotation, default))
        if key != name:
            rename[name] = key
    # Required fields first: a Struct cannot put one after a field with a default.
    fields.sort(key=len)
    embedded = msgspec.defstruct(
        f"{fn_name}_body",
        fields,
        kw_only=True,
        forbid_unknown_fields=False,
        rename=rename or None,
    )
    plan.described = [
        dataclasses.replace(d, embedded=True) if d.source == "body" else d for d in plan.described
    ]
    required = any(p[3] for p in params)
    spread = tuple(p[0] for p in params)
    return BodyPlan(EMBEDDED_BODY, embedded, required, None if required else embedded(), spread)


def _describe(
    name: str,
    source: Source,
    wire: str,
    marker: Param | None,
    annotation: Any,
    required: bool,
    default: Any,
    base: Any,
) -> ParameterInfo:
    return ParameterInfo(
        name,
        source,
        wire,
        annotation,
        required,
        UNSET if required else default,
        marker.description if marker is not None else None,
        _is_list(base),
        base if _groups(source, base) else None,
        marker if isinstance(marker, File) else None,
        example=marker.example if marker is not None else None,
        deprecated=marker.deprecated if marker is not None else False,
    )


def _groups(source: str, base: Any) -> bool:
    """Whether ``base`` is a Struct (or dataclass, TypedDict) gathering values of ``source``."""
    return source in ("query", "header", "cookie", "form") and _is_body_type(base)


def _is_body_type(tp: Any) -> bool:
    if not isinstance(tp, type):
        return False
    return issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)


# Where every value arrives as text: a bare ``list`` (``set``, ``tuple``, ``frozenset``) there
# keeps its items as strings, as ``list[str]`` would.
_TEXT_SOURCES: Final = frozenset({"path", "query", "header", "cookie", "form"})
_BARE_COLLECTIONS: Final[dict[Any, Any]] = {
    list: list[str],
    set: set[str],
    frozenset: frozenset[str],
    tuple: tuple[str, ...],
}


# Where a value is one item of text: a sequence type there gets a sequence of one item.
_ONE_ITEM_SOURCES: Final = frozenset({"path", "header", "cookie"})
_COLLECTION_INFOS: Final = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


def _checked(label: str, name: str, source: str, base: Any, annotation: Any) -> Any:
    """Return ``annotation``, or raise TypeError now when msgspec could never convert a value
    of this text source to it (a constraint it does not support on the type, such as ``ge``
    on ``Decimal``), or when a path, header or cookie sequence type cannot hold the one item
    such a value gives (``tuple[int, str]``): every request would otherwise fail."""
    if source in _TEXT_SOURCES:
        try:
            info = msgspec.inspect.type_info(annotation)
        except TypeError as error:
            raise TypeError(f"{label}: parameter {name!r}: {error}") from None
        if source in _ONE_ITEM_SOURCES and _is_list(base) and not _holds_one_item(info):
            raise TypeError(
                f"{label}: parameter {name!r}: a {source} parameter gives a sequence of one "
                f"item, which {_type_name(base)} cannot hold"
            )
    return annotation


def _holds_one_item(info: msgspec.inspect.Type) -> bool:
    """Whether a sequence of one item converts to the type ``info`` describes."""
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_holds_one_item(member) for member in info.types)
    if isinstance(info, msgspec.inspect.TupleType):
        return len(info.item_types) == 1
    if isinstance(info, _COLLECTION_INFOS):
        return (info.min_length or 0) <= 1 and (info.max_length is None or info.max_length >= 1)
    return False


def _type_name(tp: Any) -> str:
    """``tuple[int, str]`` rather than ``<class ...>`` for a generic alias; a class by name."""
    return tp.__name__ if isinstance(tp, type) else repr(tp).replace("typing.", "")


def _items_as_text(tp: Any, source: str) -> Any:
    """Return ``tp`` with a bare collection type (alone or in a union with None) given ``str``
    items when ``source`` sends text; anything else as it is."""
    if source not in _TEXT_SOURCES:
        return tp
    bare = _BARE_COLLECTIONS.get(tp)
    if bare is not None:
        return bare
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = tuple(_BARE_COLLECTIONS.get(a, a) for a in typing.get_args(tp))
        if args != typing.get_args(tp):
            return typing.Union[args]  # noqa: UP007 - built from a tuple at run time
    return tp


def _is_list(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_list(a) for a in typing.get_args(tp) if a is not type(None))
    return origin in (list, tuple, set, frozenset)


def _is_file_info(tp: Any) -> bool:
    """Whether a File() argument asks for file-info dicts: ``dict``, ``list[dict]`` (optional)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        return len(rest) == 1 and _is_file_info(rest[0])
    if origin is list:
        args = typing.get_args(tp)
        return len(args) == 1 and _is_file_info(args[0])
    return tp is dict or origin is dict


def _struct_mentions_upload(group: type) -> bool:
    """Whether one of ``group``'s fields is (or holds) an ``UploadFile``."""
    return bool(upload_fields(group))


@functools.cache
def upload_fields(group: type) -> frozenset[str]:
    """Return the names (as sent) of ``group``'s fields that are (or hold) an ``UploadFile``."""
    info = msgspec.inspect.type_info(group)
    fields = getattr(info, "fields", None) or ()
    try:
        hints = typing.get_type_hints(group)
    except Exception:
        return frozenset()
    return frozenset(
        f.encode_name for f in fields if _mentions_upload(_split_annotated(hints.get(f.name))[0])
    )


def _mentions_upload(tp: Any) -> bool:
    if tp is UploadFile:
        return True
    return any(_mentions_upload(arg) for arg in typing.get_args(tp))


def _group_fields(group: type, source: str) -> tuple[tuple[str, str, bool], ...]:
    info = msgspec.inspect.type_info(group)
    fields = getattr(info, "fields", None)
    if fields is None:
        raise TypeError(f"{group!r} cannot group {source} parameters (use a Struct or dataclass)")
    out: list[tuple[str, str, bool]] = []
    for f in fields:
        wire = f.encode_name.replace("_", "-").lower() if source == "header" else f.encode_name
        collection = (
            msgspec.inspect.ListType,
            msgspec.inspect.SetType,
            msgspec.inspect.VarTupleType,
        )
        inner = f.type
        if isinstance(inner, msgspec.inspect.UnionType):
            is_list = any(isinstance(t, collection) for t in inner.types)
        else:
            is_list = isinstance(inner, collection)
        out.append((f.encode_name, wire, is_list))
    return tuple(out)


def _constrained(base: Any, metas: list[Any]) -> Any:
    """Return ``base`` with the constraints attached; for ``T | None`` they go on ``T`` (msgspec
    refuses ``max_length`` and the like on a union, and None needs no constraint)."""
    if not metas:
        return base
    origin = typing.get_origin(base)
    if origin is typing.Union or origin is types.UnionType:
        args = tuple(
            a if a is type(None) else Annotated[(a, *metas)] for a in typing.get_args(base)
        )
        return typing.Union[args]  # noqa: UP007 - built from a tuple at run time
    return Annotated[(base, *metas)]


def _wire_name(name: str, source: Source, marker: Param | None) -> str:
    """Return the name a value has in the request: the alias, else the argument's (kebab-cased and
    lower-case for a header)."""
    if marker is not None and marker.alias:
        wire = marker.alias
    elif source == "header":
        wire = name.replace("_", "-")
    else:
        wire = name
    return wire.lower() if source == "header" else wire


def _split_annotated(ann: Any) -> tuple[Any, list[Any]]:
    if typing.get_origin(ann) is Annotated:
        base, *extras = typing.get_args(ann)
        return base, extras
    return ann, []
