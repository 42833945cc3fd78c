"""A cookie to send, as a value object, and the one function that formats ``Set-Cookie``.

``Response.set_cookie`` and :class:`Cookie` both format through :func:`format_set_cookie`, so a
cookie reads the same on the wire whichever way it was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.cookies import Morsel
from typing import Literal

__all__ = ("Cookie", "SameSitePolicy", "format_set_cookie")

SameSitePolicy = Literal["Strict", "Lax", "None", "strict", "lax", "none", False] | None


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
    """The ``Set-Cookie`` value; ``Morsel`` refuses illegal names and quotes odd values.

    ``samesite`` is case-insensitive; ``None`` or ``False`` leaves the attribute out.
    """
    morsel: Morsel[str] = Morsel()
    morsel.set(name, value, value)
    if max_age is not None:
        morsel["max-age"] = str(max_age)
    if expires is not None:
        morsel["expires"] = (
            format_datetime(expires, usegmt=True) if isinstance(expires, datetime) else expires
        )
    morsel["path"] = path
    if domain:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    if httponly:
        morsel["httponly"] = True
    if samesite:
        morsel["samesite"] = samesite.capitalize()
    return morsel.OutputString()


@dataclass(slots=True)
class Cookie:
    """A cookie to set: ``Cookie("session", token, httponly=True)``.

    Pass it to ``Response.set_cookie(cookie)`` (or format it yourself with
    :meth:`to_header_value`). Not to be confused with the ``Cookie()`` *parameter marker*
    exported as ``django_bolt.Cookie``, which reads a cookie from the request.
    """

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
        """The ``Set-Cookie`` header value."""
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
