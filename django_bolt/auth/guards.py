"""Guards (permission classes) and the per-route gate that runs auth, then guards.

A guard answers ``has_permission(request)`` with a bool, or an awaitable of one: custom
subclasses may be sync or async, and both are honoured (Django-Bolt 0.13 refuses a guard class
of your own at start-up; its guards are AllowAny, IsAuthenticated and Requires). A
guard that fails while the request is unauthenticated gives 401 (the client should send
credentials), otherwise 403. ``&``, ``|`` and ``~`` combine guards into one guard.

``compile_gate`` turns a route's auth classes and guards into one async callable, once, when the
API compiles; a route with neither gets ``None`` and pays a single attribute check.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ClassVar, Final

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_bolt.auth.base import AUTH_REQUIRED, AuthenticationFailed, TokenUser
from django_bolt.auth.users import ClaimsUser
from django_bolt.concurrency import run_in_pool
from django_bolt.conf import framework_config
from django_bolt.exceptions import AuthRefusal

__all__ = (
    "AllowAny",
    "BasePermission",
    "HasAllPermissions",
    "HasAnyPermission",
    "HasPermission",
    "IsAdminUser",
    "IsAuthenticated",
    "IsStaff",
    "compile_gate",
    "guard_leaves",
    "resolve_entries",
)

PERMISSION_DENIED: Final = "Permission denied"

# Authenticates and checks guards; raises 401/403. Returns None when everything it called
# answered at once, else an awaitable that finishes the work (async auth classes or guards).
Gate = Callable[[Any], "Awaitable[None] | None"]


async def _await_bool(value: Awaitable[Any]) -> bool:
    return bool(await value)


class BasePermission:
    """Subclass and define ``has_permission(request)`` (sync or ``async def``)."""

    message: str = PERMISSION_DENIED
    # The 401 detail for an anonymous request this guard refuses; None: its ``message``.
    anonymous_message: str | None = None

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        return True

    def __and__(self, other: BasePermission) -> BasePermission:
        return _And(self, _as_guard(other))

    def __or__(self, other: BasePermission) -> BasePermission:
        return _Or(self, _as_guard(other))

    def __invert__(self) -> BasePermission:
        return _Not(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_guard(value: Any) -> BasePermission:
    if isinstance(value, type) and issubclass(value, BasePermission):
        return value()
    if isinstance(value, BasePermission):
        return value
    if callable(getattr(value, "has_permission", None)):
        return _Adapted(value)
    raise TypeError(f"{value!r} is not a guard (it needs has_permission(request))")


class _Adapted(BasePermission):
    """A duck-typed guard (any object with ``has_permission``), so combinators accept it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.message = getattr(inner, "message", PERMISSION_DENIED)

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        result = self.inner.has_permission(request)
        return result if inspect.isawaitable(result) else bool(result)

    def __repr__(self) -> str:
        return repr(self.inner)


class _Pair(BasePermission):
    """Two guards combined; the right one runs only when the left one does not decide.

    ``decided_by`` is the left result that settles the pair on its own: False for ``&``, True
    for ``|``.
    """

    decided_by: ClassVar[bool]
    symbol: ClassVar[str]

    def __init__(self, left: BasePermission, right: BasePermission) -> None:
        self.left, self.right = left, right

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        first = self.left.has_permission(request)
        if inspect.isawaitable(first):
            return self._rest(request, first)
        if bool(first) is self.decided_by:
            return self.decided_by
        return self.right.has_permission(request)

    async def _rest(self, request: Any, first: Awaitable[Any]) -> bool:
        if bool(await first) is self.decided_by:
            return self.decided_by
        second = self.right.has_permission(request)
        return bool(await second) if inspect.isawaitable(second) else bool(second)

    def __repr__(self) -> str:
        return f"({self.left!r} {self.symbol} {self.right!r})"


class _And(_Pair):
    decided_by = False
    symbol = "&"


class _Or(_Pair):
    decided_by = True
    symbol = "|"


class _Not(BasePermission):
    def __init__(self, inner: BasePermission) -> None:
        self.inner = inner

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        result = self.inner.has_permission(request)
        if inspect.isawaitable(result):
            return self._negate(result)
        return not result

    @staticmethod
    async def _negate(result: Awaitable[Any]) -> bool:
        return not await result

    def __repr__(self) -> str:
        return f"~{self.inner!r}"


