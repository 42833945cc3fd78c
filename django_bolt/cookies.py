"""A cookie to send, as a value object, and the one function that formats ``Set-Cookie``.

Every ``Set-Cookie`` the framework writes (``Response.set_cookie``, ``delete_cookie``,
:class:`Cookie`, the session cookie) is formatted by :func:`format_set_cookie`, so a cookie reads
the same on the wire whichever way it was made, and one set of rules keeps it to one header line:

* the value is quoted exactly as Django's ``SimpleCookie`` quotes it (double quotes, octal
  escapes), so a CR, LF, NUL or ``;`` in a value can never end the field or add an attribute;
* what cannot be quoted is refused: a name that is not a cookie token, a value with a control
  character (as Django-Bolt 0.13 refuses it) or a character above U+00FF (no latin-1 byte for
  it; Django cannot send it either), an attribute (path,
  domain, expires, samesite) that holds a control character, a ``;`` or a character its grammar
  (RFC 6265 section 4.1.1) does not allow.

A refusal raises :class:`InvalidCookie`; ``Response.set_cookie`` turns it into a warning on the
``django_bolt`` logger and drops that cookie (Django-Bolt 0.13 does the same), so a bad cookie is
never a 500 and never raw bytes on the wire.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.cookies import CookieError, Morsel, SimpleCookie
from typing import Any, Final, Literal

from django_bolt import params

__all__ = (
    "Cookie",
    "InvalidCookie",
    "SameSitePolicy",
    "format_set_cookie",
    "make_delete_cookie",
)

SameSitePolicy = Literal["Strict", "Lax", "None", "strict", "lax", "none", False] | None

logger: Final = logging.getLogger("django_bolt")

# RFC 6265 section 4.1.1: path-value and the expires date are CHARs (US-ASCII) other than
# controls and ";". The comma is fine in both ("Thu, 01 Jan 1970 ...").
_ATTRIBUTE: Final = re.compile(r"[\x20-\x3a\x3c-\x7e]*\Z")
# A host name (RFC 1034 letters, digits, hyphens, dots; "_" is common in practice) with the
# optional leading dot browsers ignore. A port or a space would make browsers drop the cookie.
_DOMAIN: Final = re.compile(r"[A-Za-z0-9._-]+\Z")
_SAMESITE: Final = {"strict": "Strict", "lax": "Lax", "none": "None"}
# C0 controls and DEL: quoting would escape them, but Django-Bolt 0.13 refuses such a value.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# value_encode() is SimpleCookie's public quoting step; one instance serves every call.
_QUOTER: Final = SimpleCookie()


class InvalidCookie(ValueError):
    """A cookie that cannot be written as one safe ``Set-Cookie`` line; the message says why."""


_PRINTABLE_NO_SEMICOLON: Final = "printable ASCII other than ';'"
_HOST_NAME: Final = "a host name: letters, digits, '.', '-' and '_'"


def _checked(
    cookie: str, attribute: str, value: str, pattern: re.Pattern[str], allowed: str
) -> str:
    if not pattern.match(value):
        raise InvalidCookie(
            f"cookie {cookie!r} not set: its {attribute} {value!r} is not {allowed}"
        )
    return value


def format_set_cookie(
    name: str,
    value: str = "",
    max_age: int | None = None,
    expires: datetime | str | None = None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: SameSitePolicy = "Lax",
) -> str:
    """Return the ``Set-Cookie`` value; raises :class:`InvalidCookie` for what cannot be sent
    safely.

    ``samesite`` is case-insensitive; ``None`` or ``False`` leaves the attribute out.
    """
    # An empty value stays empty (``name=``), as Django-Bolt writes a deleted cookie; SimpleCookie
    # would write ``name=""``, which browsers read the same.
    if _CONTROL.search(value):
        raise InvalidCookie(
            f"cookie {name!r} not set: its value has a control character; encode the value "
            "first (for example with urllib.parse.quote)"
        )
    raw, coded = _QUOTER.value_encode(value) if value else ("", "")
    if not coded.isascii():
        # The quoting escapes every byte below U+0100; only a wider character is left as is.
        raise InvalidCookie(
            f"cookie {name!r} not set: its value has a character above U+00FF; encode the "
            "value first (for example with urllib.parse.quote)"
        )
    morsel: Morsel[str] = Morsel()
    try:
        # Morsel refuses what SimpleCookie refuses: a name that is not a token (letters,
        # digits and !#$%&'*+-.^_`|~:) or that is an attribute's name ("path", "expires"...).
        morsel.set(name, raw, coded)
    except CookieError as exc:
        raise InvalidCookie(
            f"cookie {name!r} not set: {exc} (a name is letters, digits and !#$%&'*+-.^_`|~: "
            "and not an attribute's name)"
        ) from None
    # 0.13's order (its documented "session=abc123; Max-Age=3600; Path=/; Secure; HttpOnly;
    # SameSite=Strict"), with Expires after Max-Age and Domain before Path, where the docs
    # show neither. Morsel would sort the attributes by name.
    parts = [f"{name}={coded}"]
    if max_age is not None:
        try:
            parts.append(f"Max-Age={int(max_age)}")
        except (TypeError, ValueError):
            raise InvalidCookie(
                f"cookie {name!r} not set: max_age {max_age!r} is not a whole number of seconds"
            ) from None
    if expires is not None:
        date = (
            format_datetime(expires, usegmt=True)
            if isinstance(expires, datetime)
            else _checked(name, "expires", str(expires), _ATTRIBUTE, _PRINTABLE_NO_SEMICOLON)
        )
        parts.append(f"Expires={date}")
    if domain:
        parts.append(f"Domain={_checked(name, 'domain', domain, _DOMAIN, _HOST_NAME)}")
    parts.append(f"Path={_checked(name, 'path', path, _ATTRIBUTE, _PRINTABLE_NO_SEMICOLON)}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        policy = _SAMESITE.get(samesite.lower()) if isinstance(samesite, str) else None
        if policy is None:
            raise InvalidCookie(
                f"cookie {name!r} not set: samesite {samesite!r} is not Strict, Lax or None"
            )
        parts.append(f"SameSite={policy}")
    return "; ".join(parts)


@dataclass(slots=True)
class Cookie:
    """A cookie to set: ``Cookie("session", token, httponly=True)``.

    Pass it to ``Response.set_cookie(cookie)`` (or format it yourself with
    :meth:`to_header_value`). This is ``django_bolt.Cookie``, as in Django-Bolt 0.13.

    Called without a name, with at most a non-string default and the parameter marker's
    keywords (``Cookie()``, ``Cookie(...)``, ``Cookie(alias="sid")``), it returns the
    ``Cookie()`` *parameter marker* of :mod:`django_bolt.params` instead, so handlers written
    with ``from django_bolt import Cookie`` as a marker keep working. A marker with a string
    default is spelled ``Cookie(default="x")`` (``Cookie("x")`` is a cookie named ``x``).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if _is_marker_call(args, kwargs):
            return params.Cookie(*args, **kwargs)
        return object.__new__(cls)

    name: str
    value: str = ""
    max_age: int | None = None
    expires: datetime | str | None = None
    path: str = "/"
    domain: str | None = None
    secure: bool = False
    httponly: bool = False
    samesite: SameSitePolicy = "Lax"

    def to_header_value(self) -> str:
        """Return the ``Set-Cookie`` header value; raises :class:`InvalidCookie` (a
        ``ValueError``)."""
        return format_set_cookie(
            self.name,
            self.value,
            self.max_age,
            self.expires,
            self.path,
            self.domain,
            self.secure,
            self.httponly,
            self.samesite,
        )

    def header_value_or_warn(self) -> str | None:
        """Return the header value, or None after a warning that names the cookie and the reason."""
        try:
            return self.to_header_value()
        except InvalidCookie as exc:
            logger.warning("%s", exc)
            return None


# The keywords only the parameter marker takes (the cookie's own are name, value, max_age...).
_MARKER_KEYWORDS: Final = frozenset(
    {
        "default",
        "alias",
        "description",
        "gt",
        "ge",
        "lt",
        "le",
        "min_length",
        "max_length",
        "pattern",
        "multiple_of",
        "example",
        "deprecated",
    }
)


def _is_marker_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``Cookie(*args, **kwargs)`` asks for the parameter marker, not a cookie."""
    if len(args) > 1 or (args and isinstance(args[0], str)):
        return False
    return kwargs.keys() <= _MARKER_KEYWORDS


def make_delete_cookie(name: str, path: str = "/", domain: str | None = None) -> Cookie:
    """Return a :class:`Cookie` that makes the browser drop ``name``.

    A ``__Secure-`` or ``__Host-`` cookie is only accepted with ``Secure``, so its deletion
    carries the flag too (as Django's ``delete_cookie`` does).
    """
    return Cookie(
        name=name,
        value="",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path=path,
        domain=domain,
        secure=name.startswith(("__Secure-", "__Host-")),
    )
