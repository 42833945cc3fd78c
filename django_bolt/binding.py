"""Turn a handler's signature into a fast argument builder, once per route.

At registration each argument is classified (path, query, header, cookie, form, body, request,
dependency) and all the scalar ones are folded into one generated ``TypedDict``; per request the
binder gathers the raw strings into a dict and hands it to a single ``msgspec.convert`` call,
which coerces, enforces the constraints and returns the keyword arguments in one C-level pass.
Bodies are decoded by one ``msgspec.json.Decoder`` per route. Nothing here calls ``inspect`` per
request.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Final, NotRequired, Required, TypedDict
from urllib.parse import unquote_plus

import msgspec
import msgspec.inspect

from django_bolt._fastbind import canonical_int
from django_bolt._http.multipart import UploadFile
from django_bolt.concurrency import (
    configure_sync_pool,
    is_inline_safe,
    reset_sync_pool,
    run_in_pool,
)
from django_bolt.exceptions import (
    JSON_DECODE_ERRORS,
    RequestValidationError,
    body_error,
    split_validation,
)
from django_bolt.params import UNSET, Body, Depends, File, Param, Source
from django_bolt.request import Request

__all__ = (
    "Binder",
    "ParameterInfo",
    "compile_binder",
    "configure_sync_pool",
    "describe_parameters",
    "reset_sync_pool",
    "run_in_pool",
)

_NO_BODY_METHODS: Final = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Argument names that receive the request itself (Django-Bolt accepts both).
_REQUEST_NAMES: Final = frozenset({"request", "req"})


# --- classifying arguments -----------------------------------------------------------------------


_SINGLE: Final = 0
_MANY: Final = 1
_GROUP: Final = 2
# (argument name, name in the request, _SINGLE/_MANY/_GROUP, the group's fields)
_Field = tuple[str, str, int, tuple[tuple[str, str, bool], ...]]


@dataclasses.dataclass(slots=True)
class _Scalar:
    name: str
    source: Source
    wire: str
    annotation: Any
    required: bool
    is_list: bool
    group: type | None  # a Struct that gathers several values of one source
    # For a group: (key msgspec expects, name in the request, collects repeated values).
    group_fields: tuple[tuple[str, str, bool], ...] = ()


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
class _Dependency:
    name: str
    binder: Binder
    use_cache: bool


def _is_body_type(tp: Any) -> bool:
    if not isinstance(tp, type):
        return False
    return issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)


def _is_list(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_list(a) for a in typing.get_args(tp) if a is not type(None))
    return origin in (list, tuple, set, frozenset)


@dataclasses.dataclass(slots=True)
class _FileParam:
    name: str
    wire: str
    many: bool
    required: bool
    default: Any
    limits: File


def _mentions_upload(tp: Any) -> bool:
    if tp is UploadFile:
        return True
    return any(_mentions_upload(arg) for arg in typing.get_args(tp))


def _check_uploads(uploads: list[Any], limits: File) -> tuple[str, str] | None:
    """(message, type) for the first limit the uploads break, or None."""
    if limits.max_files is not None and len(uploads) > limits.max_files:
        return (f"At most {limits.max_files} files allowed", "too_many_files")
    for upload in uploads:
        if limits.max_size is not None and upload.size > limits.max_size:
            return (f"File `{upload.filename}` exceeds {limits.max_size} bytes", "file_too_large")
        if limits.min_size is not None and upload.size < limits.min_size:
            return (f"File `{upload.filename}` is under {limits.min_size} bytes", "file_too_small")
        allowed = limits.allowed_types
        if allowed and not any(_type_matches(upload.content_type, a) for a in allowed):
            return (f"File type `{upload.content_type}` is not allowed", "file_type")
    return None


def _type_matches(content_type: str, pattern: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    pattern = pattern.lower()
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return media == pattern


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


def _gather_group(mapping: Any, fields: tuple[tuple[str, str, bool], ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, wire, is_list in fields:
        if is_list:
            items = mapping.getlist(wire) if hasattr(mapping, "getlist") else []
            if items:
                values[key] = items
        else:
            value = mapping.get(wire)
            if value is not None:
                values[key] = value
    return values


def _label(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _constrained(base: Any, metas: list[Any]) -> Any:
    """``base`` with the constraints attached; for ``T | None`` they go on ``T`` (msgspec
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
    """The name a value has in the request: the alias, else the argument's (kebab-cased and
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


_FAST_KINDS: Final[dict[Any, type]] = {
    str: str,
    int: int,
    str | None: str,
    int | None: int,
    typing.Optional[str]: str,  # noqa: UP045 - the typing spelling is a different object
    typing.Optional[int]: int,  # noqa: UP045
}


_View = Callable[[Request, "dict[str, str] | None"], Any]


def _picked_query(wanted: frozenset[str], request: Request, _: dict[str, str] | None) -> Any:
    return _pick_query(request.query_string, wanted)


def _picked_headers(wanted: frozenset[bytes], request: Request, _: dict[str, str] | None) -> Any:
    return _pick_headers(request.raw_headers, wanted)


# The full views, for sources whose parameters are lists or grouped Structs (and the others).
_VIEWS: Final[dict[str, _View]] = {
    "path": lambda _, path_values: path_values or {},
    "query": lambda request, _: request.query,
    "header": lambda request, _: request.headers,
    "cookie": lambda request, _: request.cookies,
    "form": lambda request, _: request.form().fields,
}


def _pick_query(query: str, wanted: frozenset[str]) -> dict[str, str]:
    """The last value of each wanted key, decoded exactly as :func:`parse_query` decodes."""
    found: dict[str, str] = {}
    if not query:
        return found
    for chunk in query.split("&"):
        key, _, value = chunk.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if key in wanted:
            found[key] = unquote_plus(value) if "%" in value or "+" in value else value
    return found


def _pick_headers(raw: list[tuple[bytes, bytes]], wanted: frozenset[bytes]) -> dict[str, str]:
    """The last value of each wanted (lower-case) header name, decoded; others are skipped."""
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.lower()
        if key in wanted:
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


def _fast_convert(raw: dict[str, Any], checks: tuple[tuple[str, bool, bool], ...]) -> bool:
    """Convert ``raw`` in place if every value is trivially valid; False means "ask msgspec"."""
    for name, is_int, required in checks:
        value = raw.get(name)
        if value is None:
            if required:
                return False
            continue
        if is_int:
            number = canonical_int(value)
            if number is None:
                return False
            raw[name] = number
    return True


# --- the binder ----------------------------------------------------------------------------------


class Binder:
    """Everything needed to call one function with arguments taken from a request."""

    __slots__ = (
        "_body_decoder",
        "_body_default",
        "_body_name",
        "_body_params",
        "_body_required",
        "_body_spread",
        "_fast",
        "_files",
        "_scalars",
        "_sources",
        "_typed",
        "deps",
        "described",
        "fn",
        "has_params",
        "inline",
        "is_async",
        "is_async_gen",
        "is_gen",
        "label",
        "reads_form",
        "request_names",
        "simple",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        path_names: tuple[str, ...],
        methods: frozenset[str],
        inline: bool | None,
    ) -> None:
        self.fn = fn
        self.label = _label(fn)
        self.is_async_gen = inspect.isasyncgenfunction(fn)
        self.is_gen = inspect.isgeneratorfunction(fn)
        self.is_async = inspect.iscoroutinefunction(fn)
        if inline is None:
            inline = self.is_async or self.is_async_gen or is_inline_safe(fn)
        self.inline = inline
        self.request_names: list[str] = []
        self.deps: list[_Dependency] = []
        self._scalars: list[_Scalar] = []
        self._body_name: str | None = None
        self._body_decoder: msgspec.json.Decoder[Any] | None = None
        self._body_required = True
        self._body_default: Any = None
        # Declared body arguments: (name, key in the JSON object, annotation, required, default,
        # embed). One plain argument takes the whole body; several are keys of one JSON object.
        self._body_params: list[tuple[str, str, Any, bool, Any, bool]] = []
        # With an embedded body: the argument names to take from the decoded object.
        self._body_spread: tuple[str, ...] = ()
        self._files: list[_FileParam] = []
        # What OpenAPI needs to know of each request value; unused per request.
        self.described: list[ParameterInfo] = []
        self._classify(path_names, methods)
        self._plan_body()
        self._typed = self._build_typed_dict()
        self._fast = self._plan_fast_checks()
        self._sources = self._plan_sources()
        # Whether bind() has anything to do: with nothing, the handler is called bare.
        self.has_params = bool(self._typed or self._body_name or self._files or self.request_names)
        # No dependencies and no pool hop: the whole call can complete without suspending.
        # Whether the handler reads a form: a spooled (large) one is then parsed in the pool.
        self.reads_form = bool(self._files) or any(s.source == "form" for s in self._scalars)
        self.simple = (
            not self.deps
            and not self.reads_form
            and (self.is_async or self.inline)
            and not (self.is_gen or self.is_async_gen)
        )

    # -- registration ------------------------------------------------------------------------
    def _classify(self, path_names: tuple[str, ...], methods: frozenset[str]) -> None:
        try:
            hints = typing.get_type_hints(self.fn, include_extras=True)
        except Exception as exc:
            raise TypeError(f"{self.label}: cannot resolve annotations: {exc}") from exc
        for param in inspect.signature(self.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{self.label}: *args/**kwargs cannot be bound from a request")
            self._classify_one(param, hints.get(param.name, Any), path_names, methods)

    def _classify_one(
        self,
        param: inspect.Parameter,
        ann: Any,
        path_names: tuple[str, ...],
        methods: frozenset[str],
    ) -> None:
        name = param.name
        base, extras = _split_annotated(ann)
        marker: Param | Depends | None = next(
            (e for e in extras if isinstance(e, Param | Depends)), None
        )
        default = param.default
        if isinstance(default, Param | Depends):
            marker = default
            default = param.empty
        if isinstance(marker, Param) and marker.default is not UNSET:
            default = marker.default
        metas = [e for e in extras if isinstance(e, msgspec.Meta)]
        if isinstance(marker, Depends):
            dep_fn = marker.dependency or base
            if not callable(dep_fn):
                raise TypeError(f"{self.label}: Depends() for {name!r} has nothing to call")
            sub = Binder(dep_fn, path_names, methods, None)
            self.deps.append(_Dependency(name, sub, marker.use_cache))
            return
        if marker is None and (
            name in _REQUEST_NAMES or (isinstance(base, type) and issubclass(base, Request))
        ):
            self.request_names.append(name)
            return
        if marker is not None:
            source = marker.source
        elif name in path_names:
            source = "path"
        elif _is_body_type(base):
            source = "body"
        else:
            source = "query"
        if (
            source == "path"
            and name not in path_names
            and not (marker and marker.alias in path_names)
        ):
            raise TypeError(f"{self.label}: path parameter {name!r} is not in the route's path")
        if isinstance(marker, Param):
            constraints = marker.constraints()
            if constraints:
                metas.append(msgspec.Meta(**constraints))
        annotation = _constrained(base, metas)
        required = default is param.empty
        if _mentions_upload(base):
            source = "file"
        wire = _wire_name(name, source, marker)
        self._describe(name, source, wire, marker, annotation, required, default, base)
        if source == "file":
            if methods & _NO_BODY_METHODS:
                raise TypeError(f"{self.label}: a handler taking files cannot serve GET/HEAD/...")
            limits = marker if isinstance(marker, File) else File()
            self._files.append(_FileParam(name, wire, _is_list(base), required, default, limits))
            return
        if source == "body":
            if methods & _NO_BODY_METHODS:
                bad = ", ".join(sorted(methods & _NO_BODY_METHODS))
                raise TypeError(
                    f"{self.label}: a {bad} handler cannot take a request body ({name!r})"
                )
            key = marker.alias if marker is not None and marker.alias else name
            embed = isinstance(marker, Body) and marker.embed
            self._body_params.append((name, key, annotation, required, default, embed))
            return
        group = (
            base
            if source in ("query", "header", "cookie", "form") and _is_body_type(base)
            else None
        )
        scalar = _Scalar(name, source, wire, annotation, required, _is_list(base), group)
        if group is not None:
            scalar.group_fields = _group_fields(group, source)
        self._scalars.append(scalar)

    def _plan_body(self) -> None:
        """One decoder for the body: the argument's own type, or an object keyed by argument."""
        params = self._body_params
        if not params:
            return
        if len(params) == 1 and not params[0][5]:
            name, _, annotation, required, default, _ = params[0]
            self._body_name = name
            self._body_decoder = msgspec.json.Decoder(annotation)
            self._body_required = required
            if not required:
                self._body_default = default
            return
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
            f"{getattr(self.fn, '__name__', 'handler')}_body",
            fields,
            kw_only=True,
            forbid_unknown_fields=False,
            rename=rename or None,
        )
        self.described = [
            dataclasses.replace(d, embedded=True) if d.source == "body" else d
            for d in self.described
        ]
        self._body_name = "\0body"  # never a Python identifier: cannot clash with an argument
        self._body_decoder = msgspec.json.Decoder(embedded)
        self._body_required = any(p[3] for p in params)
        self._body_spread = tuple(p[0] for p in params)
        if not self._body_required:
            self._body_default = embedded()

    def _describe(
        self,
        name: str,
        source: Source,
        wire: str,
        marker: Param | None,
        annotation: Any,
        required: bool,
        default: Any,
        base: Any,
    ) -> None:
        grouped = source in ("query", "header", "cookie", "form") and _is_body_type(base)
        self.described.append(
            ParameterInfo(
                name,
                source,
                wire,
                annotation,
                required,
                UNSET if required else default,
                marker.description if marker is not None else None,
                _is_list(base),
                base if grouped else None,
                marker if isinstance(marker, File) else None,
                example=marker.example if marker is not None else None,
                deprecated=marker.deprecated if marker is not None else False,
            )
        )

    def _build_typed_dict(self) -> type | None:
        fields: dict[str, Any] = {}
        for s in self._scalars:
            fields[s.name] = Required[s.annotation] if s.required else NotRequired[s.annotation]
        if not fields:
            return None
        # The functional form builds the class at run time; mypy cannot follow a dynamic one.
        built: type = TypedDict(f"{self.fn.__name__}_params", fields)  # type: ignore[misc]
        return built

    def _single_wires(self, source: str) -> frozenset[str] | None:
        """The wire names of ``source`` when each is a single value (no list, no group)."""
        fields = [s for s in self._scalars if s.source == source]
        if not fields or any(s.is_list or s.group is not None for s in fields):
            return None
        return frozenset(s.wire for s in fields)

    def _plan_fast_checks(self) -> tuple[tuple[str, bool, bool], ...] | None:
        """(name, is_int, required) per scalar when every one is a plain str or int.

        Such values need no msgspec.convert (about 1.6 us per call): a string is already a str,
        and an int written in canonical decimal converts with int(). Anything else, including
        every error, still goes through msgspec, so its semantics and messages stay the only ones.
        """
        checks: list[tuple[str, bool, bool]] = []
        for s in self._scalars:
            if s.is_list or s.group is not None:
                return None
            kind = _FAST_KINDS.get(s.annotation)
            if kind is None:
                return None
            checks.append((s.name, kind is int, s.required))
        return tuple(checks) if checks else None

    def fast_plan(self) -> tuple[tuple[str, str, str, bool, bool], ...] | None:
        """(name, source, wire name, is_int, required) per parameter when every one is a single
        str or int and the route takes nothing else (no body, form, files); else None. The
        shortcut binder in ``_fastbind`` is built from it."""
        if self._fast is None or self._body_name is not None or self._files:
            return None
        return tuple(
            (s.name, s.source, s.wire, is_int, s.required)
            for s, (_, is_int, _) in zip(self._scalars, self._fast, strict=True)
        )

    def _plan_sources(self) -> tuple[tuple[_View, tuple[_Field, ...]], ...]:
        """Per source, the view to read and flat tuples of what to read from it."""
        plan: dict[str, list[_Field]] = {}
        for s in self._scalars:
            kind = _GROUP if s.group is not None else _MANY if s.is_list else _SINGLE
            plan.setdefault(s.source, []).append((s.name, s.wire, kind, s.group_fields))
        return tuple((self._view_for(source), tuple(fields)) for source, fields in plan.items())

    def _view_for(self, source: str) -> _View:
        """How a request is read for ``source``. When every query or header parameter is a
        single value, only the named keys are decoded and the full view is never built."""
        single = self._single_wires(source)
        if source == "query" and single is not None:
            return functools.partial(_picked_query, single)
        if source == "header" and single is not None:
            wanted = frozenset(w.encode("latin-1") for w in single)
            return functools.partial(_picked_headers, wanted)
        return _VIEWS[source]

    # -- per request ------------------------------------------------------------------------
    def _parse_form(self, request: Request) -> None:
        request.form(self._file_limits())

    def _file_limits(self) -> dict[str, File]:
        return {param.wire: param.limits for param in self._files}

    def bind(self, request: Request, path_values: dict[str, str] | None) -> dict[str, Any]:
        """Keyword arguments for everything but dependencies; raises RequestValidationError."""
        errors: list[dict[str, Any]] = []
        kwargs: dict[str, Any]
        if self._files:
            # Parsed first, with the File() limits, so an oversize part is never stored whole.
            request.form(self._file_limits())
        if self._typed is not None:
            raw = self._gather(request, path_values)
            if self._fast is not None and _fast_convert(raw, self._fast):
                kwargs = raw
            else:
                try:
                    kwargs = msgspec.convert(raw, self._typed, strict=False)
                except msgspec.ValidationError as exc:
                    errors.append(self._scalar_error(str(exc)))
                    kwargs = {}
        else:
            kwargs = {}
        if self._body_name is not None:
            body = request.body
            if not body:
                if self._body_required:
                    errors.append(
                        {
                            "loc": ["body"],
                            "msg": "Request body is required",
                            "type": "missing_field",
                        }
                    )
                else:
                    kwargs[self._body_name] = self._body_default
            else:
                try:
                    kwargs[self._body_name] = self._body_decoder.decode(body)  # type: ignore[union-attr]
                except JSON_DECODE_ERRORS as exc:
                    errors.append(body_error(exc, body))
            if self._body_spread:
                embedded = kwargs.pop(self._body_name, None)
                if embedded is not None:
                    for name in self._body_spread:
                        kwargs[name] = getattr(embedded, name)
        if self._files:
            self._bind_files(request, kwargs, errors)
        if errors:
            raise RequestValidationError(errors)
        for name in self.request_names:
            kwargs[name] = request
        return kwargs

    def _bind_files(
        self, request: Request, kwargs: dict[str, Any], errors: list[dict[str, Any]]
    ) -> None:
        files = request.files
        for param in self._files:
            uploads = files.get(param.wire, [])
            problem = _check_uploads(uploads, param.limits)
            if not uploads and problem is None:
                if param.required:
                    problem = ("Missing required file `" + param.wire + "`", "missing_field")
                else:
                    kwargs[param.name] = param.default
                    continue
            if problem is not None:
                message, kind = problem
                errors.append({"loc": ["file", param.wire], "msg": message, "type": kind})
                continue
            kwargs[param.name] = uploads if param.many else uploads[0]

    def _gather(self, request: Request, path_values: dict[str, str] | None) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for view, fields in self._sources:
            mapping = view(request, path_values)
            for name, wire, kind, group_fields in fields:
                if kind == _SINGLE:
                    value = mapping.get(wire)
                    if value is not None:
                        raw[name] = value
                elif kind == _MANY:
                    items = mapping.getlist(wire) if hasattr(mapping, "getlist") else []
                    if items:
                        raw[name] = items
                else:
                    raw[name] = _gather_group(mapping, group_fields)
        return raw

    def _scalar_error(self, message: str) -> dict[str, Any]:
        msg, loc, missing = split_validation(message)
        key = missing if missing is not None and not loc else (loc[0] if loc else None)
        scalar = next((s for s in self._scalars if s.name == key), None)
        if scalar is None:  # pragma: no cover - msgspec always names the field
            return {"loc": [], "msg": msg, "type": "validation_error"}
        rest = loc[1:] if loc else []
        if missing is not None and loc:
            rest = [*rest, missing]
        if scalar.group is not None and rest:
            # A grouped value is reported under its own name in the request, not the group's.
            wires = {key: wire for key, wire, _ in scalar.group_fields}
            where = [scalar.source, wires.get(str(rest[0]), rest[0]), *rest[1:]]
        else:
            where = [scalar.source, scalar.wire, *rest]
        if missing is not None:
            dotted = ".".join(map(str, where[1:]))
            return {
                "loc": where,
                "msg": f"Missing required {scalar.source} parameter `{dotted}`",
                "type": "missing_field",
            }
        dotted = ".".join(map(str, where[1:]))
        return {
            "loc": where,
            "msg": f"Invalid {scalar.source} parameter `{dotted}`: {msg}",
            "type": "validation_error",
        }

    async def solve(
        self,
        request: Request,
        path_values: dict[str, str] | None,
        cache: dict[Callable[..., Any], Any],
        exits: list[Any],
    ) -> dict[str, Any]:
        """Arguments including dependencies, which are resolved (and cached) first."""
        if self.reads_form and request.body_file is not None:
            # Parsing a large multipart body takes a while (about 0.1 s for 64 MiB here); in
            # the pool it does not stall the other connections of this event loop.
            await run_in_pool(self._parse_form, {"request": request})
        kwargs = self.bind(request, path_values)
        for dep in self.deps:
            fn = dep.binder.fn
            if dep.use_cache and fn in cache:
                kwargs[dep.name] = cache[fn]
                continue
            sub_kwargs = await dep.binder.solve(request, path_values, cache, exits)
            value = await dep.binder.call_dependency(sub_kwargs, exits)
            if dep.use_cache:
                cache[fn] = value
            kwargs[dep.name] = value
        return kwargs

    async def call_dependency(self, kwargs: dict[str, Any], exits: list[Any]) -> Any:
        fn = self.fn
        if self.is_async_gen:
            agen = fn(**kwargs)
            value = await agen.__anext__()
            exits.append(agen)
            return value
        if self.is_gen:
            # Creating a generator runs none of its code; only stepping it may block.
            gen = fn(**kwargs)
            value = next(gen) if self.inline else await run_in_pool(_first, {"gen": gen})
            exits.append((gen, self.inline))
            return value
        if self.is_async:
            return await fn(**kwargs)
        if self.inline:
            return fn(**kwargs)
        return await run_in_pool(fn, kwargs)

    async def call(self, kwargs: dict[str, Any]) -> Any:
        """Call the handler itself (async, inline or in the pool)."""
        if self.is_async:
            return await self.fn(**kwargs)
        if self.inline:
            return self.fn(**kwargs)
        return await run_in_pool(self.fn, kwargs)


