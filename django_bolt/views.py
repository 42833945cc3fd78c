"""Class-based views: ``APIView``, ``ViewSet``, the CRUD mixins and ``ModelViewSet``.

A class registered with ``api.view(path)`` or ``api.viewset(path)`` becomes ordinary routes:
:func:`view_routes` and :func:`viewset_routes` return one :class:`RouteSpec` per route, and the
router declares each through its normal route decorator, so binding, auth, guards, middleware
and OpenAPI treat them like function routes. Each route's handler is built once, at
registration: it takes the method's own arguments (without ``self``), makes a fresh instance of
the class per request (so ``self.request`` and ``self.action`` belong to that request alone)
and calls the method. ``async def`` and ``def`` methods both work; a ``def`` method runs in the
thread pool unless it provably neither blocks nor touches the ORM (the rule for ``def`` routes).
"""

from __future__ import annotations

import inspect
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, NamedTuple, TypeVar

import msgspec
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet

from django_bolt._django.models import ObjectQuery, accepts_models
from django_bolt._django.writes import assign, saved, validated, write_fields
from django_bolt.concurrency import is_inline_safe, sync_to_thread
from django_bolt.decorators import RESPONSE_MODEL_UNSET, ActionHandler
from django_bolt.exceptions import (
    BadRequest,
    ConfigurationError,
)
from django_bolt.middleware import middleware as route_middleware_decorator
from django_bolt.pagination import PaginationBase, paginate, pagination_of
from django_bolt.request import Request
from django_bolt.serializers import Serializer

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "APIView",
    "CreateMixin",
    "DestroyMixin",
    "ListMixin",
    "ModelViewSet",
    "PartialUpdateMixin",
    "ReadOnlyModelViewSet",
    "RetrieveMixin",
    "RouteSpec",
    "UpdateMixin",
    "ViewSet",
    "view_routes",
    "viewset_routes",
)

_HTTP_METHODS: Final = ("get", "post", "put", "patch", "delete", "head", "options", "query")
# The keyword the request reaches a view's handler by when the method does not take it.
_HIDDEN_REQUEST: Final = "_bolt_view_request"
_REQUEST_NAMES: Final = frozenset({"request", "req"})
# (action, HTTP method, on the detail path, default status)
_STANDARD_ACTIONS: Final = (
    ("list", "GET", False, None),
    ("create", "POST", False, 201),
    ("retrieve", "GET", True, None),
    ("update", "PUT", True, None),
    ("partial_update", "PATCH", True, None),
    ("destroy", "DELETE", True, 204),
)
_RESERVED_NAMES: Final = frozenset({*_HTTP_METHODS, *(a[0] for a in _STANDARD_ACTIONS)})


class RouteSpec(NamedTuple):
    """One route a view class asks for: declared by the router as ``route(path, methods,
    **options)(handler)``."""

    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    options: dict[str, Any]
    # Whether the route name was given (reversing prefers an explicit name to a derived one).
    name_explicit: bool = True


class APIView:
    """A class whose methods named after HTTP verbs (``get``, ``post``, ...) serve one path.

    Class attributes apply to every method: ``auth``, ``guards``, ``status_code``,
    ``validate_response``, ``include_in_schema``, ``tags`` and ``middleware`` (entries as
    ``@middleware`` takes them, outside the methods' own). The options of ``api.view()`` win
    over them. Each request gets a fresh instance, with ``self.request`` set.
    """

    http_method_names: ClassVar[tuple[str, ...]] = _HTTP_METHODS
    auth: ClassVar[list[Any] | None] = None
    guards: ClassVar[list[Any] | None] = None
    status_code: ClassVar[int | None] = None
    validate_response: ClassVar[bool | None] = None
    include_in_schema: ClassVar[bool | None] = None
    tags: ClassVar[list[str] | None] = None
    middleware: ClassVar[list[Any] | None] = None

    request: Request
    action: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)

    def initialize(self, request: Request) -> None:
        """Prepare the instance for ``request``; called before the method when overridden."""

    @classmethod
    def get_allowed_methods(cls) -> set[str]:
        """Return the HTTP methods this class implements (upper case)."""
        return {m.upper() for m in cls.http_method_names if callable(getattr(cls, m, None))}

    @classmethod
    def as_view(cls, method: str, action: str | None = None) -> Callable[..., Any]:
        """Return the route handler for ``method`` (or the viewset ``action``), built once."""
        method = method.lower()
        if method not in cls.http_method_names:
            raise ValueError(
                f"Method {method!r} not allowed; allowed: {', '.join(cls.http_method_names)}"
            )
        name = action or method
        func = getattr(cls, name, None)
        if func is None and action is not None:
            func, name = getattr(cls, method, None), method
        if not callable(func):
            raise ValueError(f"View class {cls.__name__} does not implement {name!r}")
        return build_handler(cls, func, name)


