"""``Token``: Django-Bolt's JWT value object (create, encode, decode, claims)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt

__all__ = ("JWTToken", "Token")

_KNOWN: Final = frozenset(
    {
        "exp",
        "sub",
        "iat",
        "iss",
        "aud",
        "jti",
        "nbf",
        "is_staff",
        "is_superuser",
        "is_admin",
        "permissions",
    }
)


def _utc(value: datetime) -> datetime:
    """Return ``value`` in UTC without microseconds (what a NumericDate can hold)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def _now() -> datetime:
    return _utc(datetime.now(UTC))


@dataclass
class Token:
    """A JWT's claims as fields: ``exp`` and ``sub`` required, the standard claims, Django-Bolt's
    ``is_staff``/``is_superuser``/``is_admin``/``permissions``, and ``extras`` for the rest.

    Built directly, ``exp`` must lie ahead and ``iat`` not ahead; :meth:`decode` skips those
    checks (the signature and the validator's own checks apply).
    """

    exp: datetime
    sub: str
    iat: datetime = field(default_factory=_now)
    iss: str | None = None
    aud: str | list[str] | None = None
    jti: str | None = None
    nbf: datetime | None = None
    is_staff: bool | None = None
    is_superuser: bool | None = None
    is_admin: bool | None = None
    permissions: list[str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    _skip_validation: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.sub, str) or not self.sub:
            raise ValueError("sub (subject) must be a non-empty string")
        if not isinstance(self.exp, datetime):
            raise ValueError("exp must be a datetime")
        self.exp = _utc(self.exp)
        self.iat = _utc(self.iat)
        if self.nbf is not None:
            self.nbf = _utc(self.nbf)
        if not self._skip_validation:
            now = _now()
            if self.exp <= now:
                raise ValueError("exp (expiration) must be in the future")
            if self.iat > now:
                raise ValueError("iat (issued at) must not be in the future")

    def to_dict(self) -> dict[str, Any]:
        """Return the claims, times as NumericDates; unset optional claims left out."""
        claims: dict[str, Any] = {
            "exp": int(self.exp.timestamp()),
            "sub": self.sub,
            "iat": int(self.iat.timestamp()),
        }
        optional = {
            "iss": self.iss,
            "aud": self.aud,
            "jti": self.jti,
            "nbf": None if self.nbf is None else int(self.nbf.timestamp()),
            "is_staff": self.is_staff,
            "is_superuser": self.is_superuser,
            "is_admin": self.is_admin,
            "permissions": self.permissions,
        }
        claims.update((k, v) for k, v in optional.items() if v is not None)
        claims.update(self.extras)
        return claims

    @property
    def claims(self) -> dict[str, Any]:
        """The claims (:meth:`to_dict`)."""
        return self.to_dict()

    def encode(
        self, secret: str | bytes, algorithm: str = "HS256", headers: dict[str, Any] | None = None
    ) -> str:
        """Return the signed token; ValueError when it cannot be signed."""
        try:
            return jwt.encode(self.to_dict(), secret, algorithm=algorithm, headers=headers)
        except Exception as exc:  # PyJWT's key and algorithm errors alike
            raise ValueError(f"Failed to encode token: {exc}") from exc

    @classmethod
    def decode(
        cls,
        encoded_token: str,
        secret: Any,
        algorithm: str = "HS256",
        audience: str | None = None,
        issuer: str | None = None,
        verify_exp: bool = True,
        verify_nbf: bool = True,
    ) -> Token:
        """Return the verified token (only ``algorithm`` accepted); ValueError otherwise."""
        options = {"verify_exp": verify_exp, "verify_nbf": verify_nbf, "require": ["exp", "sub"]}
        try:
            payload = jwt.decode(
                encoded_token,
                secret,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                options=options,  # type: ignore[arg-type]
            )
            exp = datetime.fromtimestamp(payload["exp"], tz=UTC)
            iat = datetime.fromtimestamp(payload.get("iat", payload["exp"]), tz=UTC)
            nbf = payload.get("nbf")
            return cls(
                exp=exp,
                sub=payload["sub"],
                iat=iat,
                iss=payload.get("iss"),
                aud=payload.get("aud"),
                jti=payload.get("jti"),
                nbf=None if nbf is None else datetime.fromtimestamp(nbf, tz=UTC),
                is_staff=payload.get("is_staff"),
                is_superuser=payload.get("is_superuser"),
                is_admin=payload.get("is_admin"),
                permissions=payload.get("permissions"),
                extras={k: v for k, v in payload.items() if k not in _KNOWN},
                _skip_validation=True,
            )
        except Exception as exc:  # PyJWT's errors, a claim of the wrong type
            raise ValueError(f"Failed to decode token: {exc}") from exc

    @classmethod
    def create(
        cls,
        sub: str,
        expires_delta: timedelta | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        is_staff: bool = False,
        is_admin: bool = False,
        permissions: list[str] | None = None,
        **extra_claims: Any,
    ) -> Token:
        """Return a token for ``sub`` expiring after ``expires_delta`` (one hour)."""
        now = _now()
        return cls(
            exp=now + (expires_delta if expires_delta is not None else timedelta(hours=1)),
            sub=sub,
            iat=now,
            iss=issuer,
            aud=audience,
            is_staff=is_staff,
            is_admin=is_admin or is_staff,
            permissions=permissions,
            extras=extra_claims,
        )


JWTToken = Token