def guard_leaves(
    guards: Sequence[Any], negated: bool = False
) -> Iterator[tuple[BasePermission, bool]]:
    """Yield each guard inside ``&``, ``|`` and ``~``, with whether an odd number of ``~``
    surround it (a negated guard passes when its inner one fails)."""
    for guard in guards:
        if isinstance(guard, _Not):
            yield from guard_leaves((guard.inner,), not negated)
        elif isinstance(guard, _Pair):
            yield from guard_leaves((guard.left, guard.right), negated)
        else:
            yield guard, negated


class AllowAny(BasePermission):
    """Everyone, authenticated or not (overrides a stricter default)."""

    def has_permission(self, request: Any) -> bool:
        return True


class IsAuthenticated(BasePermission):
    """An auth class accepted the request; otherwise 401."""

    message = AUTH_REQUIRED

    def has_permission(self, request: Any) -> bool:
        return bool(request.user.is_authenticated)


class _UserFlagGuard(BasePermission):
    """A guard on the user's own flags: ``request.user``, the row under JWT.

    A JWT user's row is loaded in the thread pool, once (the handler then finds it loaded), so
    a superuser whose token has no ``is_superuser`` claim passes, and one demoted since the
    token was minted does not. ``JWTAuthentication(trust_claims=True)`` users are the claims.
    """

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        user = request.user
        if not user.is_authenticated:
            return False
        if type(user) is ClaimsUser and not user.is_loaded:
            return self._loaded_allows(user)
        return self.allows(user)

    async def _loaded_allows(self, user: ClaimsUser) -> bool:
        return self.allows(await user.aresolve())

    def allows(self, user: Any) -> bool:
        raise NotImplementedError


class IsAdminUser(_UserFlagGuard):
    """A superuser (Django-Bolt's meaning; DRF's IsAdminUser checks staff)."""

    def allows(self, user: Any) -> bool:
        return bool(user.is_superuser)


class IsStaff(_UserFlagGuard):
    """A staff member (superusers count, as in Django's admin)."""

    def allows(self, user: Any) -> bool:
        return bool(user.is_staff or user.is_superuser)


def _check_perms(user: Any, perms: tuple[str, ...], need_all: bool) -> bool | Awaitable[bool]:
    """Token users answer from their claims; Django users ask the ORM, off the event loop."""
    if not user.is_authenticated:
        return False
    if type(user) is ClaimsUser:
        # The token's grants (its permissions and is_superuser claims): the row is not loaded.
        return _granted(user.permissions, user.claims_is_superuser, perms, need_all)
    permissions = getattr(user, "permissions", None)
    if isinstance(permissions, frozenset):
        # TokenUser (or any user carrying its permission set): no query needed.
        return _granted(permissions, user.is_superuser, perms, need_all)
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", True):
        return True
    return _django_perms(user, perms, need_all)


def _granted(
    permissions: frozenset[str], superuser: bool, perms: tuple[str, ...], need_all: bool
) -> bool:
    # Superusers hold every permission, as in Django's ModelBackend.
    if superuser:
        return True
    if need_all:
        return all(p in permissions for p in perms)
    return any(p in permissions for p in perms)


async def _django_perms(user: Any, perms: tuple[str, ...], need_all: bool) -> bool:
    def check() -> bool:
        if need_all:
            return bool(user.has_perms(perms))
        return any(user.has_perm(p) for p in perms)

    return bool(await run_in_pool(check, {}))


class _PermissionsGuard(BasePermission):
    """The user holds all (or, with ``require_all`` false, any) of ``perms``."""

    require_all: ClassVar[bool] = True

    def __init__(self, *perms: str) -> None:
        if not perms:
            raise ValueError(f"{type(self).__name__} needs at least one permission")
        self.perms = perms

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        return _check_perms(request.user, self.perms, self.require_all)

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.perms!r}"


class HasPermission(_PermissionsGuard):
    """The user holds ``perm`` (``"app.codename"``)."""

    def __init__(self, perm: str) -> None:
        super().__init__(perm)

    def __repr__(self) -> str:
        return f"HasPermission({self.perms[0]!r})"


class HasAnyPermission(_PermissionsGuard):
    """The user holds at least one of ``perms``."""

    require_all = False


