"""SessionAuthentication: Django's session user, and the origin check (0.13's CSRF rule) on unsafe
methods."""

from __future__ import annotations

import pytest

from django_bolt import BoltAPI
from django_bolt.auth import IsAuthenticated, SessionAuthentication
from django_bolt.testing import TestClient

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "a" * 32


def _session_cookie() -> str:
    from django.contrib.auth import login
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    user = User.objects.create_user("ann", password="pw")
    django_request = RequestFactory().get("/")
    django_request.session = SessionStore()
    login(django_request, user, backend="django.contrib.auth.backends.ModelBackend")
    django_request.session.save()
    return str(django_request.session.session_key)


def _api() -> BoltAPI:
    api = BoltAPI()
    auth = [SessionAuthentication()]

    @api.get("/me", auth=auth, guards=[IsAuthenticated()])
    async def me(request):
        return {"username": request.user.username}

    @api.post("/change", auth=auth, guards=[IsAuthenticated()])
    async def change(request):
        return {"changed": request.user.username}

    return api


def test_session_user() -> None:
    cookie = _session_cookie()
    with TestClient(_api()) as client:
        response = client.get("/me", headers={"Cookie": f"sessionid={cookie}"})
        assert response.json() == {"username": "ann"}
        assert client.get("/me").status_code == 401
        assert client.get("/me", headers={"Cookie": "sessionid=bogus"}).status_code == 401


@pytest.mark.parametrize(
    ("cookies", "headers", "status"),
    [
        pytest.param("", {"Origin": "http://testserver"}, 200, id="same-origin"),
        pytest.param("", {"Sec-Fetch-Site": "same-origin"}, 200, id="fetch-same-origin"),
        pytest.param("", {"Referer": "http://testserver/form"}, 200, id="same-origin-referer"),
        pytest.param("", {}, 403, id="no-origin"),
        pytest.param("", {"Origin": "http://evil.example"}, 403, id="cross-origin"),
        pytest.param("", {"Sec-Fetch-Site": "cross-site"}, 403, id="fetch-cross-site"),
        # Django's token is no proof of origin under 0.13's rule.
        pytest.param(f"csrftoken={CSRF}", {"X-CSRFToken": CSRF}, 403, id="token-only"),
    ],
)
def test_csrf_on_unsafe_methods(cookies: str, headers: dict[str, str], status: int) -> None:
    cookie = _session_cookie()
    jar = "; ".join(c for c in (f"sessionid={cookie}", cookies) if c)
    with TestClient(_api()) as client:
        response = client.post("/change", headers={"Cookie": jar, **headers})
    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"].startswith("CSRF Failed: ")
    else:
        assert response.json() == {"changed": "ann"}


def test_csrf_is_checked_without_a_session_too() -> None:
    with TestClient(_api()) as client:
        # Checked before the session is looked at: a cross-site login form is refused too.
        assert client.post("/change").status_code == 403
        # From this site, an anonymous caller meets the guard (401).
        assert client.post("/change", headers={"Origin": "http://testserver"}).status_code == 401
