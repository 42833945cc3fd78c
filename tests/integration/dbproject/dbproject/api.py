"""One async and one sync endpoint that query the database on every request."""

from __future__ import annotations

import os

from django.contrib.auth.models import Group

from django_bolt import BoltAPI

api = BoltAPI()


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/db/async")
async def db_async() -> dict[str, int]:
    return {"groups": await Group.objects.acount(), "pid": os.getpid()}


@api.get("/db/sync")
def db_sync() -> dict[str, int]:
    return {"groups": Group.objects.count(), "pid": os.getpid()}