def build_handler(
    cls: type[APIView],
    func: Callable[..., Any],
    action: str,
    body_type: Any = None,
    attributes: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """Return the handler that serves ``func`` (a method of ``cls``) as ``action``.

    ``body_type`` replaces the annotation of the method's ``data`` argument (the CRUD mixins'
    request body, typed by the viewset's serializer classes); ``attributes`` are set on each
    instance (a ``lookup_field`` given to ``api.viewset()``).
    """
    if isinstance(func, ActionHandler):
        func = func.fn
    params = list(inspect.signature(func).parameters.values())[1:]  # without self
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise TypeError(f"{cls.__qualname__}.{action}: cannot resolve annotations: {exc}") from exc
    annotations = {p.name: hints[p.name] for p in params if p.name in hints}
    if "return" in hints:
        annotations["return"] = hints["return"]
    if body_type is not None:
        annotations["data"] = body_type
    request_name = next(
        (
            p.name
            for p in params
            if p.name in _REQUEST_NAMES
            or (isinstance(hints.get(p.name), type) and issubclass(hints[p.name], Request))
        ),
        None,
    )
    if request_name is None:
        params.append(inspect.Parameter(_HIDDEN_REQUEST, inspect.Parameter.KEYWORD_ONLY))
        annotations[_HIDDEN_REQUEST] = Request
    handler = _instance_call(cls, func, action, request_name, attributes or {})
    handler.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    handler.__annotations__ = annotations
    handler.__name__ = f"{cls.__name__}.{action}"
    handler.__qualname__ = f"{cls.__qualname__}.{getattr(func, '__name__', action)}"
    handler.__module__ = cls.__module__
    handler.__doc__ = func.__doc__
    # Route marks (@middleware, @paginate, @no_compress, @cors, ...) travel with the method.
    handler.__dict__.update({k: v for k, v in vars(func).items() if not k.startswith("__")})
    if cls.middleware:
        route_middleware_decorator(*cls.middleware)(handler)
    return handler


def _instance_call(
    cls: type[APIView],
    func: Callable[..., Any],
    action: str,
    request_name: str | None,
    attributes: dict[str, Any],
) -> Callable[..., Any]:
    """Return the function that makes an instance per request and calls ``func`` on it."""
    initialize = cls.initialize if cls.initialize is not APIView.initialize else None

    def prepare(kwargs: dict[str, Any]) -> APIView:
        view = cls(**attributes)
        view.action = action
        request = kwargs.pop(_HIDDEN_REQUEST) if request_name is None else kwargs[request_name]
        view.request = request
        if initialize is not None:
            initialize(view, request)
        return view

    if inspect.iscoroutinefunction(func):

        async def view_handler(**kwargs: Any) -> Any:
            view = prepare(kwargs)
            return await func(view, **kwargs)

        return view_handler

    def view_handler_sync(**kwargs: Any) -> Any:
        view = prepare(kwargs)
        return func(view, **kwargs)

    return view_handler_sync


def _inline(cls: type[APIView], func: Callable[..., Any]) -> bool | None:
    """Return True when a ``def`` method may run on the event loop (None: the pool decides)."""
    if isinstance(func, ActionHandler):
        func = func.fn
    if inspect.iscoroutinefunction(func):
        return None
    plain = cls.__init__ is APIView.__init__ and cls.initialize is APIView.initialize
    return True if plain and is_inline_safe(func) else None


def _pick(given: Any, class_value: Any) -> Any:
    """Return the option given to ``view()``/``viewset()`` when set, else the class's."""
    return class_value if given is None else given


def view_routes(
    cls: type[APIView],
    path: str,
    *,
    name: str | None = None,
    methods: list[str] | None = None,
    guards: list[Any] | None = None,
    auth: list[Any] | None = None,
    status_code: int | None = None,
    validate_response: bool | None = None,
    tags: list[str] | None = None,
    include_in_schema: bool | None = None,
) -> list[RouteSpec]:
    """Return the routes of an ``APIView`` registered on ``path``: one per HTTP method."""
    if not (isinstance(cls, type) and issubclass(cls, APIView)):
        raise TypeError(f"api.view() takes an APIView subclass, not {cls!r}")
    for attr in dir(cls):
        if isinstance(getattr(cls, attr, None), ActionHandler):
            raise ValueError(
                f"{cls.__name__}.{attr} uses @action, which needs api.viewset(), not api.view()"
            )
    allowed = {m.lower() for m in cls.get_allowed_methods()}
    if methods is None:
        wanted = [m for m in cls.http_method_names if m in allowed]
        if not wanted:
            raise ValueError(f"View class {cls.__name__} does not implement any HTTP method")
    else:
        wanted = [m.lower() for m in methods]
        missing = [m for m in wanted if m not in allowed]
        if missing:
            raise ValueError(f"View class {cls.__name__} does not implement {missing[0]!r}")
    specs = []
    for method in wanted:
        func = getattr(cls, method)
        options = {
            "name": name if name is not None else cls.__name__,
            "status_code": _pick(status_code, cls.status_code),
            "guards": _pick(guards, cls.guards),
            "auth": _pick(auth, cls.auth),
            "validate_response": _pick(validate_response, cls.validate_response),
            "tags": _pick(tags, cls.tags),
            "include_in_schema": _pick(include_in_schema, cls.include_in_schema),
            "inline": _inline(cls, func),
        }
        handler = cls.as_view(method)
        specs.append(RouteSpec(path, (method.upper(),), handler, options, name is not None))
    return specs


# --- viewsets ------------------------------------------------------------------------------------


class _QuerysetAttribute:
    """``queryset`` on a viewset: a fresh clone per read, so no request sees another's cache."""

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        base = getattr(owner if instance is None else instance, "_base_queryset", None)
        return base.all() if isinstance(base, QuerySet) else base

    def __set__(self, instance: object, value: Any) -> None:
        instance.__dict__["_base_queryset"] = value


# The model a viewset serves, for type checkers (``ViewSet[Article]``, as Django-Bolt spells it).
_ModelT = TypeVar("_ModelT")


class ViewSet(APIView, Generic[_ModelT]):
    """DRF's actions on two paths: ``list``/``create`` on the base path, ``retrieve``,
    ``update``, ``partial_update`` and ``destroy`` on ``{base}/{lookup_field}``.

    ``queryset`` (read as a fresh clone), ``get_queryset()``, ``filter_queryset()`` and
    ``get_object()`` serve the ORM side; ``serializer_class`` and its per-action variants
    (``list_serializer_class``, ``create_serializer_class``, ``update_serializer_class``) type
    the responses and request bodies; ``pagination_class`` pages the ``list`` action.
    ``self.action`` names the action being served.
    """

    queryset: Any = _QuerysetAttribute()
    serializer_class: ClassVar[Any] = None
    list_serializer_class: ClassVar[Any] = None
    create_serializer_class: ClassVar[Any] = None
    update_serializer_class: ClassVar[Any] = None
    lookup_field: ClassVar[str] = "pk"
    pagination_class: ClassVar[type[PaginationBase] | None] = None
    _base_queryset: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("queryset")
        if declared is not None and not isinstance(declared, _QuerysetAttribute):
            cls._base_queryset = declared
            cls.queryset = _QuerysetAttribute()

    async def get_queryset(self) -> Any:
        """Return the QuerySet the actions work on (a fresh clone of ``queryset``)."""
        queryset = self.queryset
        if queryset is None:
            raise ConfigurationError(
                f"{type(self).__name__} needs a `queryset` attribute or a get_queryset() override"
            )
        return queryset

    async def filter_queryset(self, queryset: Any) -> Any:
        """Return ``queryset`` narrowed for this request (override to filter; ``self.request``)."""
        return queryset

    async def get_object(self, *args: Any, **lookups: Any) -> Any:
        """Return the object the request names; a 404 when there is none.

        Without arguments the lookup value is the path's ``{lookup_field}``; ``get_object(pk)``
        and ``get_object(field=value)`` look up explicitly. A value the field cannot hold (a
        word for an integer key) is a 404 as well.
        """
        query = await self._object_query(args, lookups)
        # One hop to the pool of def handlers: cheaper than the async ORM's own thread.
        return await sync_to_thread(query.fetch)

    async def _object_query(self, args: tuple[Any, ...], lookups: dict[str, Any]) -> ObjectQuery:
        """Return what :meth:`get_object` reads: its QuerySet (``get_queryset()`` and
        ``filter_queryset()`` run here, on the loop) and its lookups."""
        queryset = await self.filter_queryset(await self.get_queryset())
        return ObjectQuery(queryset, self._lookups(args, lookups))

    def _lookups(self, args: tuple[Any, ...], lookups: dict[str, Any]) -> dict[str, Any]:
        """Return the lookups of :meth:`get_object`'s arguments (the path's value without)."""
        if args:
            if len(args) != 1 or lookups:
                raise TypeError("get_object() takes one lookup value or keyword lookups")
            lookups = {self.lookup_field: args[0]}
        elif not lookups:
            params = self.request.path_params
            if self.lookup_field not in params:
                # A detail lookup from a route without the value: Django-Bolt's 400.
                raise BadRequest(detail=f"Missing lookup field: {self.lookup_field}")
            lookups = {self.lookup_field: params[self.lookup_field]}
        return lookups

    @classmethod
    def get_default_serializer_class(cls, action: str | None = None) -> Any:
        """Return the serializer class for ``action``, by the documented priority."""
        if action == "list" and cls.list_serializer_class is not None:
            return cls.list_serializer_class
        if action == "create" and cls.create_serializer_class is not None:
            return cls.create_serializer_class
        if action in ("update", "partial_update"):
            if cls.update_serializer_class is not None:
                return cls.update_serializer_class
            if cls.create_serializer_class is not None:
                return cls.create_serializer_class
        if cls.serializer_class is None:
            raise ConfigurationError(
                f"{cls.__name__} needs a `serializer_class` attribute "
                "or a get_serializer_class() override"
            )
        return cls.serializer_class

    # Django-Bolt 0.13's name for it.
    _get_default_serializer_class = get_default_serializer_class

    def get_serializer_class(self, action: str | None = None) -> Any:
        """Return the serializer class for ``action`` (default: the action being served)."""
        return type(self).get_default_serializer_class(action or self.action)

    async def perform_create(self, obj: Any) -> None:
        """Save a new object."""
        await obj.asave()

    async def perform_update(self, obj: Any) -> None:
        """Save a changed object."""
        await obj.asave()

    async def perform_destroy(self, obj: Any) -> None:
        """Delete an object."""
        await obj.adelete()

    async def perform_destory(self, obj: Any) -> None:
        """Delete an object: Django-Bolt's spelling, kept so that overriding either name works."""
        await self.perform_destroy(obj)


# --- the CRUD mixins ------------------------------------------------------------------------------


async def _assign_patch(view: Any, obj: Any, patch: Any) -> Any:
    """Write the fields a PATCH body sends to ``obj``; with a Serializer, the object's state
    merged with them passes the serializer's validators first (a 422 when it does not)."""
    fields = write_fields(patch)
    serializer = view.get_serializer_class("partial_update")
    if fields and isinstance(serializer, type) and issubclass(serializer, Serializer):
        current = (await serializer.afrom_model(obj)).to_dict()
        validated = serializer.model_validate({**current, **fields})
        columns = {f.name for f in obj._meta.concrete_fields}
        read_only = serializer.__bolt_read_only__
        fields = {
            name: getattr(validated, name)
            for name in fields
            if name in columns and name not in read_only
        }
    for name, value in fields.items():
        setattr(obj, name, value)
    return obj


async def _new_object(view: ViewSet[Any]) -> Any:
    """Return an unsaved instance of the viewset's model, bound to its QuerySet's database."""
    base = type(view)._base_queryset
    queryset = base if base is not None else await view.get_queryset()
    obj = queryset.model()
    # Saved, and checked for uniqueness, where the QuerySet reads (a `using()` alias).
    obj._state.db = queryset.db
    return obj


class ListMixin:
    """``list``: the viewset's QuerySet, filtered (paged when ``pagination_class`` is set)."""

    async def list(self: Any, request: Request) -> Any:
        """List the objects."""
        return await self.filter_queryset(await self.get_queryset())


class RetrieveMixin:
    """``retrieve``: the object the path names."""

    async def retrieve(self: Any, request: Request) -> Any:
        """Return one object."""
        return await self.get_object()


async def _retrieve_in_one_call(self: Any, request: Request) -> Any:
    # RetrieveMixin.retrieve's route when get_object() is ViewSet's: the object is looked up by
    # the route's converter, in the same pool call that converts and encodes it.
    return await self._object_query((), {})


async def _retrieve_from_base(self: Any, request: Request) -> Any:
    # The same, when get_queryset() and filter_queryset() are ViewSet's too: they would only
    # clone the class's QuerySet, which QuerySet.get() clones anyway before it filters.
    base = self._base_queryset
    if isinstance(base, QuerySet):
        return ObjectQuery(base, self._lookups((), {}))
    return await self._object_query((), {})


for _retrieve in (_retrieve_in_one_call, _retrieve_from_base):
    _retrieve.__name__ = "retrieve"
    _retrieve.__doc__ = RetrieveMixin.retrieve.__doc__


class CreateMixin:
    """``create``: a new object from the body (``create_serializer_class`` or
    ``serializer_class``), validated by the model, answered 201 with ``serializer_class``."""

    async def create(self: Any, request: Request, data: Any) -> Any:
        """Create an object."""
        obj = await validated(assign(await _new_object(self), data))
        return await saved(obj, self.perform_create)


class UpdateMixin:
    """``update``: every field of the body (``update_serializer_class``, else
    ``create_serializer_class``, else ``serializer_class``) written to the object."""

    async def update(self: Any, request: Request, data: Any) -> Any:
        """Replace an object's fields."""
        obj = await validated(assign(await self.get_object(), data))
        return await saved(obj, self.perform_update)


class PartialUpdateMixin:
    """``partial_update``: only the fields the body sends (the update serializer's fields,
    each optional) written to the object."""

    async def partial_update(self: Any, request: Request, data: Any) -> Any:
        """Change some of an object's fields."""
        obj = await validated(await _assign_patch(self, await self.get_object(), data))
        return await saved(obj, self.perform_update)


class DestroyMixin:
    """``destroy``: delete the object; 204 without a body."""

    async def destroy(self: Any, request: Request) -> None:
        """Delete an object."""
        await self.perform_destory(await self.get_object())


class ReadOnlyModelViewSet(ListMixin, RetrieveMixin, ViewSet[_ModelT]):
    """``list`` and ``retrieve`` over ``queryset``, typed by the serializer classes."""


class ModelViewSet(
    ListMixin,
    RetrieveMixin,
    CreateMixin,
    UpdateMixin,
    PartialUpdateMixin,
    DestroyMixin,
    ViewSet[_ModelT],
):
    """All six actions over ``queryset``, typed by the serializer classes."""


# The mixins' own methods: their responses are typed by the viewset's serializer classes.
_MIXIN_ACTIONS: Final = frozenset(
    {
        ListMixin.list,
        RetrieveMixin.retrieve,
        CreateMixin.create,
        UpdateMixin.update,
        PartialUpdateMixin.partial_update,
        DestroyMixin.destroy,
    }
)
_BODY_ACTIONS: Final = {
    "create": CreateMixin.create,
    "update": UpdateMixin.update,
    "partial_update": PartialUpdateMixin.partial_update,
}


def _patch_type(struct: type) -> type:
    """Return ``struct`` with every field optional (left out: UNSET), for PATCH bodies."""
    fields = msgspec.structs.fields(struct)
    return msgspec.defstruct(
        f"{struct.__name__}Patch",
        [(f.name, f.type | msgspec.UnsetType, msgspec.UNSET) for f in fields],
        kw_only=True,
        rename={f.name: f.encode_name for f in fields if f.encode_name != f.name} or None,
        module=struct.__module__,
    )


def _check_writable(cls: type[ViewSet[Any]], struct: type, action: str) -> None:
    """Refuse, at registration, a Struct body field the model does not have (a Serializer may
    have fields of its own: it writes only its columns)."""
    base = cls._base_queryset
    if not isinstance(base, QuerySet) or issubclass(struct, Serializer):
        return
    meta = base.model._meta
    for name in struct.__struct_fields__:  # type: ignore[attr-defined]
        try:
            meta.get_field(name)
        except FieldDoesNotExist:
            if name not in {f.attname for f in meta.concrete_fields}:
                raise ConfigurationError(
                    f"{cls.__name__}.{action}: {struct.__name__}.{name} is not a field of "
                    f"{base.model.__name__}"
                ) from None


def _body_type(cls: type[ViewSet[Any]], action: str, func: Any) -> Any:
    """Return the request body type of a mixin's write action (None for a user's method)."""
    if _BODY_ACTIONS.get(action) is not func:
        return None
    try:
        struct = cls.get_default_serializer_class(action)
    except ConfigurationError:
        raise ConfigurationError(
            f"{cls.__name__}.{action} needs a serializer class to validate the request body"
        ) from None
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        raise ConfigurationError(f"{cls.__name__}: {struct!r} is not a Serializer or Struct")
    _check_writable(cls, struct, action)
    return _patch_type(struct) if action == "partial_update" else struct


def _response_model(cls: type[ViewSet[Any]], action: str, func: Any) -> Any:
    """Return the declared response: the method's own, else the serializer the action uses."""
    own = getattr(func, "response_model", RESPONSE_MODEL_UNSET)
    if own is not RESPONSE_MODEL_UNSET:
        return own
    if func not in _MIXIN_ACTIONS and "return" in getattr(func, "__annotations__", {}):
        return RESPONSE_MODEL_UNSET
    if action == "destroy":
        return None
    try:
        serializer = cls.get_default_serializer_class("list" if action == "list" else "retrieve")
    except ConfigurationError:
        return RESPONSE_MODEL_UNSET
    return list[serializer] if action == "list" else serializer  # type: ignore[valid-type]


def _served(cls: type[ViewSet[Any]], action: str, func: Any) -> Any:
    """Return the function a standard action's route calls: ``func``, except for the mixin's
    retrieve over ViewSet's own get_object() when the response may be a model result (then
    one pool call reads, converts and encodes the object)."""
    if (
        func is RetrieveMixin.retrieve
        and cls.get_object is ViewSet.get_object
        and cls._object_query is ViewSet._object_query
    ):
        model = _response_model(cls, action, func)
        if model is RESPONSE_MODEL_UNSET or accepts_models(model):
            plain = (
                cls.get_queryset is ViewSet.get_queryset
                and cls.filter_queryset is ViewSet.filter_queryset
            )
            return _retrieve_from_base if plain else _retrieve_in_one_call
    return func


def viewset_routes(
    cls: type[ViewSet[Any]],
    path: str,
    *,
    name: str | None = None,
    guards: list[Any] | None = None,
    auth: list[Any] | None = None,
    status_code: int | None = None,
    validate_response: bool | None = None,
    lookup_field: str = "pk",
    tags: list[str] | None = None,
    include_in_schema: bool | None = None,
) -> list[RouteSpec]:
    """Return the routes of a ``ViewSet`` registered on ``path``: its standard actions, then
    its ``@action`` methods. Route names are ``{name}-{action}`` (``name`` defaults to the
    class name)."""
    if not (isinstance(cls, type) and issubclass(cls, ViewSet)):
        raise TypeError(f"api.viewset() takes a ViewSet subclass, not {cls!r}")
    lookup = cls.lookup_field if lookup_field == "pk" else lookup_field
    # get_object() reads the path's value under the lookup the routes were made with.
    attributes = {} if lookup == cls.lookup_field else {"lookup_field": lookup}
    base = name if name is not None else cls.__name__
    root = path.rstrip("/")
    shared = {
        "guards": _pick(guards, cls.guards),
        "auth": _pick(auth, cls.auth),
        "validate_response": _pick(validate_response, cls.validate_response),
        "tags": _pick(tags, cls.tags),
        "include_in_schema": _pick(include_in_schema, cls.include_in_schema),
    }
    specs: list[RouteSpec] = []
    for action, method, detail, default_status in _STANDARD_ACTIONS:
        func = getattr(cls, action, None)
        if not callable(func) or isinstance(func, ActionHandler):
            continue
        handler = build_handler(
            cls, _served(cls, action, func), action, _body_type(cls, action, func), attributes
        )
        if action == "list" and cls.pagination_class and pagination_of(handler) is None:
            paginate(cls.pagination_class)(handler)
        options = {
            **shared,
            "name": f"{base}-{action}",
            "status_code": _pick(status_code, _pick(cls.status_code, default_status)),
            "inline": _inline(cls, func),
        }
        model = _response_model(cls, action, func)
        if model is not RESPONSE_MODEL_UNSET:
            options["response_model"] = model
        route = f"{root}/{{{lookup}}}" if detail else (root or "/")
        specs.append(RouteSpec(route, (method,), handler, options, name is not None))
    explicit = name is not None
    specs.extend(_action_routes(cls, root, lookup, base, shared, attributes, explicit))
    return specs


def _action_routes(
    cls: type[ViewSet[Any]],
    root: str,
    lookup: str,
    base: str,
    shared: dict[str, Any],
    attributes: dict[str, Any],
    explicit: bool,
) -> list[RouteSpec]:
    """Return the routes of the class's ``@action`` methods."""
    specs: list[RouteSpec] = []
    for attr in sorted(dir(cls)):
        record = getattr(cls, attr, None)
        if not isinstance(record, ActionHandler):
            continue
        if attr in _RESERVED_NAMES:
            raise ValueError(f"{cls.__name__}.{attr}: @action cannot take a standard action's name")
        route = f"{root}/{{{lookup}}}/{record.path}" if record.detail else f"{root}/{record.path}"
        given = record.options
        options: dict[str, Any] = {
            **shared,
            "name": f"{base}-{given.name or record.fn.__name__}",
            "guards": _pick(given.guards, shared["guards"]),
            "auth": _pick(given.auth, shared["auth"]),
            "validate_response": _pick(given.validate_response, shared["validate_response"]),
            "tags": _pick(given.tags, shared["tags"]),
            "include_in_schema": _pick(given.include_in_schema, shared["include_in_schema"]),
            "status_code": given.status_code,
            "summary": given.summary,
            "description": given.description,
            "inline": _inline(cls, record),
        }
        if given.response_model is not RESPONSE_MODEL_UNSET:
            options["response_model"] = given.response_model
        for method in record.methods:
            handler = build_handler(cls, record.fn, attr, attributes=attributes)
            named = explicit or given.name is not None
            specs.append(RouteSpec(route, (method,), handler, options, named))
    return specs
