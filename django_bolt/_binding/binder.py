"""Turn a handler's signature into a fast argument builder, once per route.

At registration the arguments are classified (``plan``) and all the scalar ones are folded into
one generated ``TypedDict``; per request the binder gathers the raw strings into a dict
(``extract``) and hands it to a single ``msgspec.convert`` call, which coerces, enforces the
constraints and returns the keyword arguments in one C-level pass. Bodies are decoded by one
``msgspec.json.Decoder`` per route. Nothing here calls ``inspect`` per request.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, Final, NotRequired, Required, TypedDict

import msgspec

from django_bolt._binding.dependencies import call_dependency
from django_bolt._binding.extract import (
    Field,
    Reader,
    canonical_int,
    fast_convert,
    gather,
    plan_readers,
)
from django_bolt._binding.plan import (
    FAST_KINDS,
    FileParam,
    ParameterInfo,
    Scalar,
    classify,
    upload_fields,
)
from django_bolt.concurrency import inline_verdict, run_in_pool
from django_bolt.exceptions import (
    JSON_DECODE_ERRORS,
    RequestValidationError,
    SerializerValidationError,
    body_errors,
    split_validation,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.params import File
    from django_bolt.request import Request

__all__ = ("Binder", "Dependency", "compile_binder", "describe_parameters")


@dataclasses.dataclass(slots=True)
class Dependency:
    """An argument filled by calling another function (``Depends(fn)``)."""

    name: str
    binder: Binder
    use_cache: bool


logger = logging.getLogger("django_bolt")


def _decide_inline(fn: Callable[..., Any], label: str) -> bool:
    """Decide where the ``def`` function ``fn`` runs, and say so at debug level."""
    why = inline_verdict(fn)
    if why:
        logger.debug("%s runs in the thread pool: it uses %s", label, why)
        return False
    logger.debug("%s runs inline on the event loop", label)
    return True


def _label(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _as_routine(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return a callable object's bound ``__call__`` (``Depends(FilterBackend(...))``).

    Its annotations, parameters and async-ness are those of ``__call__``; functions, methods
    and classes are returned as they are.
    """
    if inspect.isroutine(fn) or inspect.isclass(fn):
        return fn
    call = getattr(fn, "__call__", None)  # noqa: B004 - the bound method itself is wanted
    return call if inspect.ismethod(call) else fn


def _check_uploads(uploads: list[Any], limits: File) -> tuple[str, str, dict[str, Any]] | None:
    """(message, type, ctx) for the first limit the uploads break, or None; the types and
    messages are 0.13's."""
    if limits.max_files is not None and len(uploads) > limits.max_files:
        ctx: dict[str, Any] = {"max_files": limits.max_files, "actual_count": len(uploads)}
        return ("Too many files uploaded", "file_too_many", ctx)
    for upload in uploads:
        if limits.max_size is not None and upload.size > limits.max_size:
            ctx = {"max_size": limits.max_size, "actual_size": upload.size}
            return (f"File exceeds maximum size of {limits.max_size} bytes", "file_too_large", ctx)
        if limits.min_size is not None and upload.size < limits.min_size:
            ctx = {"min_size": limits.min_size, "actual_size": upload.size}
            message = f"File is below minimum size of {limits.min_size} bytes"
            return (message, "file_too_small", ctx)
        allowed = limits.allowed_types
        if allowed and not any(_type_matches(upload.content_type, a) for a in allowed):
            ctx = {"allowed_types": list(allowed), "actual_type": upload.content_type}
            message = f"Invalid content type '{upload.content_type}'"
            return (message, "file_invalid_content_type", ctx)
    return None