class HasAllPermissions(_PermissionsGuard):
    """The user holds every one of ``perms``."""


_ClaimValue = str | int | float | bool
# What all_of= and none_of= take: any collection of values but a string (whose letters would be
# read as the values).
_ClaimValues = (
    list[_ClaimValue] | tuple[_ClaimValue, ...] | set[_ClaimValue] | frozenset[_ClaimValue]
)


def _value_matches(claim: Any, value: _ClaimValue) -> bool:
    """Whether one claim value equals a required one, of the same JSON type.

    Python's ``1 == True == 1.0`` would let a claim ``1`` pass ``Requires("beta", True)``; as in
    Django-Bolt 0.13, a bool matches only a bool, an int only an int, a float only a float.
    """
    if isinstance(value, bool):
        return claim is value
    if isinstance(value, int):
        return isinstance(claim, int) and not isinstance(claim, bool) and claim == value
    if isinstance(value, float):
        return isinstance(claim, float) and claim == value
    return isinstance(claim, str) and claim == value


def _claim_matches(claim: Any, value: _ClaimValue) -> bool:
    """Whether ``claim`` matches ``value``: a scalar by equality, a list by membership."""
    if isinstance(claim, list | tuple | set | frozenset):
        return any(_value_matches(item, value) for item in claim)
    return _value_matches(claim, value)


class Requires(BasePermission):
    """Django-Bolt's claim guard: a claim of the authenticated identity must be present and,
    when values are given, match them.

    ``Requires("tenant_id")`` (present and not null/false), ``Requires("role", "client", "vip")``
    (any of), ``Requires("permissions", all_of=[...])`` (a list claim holding every value; a
    tuple or set of values too), ``Requires("role", none_of=[...])`` (none of). A scalar claim
    matches by equality, a list claim by membership, and only a value of the same JSON type
    (``True`` is not ``1``, ``1`` is not ``1.0``). Claims are read from what the auth class
    accepted (JWT claims, API-key info): under JWT only from the token, as in Django-Bolt 0.13,
    never from the user's row; for other users from the user (``is_staff`` of a session user,
    say). ``"permissions"`` is the user's permission set, so it also covers Django users (asked
    off the event loop) and API keys. An anonymous request is refused with 401 by every
    ``Requires``, ``none_of`` included; ``message`` is the 403's detail and never shown to an
    anonymous caller.
    """

    anonymous_message = AUTH_REQUIRED

    def __init__(
        self,
        claim: str,
        *values: _ClaimValue,
        all_of: _ClaimValues | None = None,
        none_of: _ClaimValues | None = None,
        message: str | None = None,
    ) -> None:
        if not isinstance(claim, str) or not claim:
            raise ImproperlyConfigured(f"Requires() needs a claim name, not {claim!r}")
        if sum((bool(values), all_of is not None, none_of is not None)) > 1:
            raise ImproperlyConfigured(
                "Requires() takes values (any of), all_of=[...] or none_of=[...], one of them; "
                "guards add up, so 'has X but not Y' is two guards"
            )
        self.quantifier = "any"
        for keyword, given in (("all", all_of), ("none", none_of)):
            if given is None:
                continue
            if not isinstance(given, list | tuple | set | frozenset) or not given:
                raise ImproperlyConfigured(
                    f"Requires() {keyword}_of must be a non-empty list (or tuple, set) of "
                    f"values, not {given!r}"
                )
            values = tuple(given)
            self.quantifier = keyword
        for value in values:
            if not isinstance(value, str | int | float):
                raise ImproperlyConfigured(
                    f"Requires({claim!r}): claim values are str, int, float or bool, not {value!r}"
                )
        if message is not None and (not isinstance(message, str) or not message):
            raise ImproperlyConfigured(f"Requires() message must be a non-empty str: {message!r}")
        self.claim = claim
        self.values = values
        if message is not None:
            self.message = message

    def has_permission(self, request: Any) -> bool | Awaitable[bool]:
        user = request.user
        if not user.is_authenticated:
            return False
        values = self.values
        if self.claim == "permissions" and values:
            if self.quantifier == "none":
                found = _check_perms(user, tuple(map(str, values)), need_all=False)
                if inspect.isawaitable(found):
                    return _negated(found)
                return not found
            return _check_perms(user, tuple(map(str, values)), self.quantifier == "all")
        claim = self._claim_value(request, user)
        if not values:
            return claim is not None and claim is not False
        if claim is None:
            return self.quantifier == "none"
        matches = [_claim_matches(claim, value) for value in values]
        if self.quantifier == "all":
            return all(matches)
        if self.quantifier == "none":
            return not any(matches)
        return any(matches)

    def _claim_value(self, request: Any, user: Any) -> Any:
        auth = request.auth
        if isinstance(auth, dict) and self.claim in auth:
            return auth[self.claim]
        if self.claim == "permissions":
            permissions = getattr(user, "permissions", None)
            return sorted(permissions) if isinstance(permissions, frozenset) else None
        if type(user) is ClaimsUser:
            return None  # the token does not say it; the row is not loaded to find out
        return getattr(user, self.claim, None)

    def __repr__(self) -> str:
        if self.quantifier == "any":
            shown = ", ".join(repr(v) for v in (self.claim, *self.values))
        else:
            shown = f"{self.claim!r}, {self.quantifier}_of={list(self.values)!r}"
        return f"Requires({shown})"


