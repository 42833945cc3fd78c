"""A test API that uses every parameter source, body kind, response kind and auth class.

The OpenAPI tests validate its document and check each piece; ``api`` is also reachable as
``tests.openapi.everykind:api`` for the ``bolt_openapi`` command.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import msgspec

from django_bolt import (
    HTML,
    Body,
    BoltAPI,
    Cookie,
    Depends,
    File,
    FileResponse,
    Form,
    Header,
    PlainText,
    Query,
    Request,
    Router,
    StreamingResponse,
    UploadFile,
)
from django_bolt.auth import (
    AllowAny,
    APIKeyAuthentication,
    IsAuthenticated,
    JWTAuthentication,
    SessionAuthentication,
)
from django_bolt.openapi import OpenAPIConfig

JWT_SECRET = "everykind-tests-secret-at-least-32-bytes"


class Address(msgspec.Struct):
    street: str
    city: str


class User(msgspec.Struct):
    """A user as the API returns it."""

    id: int
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    email: str
    tags: list[str] = []
    address: Address | None = None


class UserIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@]+@[^@]+$")]
    address: Address | None = None


@dataclasses.dataclass
class Note:
    title: str
    body: str = ""


class Paging(msgspec.Struct):
    """Query values gathered into one Struct."""

    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class TraceHeaders(msgspec.Struct):
    x_request_id: str
    x_trace: str | None = None


def current_locale(accept_language: Annotated[str, Header()] = "en") -> str:
    """A dependency whose own parameter is documented on the routes that use it."""
    return accept_language.split(",")[0]


api = BoltAPI(
    openapi_config=OpenAPIConfig(
        title="Every Kind API",
        version="2.1.0",
        description="Uses every parameter and body kind.",
        servers=["http://testserver", {"url": "/", "description": "same host"}],
        contact={"name": "Bolt", "email": "bolt@example.com"},
        license={"name": "MIT", "identifier": "MIT"},
        tags=[{"name": "users", "description": "People"}],
        exclude_paths=["/admin", "/static", "/internal"],
    )
)


@api.get("/users/{user_id:int}", tags=["users"], response_model=User)
async def get_user(
    user_id: int,
    verbose: bool = False,
    fields: Annotated[list[str] | None, Query(description="Fields to include")] = None,
    q: Annotated[str | None, Query(min_length=2, max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Literal["asc", "desc"] = "asc",
    x_api_version: Annotated[str, Header()] = "1",
    session_hint: Annotated[str | None, Cookie(alias="hint")] = None,
) -> User:
    """Fetch one user.

    The long description comes from the rest of the docstring.
    """
    return User(user_id, "ada", "ada@example.com")


@api.get("/users", tags=["users"], summary="List users", description="Paged list of users.")
async def list_users(
    paging: Annotated[Paging, Query()], locale: Annotated[str, Depends(current_locale)]
) -> list[User]:
    return [User(paging.page, f"user-{locale}", "u@example.com")]


@api.post("/users", status_code=201, tags=["users"])
async def create_user(user: UserIn) -> User:
    return User(1, user.name, user.email, address=user.address)


@api.put("/users/{user_id}/note")
async def put_note(user_id: int, note: Note) -> Note:
    return note


@api.put("/users/{user_id}/profile")
async def put_profile(
    user_id: int,
    user: UserIn,
    note: Note,
    priority: Annotated[int, Body(ge=0, le=9, description="Review priority")] = 0,
) -> dict[str, int]:
    """Several body arguments: one JSON object with a key per argument."""
    return {"user_id": user_id, "priority": priority}


@api.delete("/users/{user_id:int}", status_code=204)
async def delete_user(user_id: int) -> None:
    return None


@api.post("/login")
async def login(
    username: Annotated[str, Form()],
    password: Annotated[str, Form(min_length=8)],
    remember: Annotated[bool, Form()] = False,
) -> dict[str, str]:
    return {"user": username}


@api.post("/upload")
async def upload(
    title: Annotated[str, Form()],
    document: Annotated[UploadFile, File(max_size=1_000_000)],
    extras: Annotated[list[UploadFile] | None, File(max_files=3)] = None,
) -> dict[str, int]:
    return {"size": document.size, "extras": len(extras or [])}


@api.get("/headers")
async def headers(trace: Annotated[TraceHeaders, Header()]) -> dict[str, str]:
    return {"id": trace.x_request_id}


@api.get("/page", response_model=HTML)
async def page() -> HTML:
    return HTML("<p>hi</p>")


@api.get("/text")
async def text() -> str:
    return "plain"


@api.get("/plain")
async def plain() -> PlainText:
    return PlainText("plain")


@api.get("/download")
async def download() -> FileResponse:
    return FileResponse(__file__)


@api.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(iter([b"a", b"b"]))


@api.get("/raw")
async def raw(request: Request):  # type: ignore[no-untyped-def]
    """No return annotation: some JSON."""
    return {"path": request.path}


@api.get(
    "/me",
    auth=[JWTAuthentication(secret=JWT_SECRET, trust_claims=True)],
    guards=[IsAuthenticated()],
)
async def me(request: Request) -> dict[str, str]:
    return {"user": str(request.user.id)}


@api.get("/keyed", auth=[APIKeyAuthentication({"k1"})], guards=[IsAuthenticated()])
async def keyed() -> dict[str, bool]:
    return {"ok": True}


@api.get("/maybe", auth=[SessionAuthentication(), JWTAuthentication(secret=JWT_SECRET)])
async def maybe(request: Request) -> dict[str, bool]:
    """Auth attempted, not required."""
    return {"authenticated": bool(request.user.is_authenticated)}


@api.get("/open", guards=[AllowAny()])
async def open_route() -> dict[str, bool]:
    return {"ok": True}


@api.get("/hidden", include_in_schema=False)
async def hidden() -> dict[str, bool]:
    return {"hidden": True}


@api.get("/internal/stats")
async def internal_stats() -> dict[str, int]:
    return {"n": 1}


@api.route("/multi", methods=["GET", "POST"])
async def multi() -> dict[str, str]:
    return {"ok": "yes"}


v1 = Router(prefix="/v1", tags=["v1"])


@v1.get("/items/{item_id}")
async def get_item(item_id: str) -> dict[str, str]:
    return {"id": item_id}


v2 = Router(prefix="/v2", tags=["v2"])


@v2.get("/items/{item_id}")
async def get_item(item_id: str) -> dict[str, str]:  # noqa: F811 - same name on purpose
    return {"id": item_id}


api.include_router(v1)
api.include_router(v2)

# A second API mounted under /extra: its routes are part of the served document.
extra = BoltAPI()


@extra.get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "yes"}


api.mount("/extra", extra)