def _type_matches(content_type: str, pattern: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    pattern = pattern.lower()
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return media == pattern


# Django-Bolt 0.13 reads an int parameter as a signed 64-bit integer written in decimal.
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1
# The spellings of a bool parameter beyond msgspec's true/false/1/0 that 0.13 accepts.
_BOOL_WORDS: Final = {"yes": "true", "on": "true", "no": "false", "off": "false"}


def _core_type(annotation: Any) -> Any:
    """Return ``annotation`` without ``Annotated``, ``| None`` and a list around it (a tuple
    only when its items share one type: ``tuple[int, str]`` is left to msgspec)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is tuple:
            items = {a for a in typing.get_args(annotation) if a is not Ellipsis}
            if len(items) != 1:
                return annotation
            annotation = items.pop()
        elif origin is Annotated or origin in (list, set, frozenset):
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or origin is types.UnionType:
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _checked_scalars(scalars: list[Scalar]) -> tuple[tuple[str, str, str, bool], ...]:
    """(name, source, wire, is_bool) of each single or listed int/bool scalar."""
    out: list[tuple[str, str, str, bool]] = []
    for s in scalars:
        if s.group is None:
            core = _core_type(s.annotation)
            if core is int or core is bool:
                out.append((s.name, s.source, s.wire, core is bool))
    return tuple(out)


def _check_scalars(
    raw: dict[str, Any],
    checked: tuple[tuple[str, str, str, bool], ...],
    errors: list[dict[str, Any]],
) -> None:
    """Apply 0.13's reading of int and bool parameters to ``raw`` before msgspec converts it.

    A bool's ``yes/on/no/off`` become ``true``/``false``. An int must be a decimal integer within
    the signed 64-bit range: msgspec alone would take ``1e10`` and integers of any size. Only
    non-canonical ints reach the full test (``canonical_int`` settles the rest).
    """
    for name, source, wire, is_bool in checked:
        value = raw.get(name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for index, text in enumerate(values):
            if not isinstance(text, str):
                continue
            if is_bool:
                word = _BOOL_WORDS.get(text.lower())
                if word is not None:
                    values[index] = word
            elif canonical_int(text) is None:
                problem = _int64_problem(text)
                if problem is not None:
                    where: list[str | int] = [source, wire]
                    if isinstance(value, list):
                        where.append(index)
                    dotted = ".".join(map(str, where[1:]))
                    errors.append(
                        {
                            "loc": where,
                            "msg": f"Invalid {source} parameter `{dotted}`: {problem}",
                            "type": "validation_error",
                        }
                    )
        if not isinstance(value, list):
            raw[name] = values[0]


def _group_input(values: Any, rest: list[Any]) -> Any:
    """Return the raw value of a grouped field at ``rest`` (None when it was not sent)."""
    value = values.get(str(rest[0])) if isinstance(values, dict) else None
    if isinstance(value, list) and len(rest) > 1 and isinstance(rest[1], int):
        return value[rest[1]] if rest[1] < len(value) else None
    return value


def _int64_problem(text: str) -> str | None:
    """Return msgspec's wording of why ``text`` is not an int as 0.13 reads one, or None."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        return "Expected `int`, got `str`"
    number = int(text)
    if number > _INT_MAX:
        return f"Expected `int` <= {_INT_MAX}"
    if number < _INT_MIN:
        return f"Expected `int` >= {_INT_MIN}"
    return None


class Binder:
    """Everything needed to call one function with arguments taken from a request."""

    __slots__ = (
        "_body_decoder",
        "_body_default",
        "_body_name",
        "_body_required",
        "_body_spread",
        "_checked",
        "_fast",
        "_files",
        "_marker_defaults",
        "_readers",
        "_scalars",
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
        "pool_call",
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
        pool_result: Callable[[Any], Any] | None = None,
    ) -> None:
        self.fn = fn
        # What a pool thread runs: the handler, then (a route reading model results) what
        # becomes of its result there, in the same pool call (_django/models.py's pool_reader).
        self.pool_call = fn if pool_result is None else _then(fn, pool_result)
        self.label = _label(fn)
        self.is_async_gen = inspect.isasyncgenfunction(fn)
        self.is_gen = inspect.isgeneratorfunction(fn)
        self.is_async = inspect.iscoroutinefunction(fn)
        if inline is None:
            inline = self.is_async or self.is_async_gen or _decide_inline(fn, self.label)
        elif not (self.is_async or self.is_async_gen):
            where = "inline on the event loop" if inline else "in the thread pool"
            logger.debug("%s runs %s (the route's inline=%s)", self.label, where, inline)
        self.inline = inline

        def dependency(dep_fn: Callable[..., Any]) -> Binder:
            return Binder(_as_routine(dep_fn), path_names, methods, None)

        plan = classify(fn, self.label, path_names, methods, dependency)
        self.request_names: list[str] = plan.request_names
        self.deps = [Dependency(name, sub, cached) for name, sub, cached in plan.dependencies]
        self._scalars: list[Scalar] = plan.scalars
        self._files: list[FileParam] = plan.files
        self._marker_defaults = tuple(plan.marker_defaults)
        # What OpenAPI needs to know of each request value; unused per request.
        self.described: list[ParameterInfo] = plan.described
        body = plan.body
        self._body_name: str | None = None if body is None else body.name
        self._body_decoder: msgspec.json.Decoder[Any] | None = (
            None if body is None else msgspec.json.Decoder(body.type)
        )
        self._body_required = True if body is None else body.required
        self._body_default: Any = None if body is None else body.default
        # With an embedded body: the argument names to take from the decoded object.
        self._body_spread: tuple[str, ...] = () if body is None else body.spread
        self._typed = self._build_typed_dict()
        self._fast = self._plan_fast_checks()
        self._checked = _checked_scalars(self._scalars)
        self._readers: tuple[tuple[Reader, tuple[Field, ...]], ...] = plan_readers(plan)
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
    def _build_typed_dict(self) -> type | None:
        fields: dict[str, Any] = {}
        for s in self._scalars:
            fields[s.name] = Required[s.annotation] if s.required else NotRequired[s.annotation]
        if not fields:
            return None
        # The functional form builds the class at run time; mypy cannot follow a dynamic one.
        built: type = TypedDict(f"{self.fn.__name__}_params", fields)  # type: ignore[misc]
        return built

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
            kind = FAST_KINDS.get(s.annotation)
            if kind is None:
                return None
            checks.append((s.name, kind is int, s.required))
        return tuple(checks) if checks else None

    def fast_plan(self) -> tuple[tuple[str, str, str, bool, bool], ...] | None:
        """(name, source, wire name, is_int, required) per parameter when every one is a single
        str or int and the route takes nothing else (no body, form, files); else None. The
        shortcut binder in ``fast`` is built from it."""
        if self._fast is None or self._body_name is not None or self._files:
            return None
        if self._marker_defaults:
            return None  # the general binder fills those defaults in
        return tuple(
            (s.name, s.source, s.wire, is_int, s.required)
            for s, (_, is_int, _) in zip(self._scalars, self._fast, strict=True)
        )

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
            raw = gather(self._readers, request, path_values)
            if self._fast is not None and fast_convert(raw, self._fast):
                kwargs = raw
            else:
                if self._checked:
                    _check_scalars(raw, self._checked, errors)
                try:
                    kwargs = msgspec.convert(raw, self._typed, strict=False)
                except msgspec.ValidationError as exc:
                    if not errors:
                        errors.extend(self._scalar_errors(exc, raw))
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
                    errors.extend(body_errors(exc, body))
            if self._body_spread:
                embedded = kwargs.pop(self._body_name, None)
                if embedded is not None:
                    for name in self._body_spread:
                        kwargs[name] = getattr(embedded, name)
        if self._files:
            self._bind_files(request, kwargs, errors)
        if errors:
            raise RequestValidationError(errors)
        for name, default in self._marker_defaults:
            kwargs.setdefault(name, default)
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
                    problem = ("Missing required file", "file_missing", {})
                else:
                    kwargs[param.name] = param.default
                    continue
            if problem is not None:
                message, kind, ctx = problem
                item: dict[str, Any] = {"loc": ["body", param.wire], "msg": message, "type": kind}
                if ctx:
                    item["ctx"] = ctx
                errors.append(item)
                continue
            if param.as_info:
                infos = [upload.file_info() for upload in uploads]
                kwargs[param.name] = infos if param.many else infos[0]
            else:
                kwargs[param.name] = uploads if param.many else uploads[0]

    def _scalar_errors(
        self, exc: msgspec.ValidationError, raw: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Return the 422 items for the query, header, cookie, path and form values: one, or
        each error of a Serializer group's validators, under the field's name in the request."""
        cause = exc.__cause__
        if isinstance(cause, SerializerValidationError):
            _, loc, _ = split_validation(str(exc))
            key = loc[0] if len(loc) == 1 else None
            scalar = next((s for s in self._scalars if s.name == key), None)
            if scalar is not None and scalar.group is not None:
                wires = {name: wire for name, wire, _ in scalar.group_fields}
                return [_under(item, scalar.source, wires) for item in cause.relative]
        return [self._scalar_error(str(exc), raw)]

    def _scalar_error(self, message: str, raw: dict[str, Any]) -> dict[str, Any]:
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
            if (
                scalar.source == "form"
                and scalar.group is not None
                and len(where) == 2
                and missing in upload_fields(scalar.group)
            ):
                # A Form() Struct's file field: 0.13's item for a missing file.
                return {
                    "loc": ["body", where[1]],
                    "msg": "Missing required file",
                    "type": "file_missing",
                    "input": None,
                }
            dotted = ".".join(map(str, where[1:]))
            item = {
                "loc": where,
                "msg": f"Missing required {scalar.source} parameter `{dotted}`",
                "type": "missing_field",
            }
        else:
            dotted = ".".join(map(str, where[1:]))
            item = {
                "loc": where,
                "msg": f"Invalid {scalar.source} parameter `{dotted}`: {msg}",
                "type": "validation_error",
            }
        if scalar.group is not None and rest:
            # A grouped (Struct) field's item names the value received, as 0.13's do.
            item["input"] = _group_input(raw.get(scalar.name), rest)
        return item

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
            value = await call_dependency(dep.binder, sub_kwargs, exits)
            if dep.use_cache:
                cache[fn] = value
            kwargs[dep.name] = value
        return kwargs

    async def call(self, kwargs: dict[str, Any]) -> Any:
        """Call the handler itself (async, inline or in the pool)."""
        if self.is_async:
            return await self.fn(**kwargs)
        if self.inline:
            return self.fn(**kwargs)
        return await run_in_pool(self.pool_call, kwargs)


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


def _then(fn: Callable[..., Any], after: Callable[[Any], Any]) -> Callable[..., Any]:
    def call(**kwargs: Any) -> Any:
        return after(fn(**kwargs))

    return call


def compile_binder(
    fn: Callable[..., Any],
    path_names: tuple[str, ...] = (),
    methods: frozenset[str] = frozenset(),
    inline: bool | None = None,
    pool_result: Callable[[Any], Any] | None = None,
) -> Binder:
    """Classify ``fn``'s arguments once; the result binds them per request.

    ``pool_result``, for a ``def`` handler run in the pool, is applied to its result on the
    pool thread, within the same call.
    """
    return Binder(fn, path_names, methods, inline, pool_result)


def _under(item: dict[str, Any], source: str, wires: dict[str, str]) -> dict[str, Any]:
    """Return a serializer's error item located under ``source``, its field named as sent."""
    loc = list(item.get("loc") or ())
    if loc:
        loc[0] = wires.get(str(loc[0]), loc[0])
    return {**item, "loc": [source, *loc]}
