"""Paginated lists: page numbers, limit/offset and signed cursors, over QuerySets and lists.

A paginated route is declared like any other (``@api.get`` above ``@paginate(...)``, or a
viewset's ``pagination_class``); when the route is registered, :func:`paginated_endpoint`
builds its handler once: the pagination's query parameters become typed, documented
parameters of the route (so a malformed ``page`` or ``limit`` is a 422 in the usual shape,
before the handler runs), the declared item type (``list[Item]``) becomes the envelope
``response_class[Item]``, and how a page's rows become items is decided for that type.

Per request, a QuerySet is counted with one ``COUNT`` query and only the page is fetched (a
slice, one ``LIMIT``/``OFFSET`` query), both in one hop to the thread pool when the handler
is ``async``. A Struct item type whose fields are all model fields is read through a
``.values()`` projection of those fields; anything else is read as model instances and
converted field by field. Lists and tuples are paginated in memory.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final, Generic, TypeVar

import msgspec
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db.models import Q, QuerySet
from django.db.models.query import ModelIterable

from django_bolt._django.models import ModelResults, apply_loading_plan
from django_bolt.concurrency import run_in_pool
from django_bolt.exceptions import NotFound, RequestValidationError, ResponseValidationError
from django_bolt.params import Query
from django_bolt.request import Request
from django_bolt.serializers import Serializer
from django_bolt.serializers.orm import prepare_queryset

__all__ = (
    "CursorPagination",
    "LimitOffsetPagination",
    "PageNumberPagination",
    "PaginatedResponse",
    "PaginationBase",
    "extract_pagination_item_type",
    "paginate",
    "paginated_endpoint",
    "pagination_of",
)

T = TypeVar("T")

# Where @paginate leaves the pagination class on the handler it marks.
_PAGINATION_ATTR: Final = "_bolt_pagination"
# The keyword the request reaches a paginated handler's wrapper by when the handler itself
# does not take it (never a name a handler could declare by accident).
_REQUEST_KW: Final = "_bolt_paginated_request"
_REQUEST_NAMES: Final = frozenset({"request", "req"})


class PaginatedResponse(msgspec.Struct, Generic[T], omit_defaults=True):
    """The default envelope of a page: the items, the total, and the scheme's own fields.

    Fields a scheme does not use are left out of the JSON (``omit_defaults``): page numbers
    send ``page``, ``page_size``, ``total_pages``, ``next_page`` and ``previous_page``;
    limit/offset sends ``limit`` and ``offset``; cursors send ``page_size``, ``next_cursor``
    and ``previous_cursor``.
    """

    items: list[T]
    total: int
    has_next: bool
    has_previous: bool
    page: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    next_page: int | None = None
    previous_page: int | None = None
    limit: int | None = None
    offset: int | None = None
    next_cursor: str | None = None
    previous_cursor: str | None = None


def extract_pagination_item_type(response_type: Any) -> Any:
    """Return ``T`` of ``list[T]`` or of an envelope ``Envelope[T]``; None for anything else."""
    args = typing.get_args(response_type)
    if len(args) != 1:
        return None
    origin = typing.get_origin(response_type)
    if origin in (list, Sequence, tuple) or (
        isinstance(origin, type) and issubclass(origin, msgspec.Struct)
    ):
        return args[0]
    return None


# --- how rows become items, decided once per route ----------------------------------------------


class _Items:
    """How a page's rows become items of the declared type: ``_django/models.py``'s reading
    (a Struct's fields as a ``.values()`` projection, relations loaded once per page); items
    of another declared type (``list[dict[str, int]]``...) are checked against it."""

    __slots__ = ("check", "item_struct", "label", "results")

    def __init__(self, item_type: Any, label: str) -> None:
        self.label = label
        declared = list if item_type is None else list[item_type]
        self.results = ModelResults(declared, label)
        self.item_struct = (
            item_type
            if isinstance(item_type, type) and issubclass(item_type, msgspec.Struct)
            else None
        )
        # ModelResults passes values of a type that is not a Struct through as they are.
        self.check: Any = None if item_type is None or self.item_struct else declared

    def page(self, source: Any, start: int, stop: int) -> list[Any]:
        """Return the items from ``start`` to ``stop`` (a QuerySet reads only those rows)."""
        return self.convert(source[start:stop])

    def instances(self, queryset: QuerySet[Any], stop: int) -> list[Any]:
        """Return the first ``stop`` rows as model instances, with the items' relations loaded."""
        item = self.item_struct
        if item is not None and queryset._iterable_class is ModelIterable:
            if issubclass(item, Serializer):
                queryset = prepare_queryset(item, queryset)  # its own plan (sources, annotations)
            else:
                queryset = apply_loading_plan(queryset, item)
        return list(queryset[:stop])

    def convert(self, rows: Any) -> list[Any]:
        """Return ``rows`` (a QuerySet, a list of instances or values) as items."""
        items: list[Any] = self.results.to_data(rows)
        if self.check is not None:
            try:
                items = msgspec.convert(items, self.check)
            except msgspec.ValidationError as exc:
                raise ResponseValidationError(str(exc), self.label) from None
        return items


def _is_queryset(source: Any) -> bool:
    return isinstance(source, QuerySet)


def _count(source: Any) -> int:
    """One ``COUNT`` query for a QuerySet; ``len`` for anything in memory."""
    if _is_queryset(source):
        return int(source.count())
    return len(source)


def _check_source(source: Any, label: str) -> Any:
    if _is_queryset(source) or isinstance(source, list | tuple):
        return source
    raise TypeError(
        f"{label}: a paginated handler returns a QuerySet, a list or a tuple, "
        f"not {type(source).__name__}"
    )


def _query_error(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", name], "msg": message, "type": "value_error"}])


# --- the schemes --------------------------------------------------------------------------------


class PaginationBase:
    """What every pagination scheme shares: page sizes, the envelope, the query parameters.

    ``page_size`` is the default number of items; a client may ask for another through
    ``page_size_query_param`` (when set), up to ``max_page_size`` (a larger request is reduced
    to it). ``response_class`` is the envelope, a generic Struct taking the item type; override
    it together with :meth:`build_response` for another shape.
    """

    page_size: ClassVar[int] = 100
    max_page_size: ClassVar[int] = 1000
    page_size_query_param: ClassVar[str | None] = None
    response_class: ClassVar[Any] = PaginatedResponse

    def __init__(self) -> None:
        self._items = _Items(None, type(self).__qualname__)

    def bind_items(self, item_type: Any, label: str) -> None:
        """Decide, once, how this paginator's rows become items of ``item_type``."""
        self._items = _Items(item_type, label)

    # -- what a route declares ---------------------------------------------------------------
    def query_parameters(self) -> list[tuple[str, str, Any, Query]]:
        """Return ``(key, name in the query, annotation, marker)`` for each query parameter."""
        if not self.page_size_query_param:
            return []
        marker = Query(
            None,
            alias=self.page_size_query_param,
            ge=1,
            description=(
                f"Items per page (default {self.page_size}; "
                f"more than {self.max_page_size} is reduced to {self.max_page_size})"
            ),
        )
        return [("page_size", self.page_size_query_param, int | None, marker)]

    def resolve_page_size(self, requested: int | None) -> int:
        """Return the page size for a request: the client's choice within the maximum."""
        if requested is None:
            return self.page_size
        return min(requested, self.max_page_size)

    # -- the response ------------------------------------------------------------------------
    def build_response(
        self,
        items: list[Any],
        *,
        total: int,
        request: Any,
        has_next: bool,
        has_previous: bool,
        **info: Any,
    ) -> Any:
        """Return the envelope of one page (``info`` holds the scheme's own fields)."""
        return self.response_class(
            items=items, total=total, has_next=has_next, has_previous=has_previous, **info
        )

    # -- paginating --------------------------------------------------------------------------
    async def paginate_queryset(self, queryset: Any, request: Any, **params: Any) -> Any:
        """Return the envelope of the requested page of ``queryset`` (a QuerySet or a list).

        A QuerySet's queries run in the thread pool, counted and fetched in one hop.
        """
        source = _check_source(queryset, self._items.label)
        if _is_queryset(source):
            return await run_in_pool(
                self.paginate_sync, {"source": source, "request": request, "params": params}
            )
        return self.paginate_sync(source, request, params)

    def paginate_sync(self, source: Any, request: Any, params: dict[str, Any]) -> Any:
        """Return the envelope of one page, on a thread that may query the database."""
        raise NotImplementedError


class PageNumberPagination(PaginationBase):
    """Pages by number: ``?page=2`` (and ``?page_size=`` when the client may choose it).

    A page number past the last page is a 404; a page that is not a positive integer is a 422.
    Page 1 of an empty list is an empty page.
    """

    page_size: ClassVar[int] = 100
    max_page_size: ClassVar[int] = 1000
    page_size_query_param: ClassVar[str | None] = "page_size"
    page_query_param: ClassVar[str] = "page"

    def query_parameters(self) -> list[tuple[str, str, Any, Query]]:
        """Return the ``page`` parameter and the page size's."""
        page = Query(1, alias=self.page_query_param, ge=1, description="Page number, from 1")
        return [("page", self.page_query_param, int, page), *super().query_parameters()]

    def paginate_sync(self, source: Any, request: Any, params: dict[str, Any]) -> Any:
        """Return the envelope of the requested page."""
        page: int = params.get("page", 1)
        page_size = self.resolve_page_size(params.get("page_size"))
        total = _count(source)
        total_pages = -(-total // page_size)
        if page > max(total_pages, 1):
            raise NotFound(detail=f"Invalid page: {page} (the last page is {max(total_pages, 1)})")
        offset = (page - 1) * page_size
        items = self._items.page(source, offset, offset + page_size) if total else []
        has_next = page < total_pages
        return self.build_response(
            items,
            total=total,
            request=request,
            has_next=has_next,
            has_previous=page > 1,
            page=page,
            page_size=page_size,
            total_pages=total_pages,
            next_page=page + 1 if has_next else None,
            previous_page=page - 1 if page > 1 else None,
        )


class LimitOffsetPagination(PaginationBase):
    """``?limit=20&offset=40``: ``limit`` defaults to ``page_size`` and is reduced to
    ``max_page_size``; an offset past the end is an empty page."""

    page_size: ClassVar[int] = 100
    max_page_size: ClassVar[int] = 1000
    limit_query_param: ClassVar[str] = "limit"
    offset_query_param: ClassVar[str] = "offset"

    def query_parameters(self) -> list[tuple[str, str, Any, Query]]:
        """Return the ``limit`` and ``offset`` parameters."""
        limit = Query(
            None,
            alias=self.limit_query_param,
            ge=1,
            description=(
                f"Items to return (default {self.page_size}; "
                f"more than {self.max_page_size} is reduced to {self.max_page_size})"
            ),
        )
        offset = Query(0, alias=self.offset_query_param, ge=0, description="Items to skip")
        return [
            ("limit", self.limit_query_param, int | None, limit),
            ("offset", self.offset_query_param, int, offset),
        ]

    def paginate_sync(self, source: Any, request: Any, params: dict[str, Any]) -> Any:
        """Return the envelope of the requested window."""
        limit = self.resolve_page_size(params.get("limit"))
        offset: int = params.get("offset", 0)
        total = _count(source)
        items = self._items.page(source, offset, offset + limit) if offset < total else []
        return self.build_response(
            items,
            total=total,
            request=request,
            has_next=offset + limit < total,
            has_previous=offset > 0,
            limit=limit,
            offset=offset,
        )


class CursorPagination(PaginationBase):
    """Keyset pages: ``?cursor=...`` continues after (or before) the row the cursor names.

    ``ordering`` (a field name, ``-`` for descending, or a sequence of them) orders the rows;
    the primary key is added as the last key when it is not there, so equal values never
    skip or repeat a row, and rows inserted meanwhile never shift a page. The cursor is opaque
    and signed with ``SECRET_KEY``: a cursor that was altered, or made for another pagination
    class, is a 422. No ``COUNT`` query is made: ``total`` is 0. The ordering fields must not
    be NULL.
    """

    page_size: ClassVar[int] = 100
    max_page_size: ClassVar[int] = 1000
    page_size_query_param: ClassVar[str | None] = "page_size"
    cursor_query_param: ClassVar[str] = "cursor"
    ordering: ClassVar[str | Sequence[str]] = "-id"

    def query_parameters(self) -> list[tuple[str, str, Any, Query]]:
        """Return the ``cursor`` parameter and the page size's."""
        cursor = Query(
            None,
            alias=self.cursor_query_param,
            max_length=4096,
            description="Opaque cursor from a previous page's next_cursor or previous_cursor",
        )
        return [
            ("cursor", self.cursor_query_param, str | None, cursor),
            *super().query_parameters(),
        ]

    # -- the cursor --------------------------------------------------------------------------
    def _signer(self) -> signing.Signer:
        cls = type(self)
        return signing.Signer(salt=f"django_bolt.pagination:{cls.__module__}.{cls.__qualname__}")

    def encode_cursor(self, values: list[Any], backwards: bool) -> str:
        """Return the signed, opaque cursor for the row with these ordering ``values``."""
        payload = msgspec.json.encode([*values, backwards])
        token = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        signed: str = self._signer().sign(token)
        return signed

    def decode_cursor(self, cursor: str, keys: int) -> tuple[list[Any], bool]:
        """Return ``(ordering values, backwards)``; a 422 for anything not made here."""
        name = self.cursor_query_param
        try:
            token = self._signer().unsign(cursor)
            payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            decoded = msgspec.json.decode(payload)
        except (signing.BadSignature, binascii.Error, ValueError, msgspec.DecodeError):
            raise _query_error(name, "Invalid cursor") from None
        if (
            not isinstance(decoded, list)
            or len(decoded) != keys + 1
            or not isinstance(decoded[-1], bool)
        ):
            raise _query_error(name, "Invalid cursor")
        return decoded[:-1], decoded[-1]

    # -- paginating --------------------------------------------------------------------------
    def _keys(self, model: Any) -> list[tuple[str, bool]]:
        """Return ``(field, descending)`` for each ordering key, the primary key last."""
        ordering = [self.ordering] if isinstance(self.ordering, str) else list(self.ordering)
        if not ordering:
            raise ValueError(f"{type(self).__qualname__}.ordering is empty")
        keys = [(o.lstrip("-"), o.startswith("-")) for o in ordering]
        for field, _ in keys:
            if field != "pk" and not _is_column(model, field):
                raise ImproperlyConfigured(
                    f"{type(self).__qualname__}.ordering: {field!r} is not a column of "
                    f"{model.__name__} (cursors are made of the row's own values)"
                )
        pk_names = {"pk", model._meta.pk.name}
        if not any(field in pk_names for field, _ in keys):
            keys.append(("pk", keys[-1][1]))
        return keys

    def paginate_sync(self, source: Any, request: Any, params: dict[str, Any]) -> Any:
        """Return the envelope of the page after (or before) the cursor."""
        if not _is_queryset(source):
            raise TypeError(
                f"{self._items.label}: cursor pagination needs a QuerySet, "
                f"not {type(source).__name__}"
            )
        page_size = self.resolve_page_size(params.get("page_size"))
        keys = self._keys(source.model)
        cursor = params.get("cursor")
        values, backwards = self.decode_cursor(cursor, len(keys)) if cursor else ([], False)
        order = [("-" if desc != backwards else "") + field for field, desc in keys]
        queryset = source.order_by(*order)
        if values:
            queryset = queryset.filter(self._after(keys, values, backwards))
        names = tuple(_attname(source.model, field) for field, _ in keys)
        try:
            rows = self._items.instances(queryset, page_size + 1)
        except (ValidationError, ValueError, TypeError):
            # A signed cursor from a deployment whose fields changed type meanwhile.
            raise _query_error(self.cursor_query_param, "Invalid cursor") from None
        more = len(rows) > page_size
        rows = rows[:page_size]
        if backwards:
            rows.reverse()
        has_next = (more and not backwards) or (backwards and bool(values))
        has_previous = (more and backwards) or (not backwards and bool(values))
        return self.build_response(
            self._items.convert(rows),
            total=0,
            request=request,
            has_next=has_next,
            has_previous=has_previous,
            page_size=page_size,
            next_cursor=self._row_cursor(rows[-1], names, False) if has_next and rows else None,
            previous_cursor=self._row_cursor(rows[0], names, True)
            if has_previous and rows
            else None,
        )

    def _after(self, keys: list[tuple[str, bool]], values: list[Any], backwards: bool) -> Q:
        """Return the filter for rows strictly after ``values`` in the (possibly reversed) order."""
        condition = Q()
        for index, (field, desc) in enumerate(keys):
            lookup = "lt" if desc != backwards else "gt"
            step = Q(**{f"{field}__{lookup}": values[index]})
            for earlier in range(index):
                step &= Q(**{keys[earlier][0]: values[earlier]})
            condition |= step
        return condition

    def _row_cursor(self, row: Any, names: tuple[str, ...], backwards: bool) -> str:
        values = [getattr(row, name) for name in names]
        return self.encode_cursor(list(msgspec.to_builtins(values)), backwards)


def _is_column(model: Any, name: str) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return bool(getattr(field, "concrete", False)) and not field.many_to_many


def _attname(model: Any, name: str) -> str:
    """Return the attribute holding a column's value (a foreign key's ``<name>_id``)."""
    return "pk" if name == "pk" else str(model._meta.get_field(name).attname)


# --- the decorator and the route it makes -------------------------------------------------------


def paginate(
    pagination_class: type[PaginationBase] = PageNumberPagination,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a handler whose QuerySet or list is served a page at a time.

    Put it under the route decorator (``@api.get(...)`` then ``@paginate(...)``). The route's
    ``response_model`` or return annotation names the items (``list[Item]``); the response is
    ``pagination_class.response_class[Item]``.
    """
    if not (isinstance(pagination_class, type) and issubclass(pagination_class, PaginationBase)):
        raise TypeError(f"paginate() takes a PaginationBase subclass, not {pagination_class!r}")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise TypeError(f"@paginate decorates a handler, not {fn!r}")
        setattr(fn, _PAGINATION_ATTR, pagination_class)
        return fn

    return decorator


def pagination_of(fn: object) -> type[PaginationBase] | None:
    """Return the pagination class ``@paginate`` put on ``fn``, or None."""
    found = getattr(fn, _PAGINATION_ATTR, None)
    return found if isinstance(found, type) and issubclass(found, PaginationBase) else None


def paginated_endpoint(
    fn: Callable[..., Any], pagination_class: type[PaginationBase], declared: Any
) -> tuple[Callable[..., Any], Any]:
    """Return ``(handler, response type)`` for a paginated route, built once at registration.

    ``declared`` is the route's declared type (``list[Item]``, ``Envelope[Item]`` or None).
    The handler takes ``fn``'s arguments, the request and the pagination's query parameters.
    """
    label = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    item_type = extract_pagination_item_type(declared)
    envelope = pagination_class.response_class
    response_type = envelope if item_type is None else envelope[item_type]
    paginator = pagination_class()
    paginator.bind_items(item_type, label)
    if not inspect.iscoroutinefunction(fn) and (
        type(paginator).paginate_sync is PaginationBase.paginate_sync
    ):
        # A scheme written only as Django-Bolt's async paginate_queryset() cannot serve a def
        # handler, which runs in a pool thread.
        raise ImproperlyConfigured(
            f"{label}: {pagination_class.__qualname__} has no paginate_sync(), "
            "which a def handler needs (or make the handler async)"
        )
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    params = list(signature.parameters.values())
    request_name = next(
        (
            p.name
            for p in params
            if p.name in _REQUEST_NAMES
            or (isinstance(hints.get(p.name), type) and issubclass(hints[p.name], Request))
        ),
        None,
    )
    annotations = {name: hint for name, hint in hints.items() if name != "return"}
    query = paginator.query_parameters()
    taken = {p.name for p in params}
    extra: list[inspect.Parameter] = []
    keys: list[tuple[str, str, Any]] = []
    for key, _wire, annotation, marker in query:
        kw = f"_bolt_page_{key}"
        if kw in taken:
            raise TypeError(f"{label}: the argument name {kw!r} is reserved for pagination")
        extra.append(inspect.Parameter(kw, inspect.Parameter.KEYWORD_ONLY, default=marker))
        annotations[kw] = annotation
        keys.append((kw, key, marker.default))
    if request_name is None:
        extra.append(inspect.Parameter(_REQUEST_KW, inspect.Parameter.KEYWORD_ONLY))
        annotations[_REQUEST_KW] = Request
    handler = _paginating_call(fn, paginator, tuple(keys), request_name)
    handler.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params, *extra], return_annotation=inspect.Signature.empty
    )
    handler.__annotations__ = annotations
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(handler, attr, getattr(fn, attr, getattr(handler, attr)))
    handler.__dict__.update({k: v for k, v in vars(fn).items() if not k.startswith("__")})
    return handler, response_type


def _paginating_call(
    fn: Callable[..., Any],
    paginator: PaginationBase,
    keys: tuple[tuple[str, str, Any], ...],
    request_name: str | None,
) -> Callable[..., Any]:
    """Return the function a paginated route calls: the handler, then its page."""
    label = paginator._items.label

    def split(kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        request = kwargs.pop(_REQUEST_KW) if request_name is None else kwargs[request_name]
        # An absent parameter is not passed: its default is the marker's.
        return request, {key: kwargs.pop(kw, default) for kw, key, default in keys}

    if inspect.iscoroutinefunction(fn):

        async def paginated(**kwargs: Any) -> Any:
            request, page = split(kwargs)
            source = await fn(**kwargs)
            return await paginator.paginate_queryset(source, request, **page)

        return paginated

    def paginated_sync(**kwargs: Any) -> Any:
        request, page = split(kwargs)
        source = _check_source(fn(**kwargs), label)
        return paginator.paginate_sync(source, request, page)

    return paginated_sync