async def _negated(pending: Awaitable[bool]) -> bool:
    return not await pending


# --- compiling a route's gate ------------------------------------------------------------------


def context_builder(backend: Any, index: int) -> Callable[[Any, Any], dict[str, Any]]:
    """How ``backend`` (at ``index``) fills ``request.context``, in Django-Bolt's shape: who,
    which backend, the JWT claims, and the granted ``permissions`` (a list). What depends only
    on the backend is looked up once.

    An API key's context has no ``auth_claims`` entry, as in Django-Bolt 0.13 (whose docs read
    it with ``context.get("auth_claims", {})``); other backends without claims give None.
    """
    name = getattr(backend, "backend_name", "custom")
    with_claims = name == "jwt"
    claims_entry = name != "api_key"

    def build(user: Any, auth: Any) -> dict[str, Any]:
        # type(), not __class__: a lazy user's __class__ would load the row here.
        kind = type(user)
        if kind is TokenUser:  # JWT and API keys: plain slots, no getattr chain
            user_id = user.id
            is_staff, is_superuser = user.is_staff, user.is_superuser
            permissions = sorted(user.permissions)
        elif kind is ClaimsUser:  # JWT with the Django user: the claims, not the row
            user_id = user.user_id
            is_staff, is_superuser = user.claims_is_staff, user.claims_is_superuser
            permissions = sorted(user.permissions)
        else:
            user_id = getattr(user, "pk", None)
            if user_id is None and not hasattr(user, "pk"):
                user_id = getattr(user, "id", None)
            is_staff = getattr(user, "is_staff", False)
            is_superuser = getattr(user, "is_superuser", False)
            permissions = _permissions(user)
        context = {
            "user_id": None if user_id is None else str(user_id),
            "is_staff": bool(is_staff),
            "is_superuser": bool(is_superuser),
            "auth_backend": name,
            "auth_backend_index": index,
            "permissions": permissions,
        }
        if claims_entry:
            context["auth_claims"] = auth if with_claims else None
        return context

    return build


def resolve_entries(values: Sequence[Any] | None) -> list[Any]:
    """Resolve setting values: instances, classes (made without arguments) or dotted paths."""
    resolved: list[Any] = []
    for value in values or ():
        if isinstance(value, str):
            value = import_string(value)
        if isinstance(value, type):
            value = value()
        resolved.append(value)
    return resolved


def get_default_authentication_classes() -> list[Any]:
    """Return ``BOLT_AUTHENTICATION_CLASSES`` resolved to instances (Django-Bolt's helper)."""
    return resolve_entries(framework_config().bolt_authentication_classes)


def get_default_permission_classes() -> list[Any]:
    """Return ``BOLT_DEFAULT_PERMISSION_CLASSES`` resolved to instances (``[AllowAny()]`` when
    unset, as in Django-Bolt)."""
    return resolve_entries(framework_config().bolt_default_permission_classes) or [AllowAny()]