def _first(gen: Any) -> Any:
    return next(gen)


def _next_or_none(gen: Any) -> None:
    try:
        next(gen)
    except StopIteration:
        return
    raise RuntimeError("a dependency generator must yield only once")


async def run_exits(exits: list[Any], error: BaseException | None = None) -> None:
    """Finish the generator dependencies, newest first; ``error`` is thrown into them."""
    for item in reversed(exits):
        if isinstance(item, tuple):
            gen, inline = item
            if error is not None:
                try:
                    gen.throw(error)
                except StopIteration:
                    pass
                except BaseException as exc:
                    if exc is not error:
                        raise
                continue
            if inline:
                _next_or_none(gen)
            else:
                await run_in_pool(_next_or_none, {"gen": gen})
        else:
            if error is not None:
                try:
                    await item.athrow(error)
                except StopAsyncIteration:
                    pass
                except BaseException as exc:
                    if exc is not error:
                        raise
                continue
            try:
                await item.__anext__()
            except StopAsyncIteration:
                continue
            raise RuntimeError("a dependency generator must yield only once")


def describe_parameters(
    fn: Callable[..., Any],
    path_names: tuple[str, ...] = (),
    methods: frozenset[str] = frozenset(),
) -> list[ParameterInfo]:
    """Every value ``fn`` and its dependencies read from a request, each (source, name) once.

    The classification is the binder's own, so the documentation cannot drift from what is
    bound; called when a schema is generated, never per request.
    """
    seen: set[tuple[str, str]] = set()
    found: list[ParameterInfo] = []

    def walk(binder: Binder) -> None:
        for info in binder.described:
            key = (info.source, info.wire)
            if key not in seen:
                seen.add(key)
                found.append(info)
        for dep in binder.deps:
            walk(dep.binder)

    walk(Binder(fn, path_names, methods, None))
    return found


def compile_binder(
    fn: Callable[..., Any],
    path_names: tuple[str, ...] = (),
    methods: frozenset[str] = frozenset(),
    inline: bool | None = None,
) -> Binder:
    """Classify ``fn``'s arguments once; the result binds them per request."""
    return Binder(fn, path_names, methods, inline)
