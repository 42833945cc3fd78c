"""How a route's return values become wire responses, compiled once per route.

:func:`build_result_converter` decides, from the route's declared return type, status code and
response class, what each kind of return value becomes: a dict or list checked against the
declared type and encoded by msgspec, a response object sent as built (a ``JSON`` or JSON
``Response`` at the route's default status checked first), a generator streamed, a model
instance or QuerySet read in the pool (``_django/models.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any, Final

import msgspec
from django.http import HttpResponseBase

from django_bolt._django.convert import wire_from_django
from django_bolt._django.models import NO_MODELS, model_hooks
from django_bolt._http.streams import encoded_stream
from django_bolt._http.wire import (
    CT_JSON,
    CT_OCTET,
    CT_TEXT,
    VARY_ORIGIN,
    JsonConverter,
    WireResponse,
    encode_json,
)
from django_bolt.exceptions import ResponseValidationError
from django_bolt.responses import (
    EventSourceResponse,
    FileResponse,
    Response,
    StreamingResponse,
    chunk_bytes,
    stream_item_type,
)
from django_bolt.serializers.output import output_adapter

__all__ = ("build_result_converter",)

_NO_VALIDATION: Final = frozenset({Any, object, dict, list, tuple, type(None), None})


def _needs_validation(tp: Any) -> bool:
    """Whether a declared return type says more than "some JSON": only then is it checked."""
    if tp in _NO_VALIDATION or tp is typing.Any:
        return False
    if isinstance(tp, type) and issubclass(tp, Response | HttpResponseBase):
        return False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_needs_validation(arg) for arg in typing.get_args(tp))
    if origin is dict:
        # JSON object keys are strings whatever the annotation says: only the values matter.
        args = typing.get_args(tp)
        return len(args) == 2 and _needs_validation(args[1])
    if origin in (list, tuple, set, frozenset):
        return any(_needs_validation(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)
    return not (isinstance(tp, type) and issubclass(tp, Response))


_SCALARS: Final = (str, int, float, bool)
# Values msgspec encodes as they are (a tuple: isinstance with a tuple beats one with a union).
_JSON_NATIVE: Final = (msgspec.Struct, dict, list, tuple, int, float, bool)


def _validator(model: Any, handler_name: str) -> Callable[[Any], Any]:
    struct_type = model if isinstance(model, type) and issubclass(model, msgspec.Struct) else None
    # dict[str, <scalar>] is checked by looking at the items: msgspec.convert costs about 1 us
    # even when nothing needs converting. A mismatch still goes to msgspec, which decides.
    args = typing.get_args(model) if typing.get_origin(model) is dict else ()
    scalar = args[1] if len(args) == 2 and args[0] is str and args[1] in _SCALARS else None

    def validate(value: Any) -> Any:
        if struct_type is not None and type(value) is struct_type:
            return value
        if scalar is not None and type(value) is dict:
            for key, item in value.items():
                if type(key) is not str or type(item) is not scalar:
                    break
            else:
                return value
        try:
            return msgspec.convert(value, model, from_attributes=True)
        except msgspec.ValidationError as exc:
            raise ResponseValidationError(str(exc), handler_name) from None

    return validate


_CT_NDJSON: Final = (b"content-type", b"application/x-ndjson")
_GENERATORS: Final = (types.GeneratorType, types.AsyncGeneratorType)
_RAW_CHUNKS: Final = (bytes, bytearray, memoryview, str)
_NOT_STREAMS: Final = (str, bytes, bytearray, memoryview, dict, list, tuple, set, frozenset)


def _stream_converter(
    status_code: int,
    item_type: Any,
    response_class: type[Response] | None,
    validate: bool,
    handler_name: str,
) -> Callable[[Any], WireResponse]:
    """How a generator (or, with a stream annotation, any iterable) result is sent.

    ``response_class=EventSourceResponse``: as Server-Sent Events. A stream annotation with an
    item type that is not bytes/str: one JSON document per line (``application/x-ndjson``), each
    item checked against the type unless validation is off. Otherwise the chunks as they come.
    """
    if response_class is not None and issubclass(response_class, EventSourceResponse):

        def as_events(result: Any) -> WireResponse:
            return EventSourceResponse(result, status_code).to_wire()

        return as_events
    if item_type is None or item_type in _RAW_CHUNKS or item_type is Any:

        def as_chunks(result: Any) -> WireResponse:
            # A generator handler's chunks stay text/plain; StreamingResponse() itself
            # defaults to 0.13's application/octet-stream.
            return StreamingResponse(result, status_code, media_type="text/plain").to_wire()

        return as_chunks
    checked = validate and _needs_validation(item_type)
    check = _validator(item_type, handler_name) if checked else None

    def line(item: Any) -> bytes:
        if isinstance(item, _RAW_CHUNKS):
            return chunk_bytes(item)
        if check is not None:
            item = check(item)
        return encode_json(item) + b"\n"

    def as_lines(result: Any) -> WireResponse:
        return WireResponse(status_code, [_CT_NDJSON], b"", encoded_stream(result, line))

    return as_lines


def build_result_converter(
    status_code: int,
    model: Any,
    handler_name: str,
    *,
    validate: bool = True,
    response_class: type[Response] | None = None,
    vary_origin: bool = False,
    read_models: bool = False,
) -> Callable[[Any], WireResponse]:
    """Compile, once per route, how its return values become responses.

    ``read_models`` (a route's own converter) lets results be model instances, lists of them
    and QuerySets when ``model`` allows them (``_django/models.py``): the converter then returns
    an object whose ``finish(request)`` gives an awaitable of the response, read in the pool.

    ``validate=False`` sends values as they are, whatever ``model`` says. ``model`` may be a
    dict ``{status: type}``: then nothing is validated and a ``(status, body)`` result picks
    the status. Generators become streams (see :func:`_stream_converter`).

    ``vary_origin`` (a route under a CORS policy) puts ``Vary: origin`` in the header lists the
    converter makes, as their last field: dispatch sees it there and adds nothing when the
    request has no ``Origin`` (see ``BoltAPI.dispatch``).
    """
    if isinstance(model, dict):
        codes = [code for code in model if isinstance(code, int)]
        return _multi_status_converter(
            status_code, codes, handler_name, response_class, vary_origin
        )
    is_stream, item_type = stream_item_type(model)
    to_stream = _stream_converter(status_code, item_type, response_class, validate, handler_name)
    if is_stream:
        model = None
    validate_value, declared_struct = _checks(model, validate, handler_name, read_models)
    send_object = (
        _response_object
        if validate_value is None
        else _checked_response_objects(validate_value, status_code)
    )
    # Each response gets a list of its own (handlers and policies add to it); ``[*t]`` costs
    # what ``[CT_JSON]`` does.
    vary = (VARY_ORIGIN,) if vary_origin else ()
    if status_code in (204, 304) or status_code < 200:
        return _empty_converter(status_code, vary)
    json_fields = (CT_JSON, *vary)
    text_fields = (CT_TEXT, *vary)
    octet_fields = (CT_OCTET, *vary)
    # Model instances and QuerySets (_django/models.py), for the routes whose declared type
    # allows them: ``other_value`` replaces the slow path's validation, ``unencodable`` decides
    # about a list msgspec could not encode. Neither is on the path of a dict or list result.
    validate_value, other_value, unencodable = model_hooks(
        model if read_models and not is_stream else NO_MODELS,
        validate_value,
        handler_name,
        status_code,
        json_fields,
    )

    def convert(result: Any) -> WireResponse:
        cls = type(result)
        if cls is dict or cls is list:  # the common case first
            if validate_value is not None:
                result = validate_value(result)
            try:
                return WireResponse(status_code, [*json_fields], encode_json(result))
            except TypeError:
                return unencodable(result)
        if cls is declared_struct:
            return WireResponse(status_code, [*json_fields], encode_json(result))
        if isinstance(result, _RESPONSE_OBJECTS):
            return send_object(result)
        if isinstance(result, _GENERATORS) or (
            is_stream
            and not isinstance(result, _NOT_STREAMS)
            and isinstance(result, AsyncIterable | Iterable)
        ):
            return to_stream(result)
        if other_value is not None:
            result = other_value(result)
            cls = type(result)
        if cls is str:
            return WireResponse(status_code, [*text_fields], result.encode())
        if cls is bytes:
            return WireResponse(status_code, [*octet_fields], result)
        if result is None or isinstance(result, _JSON_NATIVE) or dataclasses.is_dataclass(result):
            return WireResponse(status_code, [*json_fields], encode_json(result))
        if isinstance(result, WireResponse):
            return result  # a model result is one (_django/models.py's PendingModels)
        # Anything else msgspec may still know how to encode (datetime, UUID, Decimal...).
        return WireResponse(status_code, [*json_fields], encode_json(result))

    # Nothing to validate: a dict or list result is sent by compiled code (_http/wire.py).
    return (
        convert if validate_value is not None else JsonConverter(status_code, json_fields, convert)
    )


def _checks(
    model: Any, validate: bool, handler_name: str, route: bool
) -> tuple[Callable[[Any], Any] | None, type | None]:
    """Return a converter's check of values (None: send them as they are) and the declared
    Struct whose instances are sent as they are.

    A serializer whose output differs from its fields (write-only or computed fields) is sent
    as its ``dump()`` (``serializers/output.py``), whatever ``validate`` says: its instances
    are then never sent as they are.
    """
    adapter = output_adapter(model, handler_name) if route else None
    if adapter is not None:
        return adapter, None
    check = (
        _validator(model, handler_name)
        if validate and model is not None and _needs_validation(model)
        else None
    )
    # A value of exactly the declared Struct type is valid as it is (the validator would only
    # compare the type), and the commonest result after dicts and lists.
    declared = model if isinstance(model, type) and issubclass(model, msgspec.Struct) else None
    return check, declared


def _empty_converter(
    status_code: int, vary: tuple[tuple[bytes, bytes], ...]
) -> Callable[[Any], WireResponse]:
    """Return the converter of a route whose status has no body (1xx, 204, 304)."""

    def convert(result: Any) -> WireResponse:
        if isinstance(result, _RESPONSE_OBJECTS):
            return _response_object(result)
        return WireResponse(status_code, [*vary], b"")

    return convert


# Responses a handler builds itself, sent as they are whatever the route declares.
_RESPONSE_OBJECTS: Final = (Response, HttpResponseBase)


def _response_object(result: Response | HttpResponseBase) -> WireResponse:
    if isinstance(result, Response):
        return result.to_wire()
    # Django's own (a redirect, @login_required's answer, a FileResponse): as it is.
    return wire_from_django(result)


def _checked_response_objects(
    check: Callable[[Any], Any], status_code: int
) -> Callable[[Response | HttpResponseBase], WireResponse]:
    """Return how a route with a checked return type sends the response objects it returns.

    A ``JSON`` or a JSON ``Response`` at the route's default status holds what the declared
    type describes, so its content is checked (and shaped) as a bare return value would be: a
    mismatch is the same 500. At another status (a 400 with field errors, say) the object is
    sent as built, and so are raw bodies, streams, files and Django's responses.
    """

    def send(result: Response | HttpResponseBase) -> WireResponse:
        if (
            isinstance(result, Response)
            and result.status_code == status_code
            and not isinstance(result, _UNCHECKED_RESPONSES)
            and result.media_type.partition(";")[0].strip().lower() == "application/json"
            and not isinstance(result.content, _RAW_CHUNKS)
        ):
            # A copy: the object may be a module constant returned by every request.
            checked = copy.copy(result)
            checked.content = check(result.content)
            return checked.to_wire()
        return _response_object(result)

    return send


_UNCHECKED_RESPONSES: Final = (StreamingResponse, FileResponse)


def _multi_status_converter(
    status_code: int,
    codes: list[int],
    handler_name: str,
    response_class: type[Response] | None,
    vary_origin: bool,
) -> Callable[[Any], WireResponse]:
    """``response_model={200: A, 404: B}``: documented per status, sent unvalidated."""
    by_status = {
        code: build_result_converter(
            code,
            None,
            handler_name,
            validate=False,
            response_class=response_class,
            vary_origin=vary_origin,
        )
        for code in {status_code, 200, *codes}
    }
    default = by_status[status_code]
    other = by_status[200]

    def convert(result: Any) -> WireResponse:
        if type(result) is tuple and len(result) == 2 and type(result[0]) is int:
            code, body = result
            if body is None or code in (204, 304) or code < 200:
                return WireResponse(code, [], b"")
            known = by_status.get(code)
            if known is not None:
                return known(body)
            response = other(body)
            response.status_code = code
            return response
        return default(result)

    return convert
