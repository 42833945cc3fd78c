"""Endpoints whose state is shared between hosts, and which host (and code version) answered."""

from __future__ import annotations

import os

import msgspec
from django.contrib.auth import aauthenticate

from django_bolt import BoltAPI, Request
from django_bolt.auth import (
    DjangoCacheRevocation,
    IsAuthenticated,
    JWTAuthentication,
    create_jwt_for_user,
)
from django_bolt.exceptions import Unauthorized
from django_bolt.health import register_health_checks
from django_bolt.middleware import rate_limit

api = BoltAPI()
register_health_checks(api)

# The rolling deploy test ships a new version of this file with another value.
VERSION = "1"
HOST = os.environ.get("BOLT_TEST_HOST", "?")
RPS = 1
BURST = 6

revocations = DjangoCacheRevocation()
jwt_auth = JWTAuthentication(revocation_store=revocations)


class Credentials(msgspec.Struct):
    username: str
    password: str


class Cart(msgspec.Struct):
    items: list[str]


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/version")
async def version() -> dict[str, str]:
    return {"version": VERSION, "host": HOST}


@api.post("/version")
async def version_post(request: Request) -> dict[str, str]:
    return {"version": VERSION, "host": HOST, "echo": request.body.decode()}


@api.put("/cart")
def put_cart(request: Request, cart: Cart) -> dict[str, object]:
    request.session["cart"] = cart.items
    return {"items": cart.items, "host": HOST}


@api.get("/cart")
def get_cart(request: Request) -> dict[str, object]:
    return {"items": request.session.get("cart", []), "host": HOST}


@api.post("/login")
async def login(credentials: Credentials) -> dict[str, str]:
    user = await aauthenticate(username=credentials.username, password=credentials.password)
    if user is None:
        raise Unauthorized("Invalid credentials")
    return {"access_token": create_jwt_for_user(user, expires_in=600), "host": HOST}


@api.get("/me", auth=[jwt_auth], guards=[IsAuthenticated()])
async def me(request: Request) -> dict[str, str]:
    return {"username": request.context["auth_claims"]["username"], "host": HOST}


@api.post("/logout", auth=[jwt_auth], guards=[IsAuthenticated()])
async def logout(request: Request) -> dict[str, str]:
    claims = request.context["auth_claims"]
    await revocations.revoke(claims["jti"], exp=claims["exp"])
    return {"revoked": claims["jti"], "host": HOST}


@api.get("/limited")
@rate_limit(rps=RPS, burst=BURST)
async def limited() -> dict[str, str]:
    return {"host": HOST}