def _session_last(
    backends: tuple[Any, ...],
) -> tuple[tuple[Any, ...], tuple[Callable[[Any, Any], dict[str, Any]], ...]]:
    """Return the backends in the order they are tried, and their context builders.

    Session backends go last (Django-Bolt's order, whatever their place in ``auth``): a token
    the client sends on purpose decides before the cookie the browser adds by itself. Each
    context keeps the backend's position in ``auth`` as ``auth_backend_index``.
    """
    order = sorted(
        enumerate(backends),
        key=lambda item: getattr(item[1], "backend_name", None) == "session",
    )
    return (
        tuple(backend for _, backend in order),
        tuple(context_builder(backend, index) for index, backend in order),
    )


def _permissions(user: Any) -> list[str]:
    """Return the context's ``permissions``: what the token or key grants, sorted; no query."""
    granted = getattr(user, "permissions", None)
    if isinstance(granted, frozenset | set | list | tuple):
        return sorted(str(p) for p in granted)
    return []


def _challenge(backends: Sequence[Any]) -> dict[str, str]:
    for backend in backends:
        scheme = getattr(backend, "scheme", None)
        if scheme:
            return {"WWW-Authenticate": scheme}
    return {}


def compile_gate(backends: Sequence[Any], guards: Sequence[Any]) -> Gate | None:
    """One callable that authenticates, then checks every guard; raises 401/403 on refusal."""
    backends = tuple(backends)
    checks = tuple(_as_guard(g) for g in guards)
    if not backends and not checks:
        return None
    for backend in backends:
        if not callable(getattr(backend, "authenticate", None)):
            raise TypeError(f"{backend!r} is not an auth class (it needs authenticate(request))")
    challenge = _challenge(backends)

    def refuse(request: Any, guard: BasePermission, failure: str | None) -> AuthRefusal:
        if request.user.is_authenticated:
            return AuthRefusal(403, guard.message or PERMISSION_DENIED)
        detail = failure or guard.anonymous_message
        if detail is None:
            detail = guard.message if guard.message != PERMISSION_DENIED else AUTH_REQUIRED
        return AuthRefusal(401, detail, challenge)

    n_checks = len(checks)
    backends, contexts = _session_last(backends)

    def accept(request: Any, index: int, found: Any) -> None:
        user, auth = found
        request.set_identity(user, auth, contexts[index](user, auth))

    def check_guards(request: Any, failure: str | None, start: int) -> Awaitable[None] | None:
        for position in range(start, n_checks):
            guard = checks[position]
            allowed = guard.has_permission(request)
            if allowed.__class__ is not bool and inspect.isawaitable(allowed):
                return finish_guards(request, failure, position, allowed)
            if not allowed:
                raise refuse(request, guard, failure)
        return None

    async def finish_guards(
        request: Any, failure: str | None, position: int, pending: Awaitable[Any]
    ) -> None:
        if not await pending:
            raise refuse(request, checks[position], failure)
        rest = check_guards(request, failure, position + 1)
        if rest is not None:
            await rest

    async def finish_auth(
        request: Any, index: int, pending: Awaitable[Any], failure: str | None
    ) -> None:
        # Carries on where gate() met the first async auth class, awaiting from here on.
        while True:
            try:
                found = await pending
            except AuthenticationFailed as exc:
                if failure is None:
                    failure = exc.detail
                found = None
            if found is not None:
                accept(request, index, found)
                break
            index += 1
            if index == len(backends):
                break
            try:
                result = backends[index].authenticate(request)
            except AuthenticationFailed as exc:
                if failure is None:
                    failure = exc.detail
                result = None
            pending = result if inspect.isawaitable(result) else _ready(result)
        rest = check_guards(request, failure, 0)
        if rest is not None:
            await rest

    def gate(request: Any) -> Awaitable[None] | None:
        failure: str | None = None
        for index, backend in enumerate(backends):
            try:
                found = backend.authenticate(request)
            except AuthenticationFailed as exc:
                # The first precise reason wins; another class may still accept the request.
                if failure is None:
                    failure = exc.detail
                continue
            if found is None:
                continue
            # An identity is a (user, auth) tuple: only something else can be an awaitable.
            if found.__class__ is not tuple and inspect.isawaitable(found):
                return finish_auth(request, index, found, failure)
            accept(request, index, found)
            break
        return check_guards(request, failure, 0)

    return gate


async def _ready(value: Any) -> Any:
    return value
