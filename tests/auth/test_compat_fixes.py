"""Django-Bolt 0.13 behaviours of the auth backends that this package once missed.

* a token's ``aud`` is checked only when ``audience=`` is configured;
* a token cookie sent twice authenticates nothing;
* ``SessionAuthentication(csrf=True)`` checks the origin of every unsafe request, also without a
  session cookie (a login route);
* the session backend is tried last, and ``request.context["permissions"]`` is a list.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from django_bolt import BoltAPI
from django_bolt.auth import IsAuthenticated, JWTAuthentication, SessionAuthentication
from django_bolt.auth.base import CSRF_FAILED
from django_bolt.testing import TestClient

KEY = "compat-fixes-secret-that-is-long-enough-for-hs256"
HERE = "http://testserver"


def _token(**claims: Any) -> str:
    payload: dict[str, Any] = {"sub": "7", "exp": int(time.time()) + 600}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, KEY, algorithm="HS256")


def _who_api(*auth: Any) -> BoltAPI:
    api = BoltAPI()

    @api.get("/who", auth=list(auth), guards=[IsAuthenticated()])
    async def who(request):
        context = request.context
        return {
            "id": context["user_id"],
            "backend": context["auth_backend"],
            "index": context["auth_backend_index"],
            "permissions": context.get("permissions", "absent"),
        }

    return api


# --- 1. aud without a configured audience ------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [pytest.param("some-api", id="string"), pytest.param(["a", "b"], id="list")],
)
def test_aud_is_not_checked_without_an_audience(aud: Any) -> None:
    auth = JWTAuthentication(secret=KEY, trust_claims=True)
    with TestClient(_who_api(auth)) as client:
        response = client.get("/who", headers={"Authorization": f"Bearer {_token(aud=aud)}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "7"


@pytest.mark.parametrize(
    ("aud", "status"),
    [
        pytest.param("api", 200, id="matching"),
        pytest.param(["web", "api"], 200, id="list-holding-it"),
        pytest.param("other", 401, id="wrong"),
        pytest.param(None, 401, id="missing"),
    ],
)
def test_a_configured_audience_is_still_required(aud: Any, status: int) -> None:
    auth = JWTAuthentication(secret=KEY, audience="api", trust_claims=True)
    with TestClient(_who_api(auth)) as client:
        response = client.get("/who", headers={"Authorization": f"Bearer {_token(aud=aud)}"})
    assert response.status_code == status, response.text


# --- 2. a token cookie sent twice ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("jar", "status"),
    [
        pytest.param("access_token={t}", 200, id="once"),
        pytest.param("theme=dark; access_token={t}; theme=light", 200, id="other-name-twice"),
        pytest.param("access_token={t}; access_token={t}", 401, id="same-value-twice"),
        pytest.param("access_token={t}; access_token={other}", 401, id="two-values"),
        pytest.param("access_token=; access_token={t}", 401, id="empty-then-value"),
        pytest.param("access_token={t};access_token = {t}", 401, id="spacing"),
    ],
)
def test_a_cookie_sent_twice_does_not_authenticate(jar: str, status: int) -> None:
    auth = JWTAuthentication(secret=KEY, cookie="access_token", trust_claims=True)
    cookie = jar.format(t=_token(), other=_token(sub="8"))
    with TestClient(_who_api(auth)) as client:
        response = client.get("/who", headers={"Cookie": cookie})
    assert response.status_code == status, response.text


def test_a_duplicated_cookie_leaves_the_header_backend_to_decide() -> None:
    cookie_auth = JWTAuthentication(secret=KEY, cookie="access_token", trust_claims=True)
    header_auth = JWTAuthentication(secret=KEY, trust_claims=True)
    headers = {
        "Cookie": f"access_token={_token()}; access_token={_token()}",
        "Authorization": f"Bearer {_token(sub='9')}",
    }
    with TestClient(_who_api(cookie_auth, header_auth)) as client:
        response = client.get("/who", headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["index"]) == ("9", 1)


# --- 3. the session backend's origin check ------------------------------------------------------


def _session_cookie(username: str = "ann") -> str:
    from django.contrib.auth import login
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    user = User.objects.create_user(username, password="pw")
    django_request = RequestFactory().get("/")
    django_request.session = SessionStore()
    login(django_request, user, backend="django.contrib.auth.backends.ModelBackend")
    django_request.session.save()
    return str(django_request.session.session_key)


def _login_api(**options: Any) -> BoltAPI:
    api = BoltAPI()

    # No guard: a login route must answer anonymous requests.
    @api.post("/login", auth=[SessionAuthentication(**options)])
    async def login(request):
        return {"user": getattr(request.user, "username", "")}

    @api.get("/login", auth=[SessionAuthentication(**options)])
    async def form(request):
        return {"form": True}

    return api


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Origin": "http://evil.example"}, 403, id="cross-site-origin"),
        pytest.param({}, 403, id="no-origin-signal"),
        pytest.param({"Origin": "null"}, 403, id="opaque-origin"),
        pytest.param({"Origin": "https://testserver"}, 403, id="other-scheme"),
        pytest.param({"Origin": "http://testserver:8080"}, 403, id="other-port"),
        pytest.param({"Origin": HERE}, 200, id="same-origin"),
        pytest.param({"Referer": f"{HERE}/login/form"}, 200, id="same-origin-referer"),
        pytest.param({"Referer": "http://evil.example/x"}, 403, id="cross-site-referer"),
        pytest.param({"Sec-Fetch-Site": "same-origin"}, 200, id="fetch-same-origin"),
        pytest.param({"Sec-Fetch-Site": "none"}, 200, id="fetch-user-navigation"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, 403, id="fetch-sibling-subdomain"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, 403, id="fetch-cross-site"),
        pytest.param(
            {"Sec-Fetch-Site": "cross-site", "Origin": HERE}, 403, id="fetch-site-decides"
        ),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_session_checks_the_origin_without_a_session(headers: dict[str, str], status: int) -> None:
    with TestClient(_login_api()) as client:
        response = client.post("/login", headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == {"detail": CSRF_FAILED}
    else:
        assert response.json() == {"user": ""}


@pytest.mark.django_db(transaction=True)
def test_session_origin_check_skips_safe_methods_and_can_be_turned_off() -> None:
    evil = {"Origin": "http://evil.example"}
    with TestClient(_login_api()) as client:
        assert client.get("/login", headers=evil).status_code == 200
    with TestClient(_login_api(csrf=False)) as client:
        assert client.post("/login", headers=evil).status_code == 200
        assert client.post("/login").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"Origin": HERE}, 200, id="matching-origin-no-token"),
        pytest.param({"Origin": "http://evil.example"}, 403, id="cross-site"),
        pytest.param({"X-CSRFToken": "a" * 32}, 403, id="token-without-origin"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_session_user_behind_the_origin_check(headers: dict[str, str], status: int) -> None:
    jar = f"sessionid={_session_cookie()}; csrftoken={'a' * 32}"
    with TestClient(_login_api()) as client:
        response = client.post("/login", headers={"Cookie": jar, **headers})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"user": "ann"}


# --- 4. session last; permissions in the context ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_session_backend_is_tried_last() -> None:
    jar = f"sessionid={_session_cookie()}"
    api = _who_api(SessionAuthentication(), JWTAuthentication(secret=KEY, trust_claims=True))
    with TestClient(api) as client:
        token = client.get(
            "/who", headers={"Cookie": jar, "Authorization": f"Bearer {_token(sub='99')}"}
        )
        session = client.get("/who", headers={"Cookie": jar})
    assert token.status_code == 200, token.text
    assert token.json() == {"id": "99", "backend": "jwt", "index": 1, "permissions": []}
    assert session.status_code == 200, session.text
    assert (session.json()["backend"], session.json()["index"]) == ("session", 0)
    assert session.json()["permissions"] == []


@pytest.mark.parametrize("trust_claims", [True, False], ids=["token-user", "claims-user"])
@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        pytest.param(None, [], id="none"),
        pytest.param(["b.view", "a.change"], ["a.change", "b.view"], id="some"),
    ],
)
def test_context_permissions_is_a_list(
    trust_claims: bool, permissions: list[str] | None, expected: list[str]
) -> None:
    auth = JWTAuthentication(secret=KEY, trust_claims=trust_claims)
    with TestClient(_who_api(auth)) as client:
        response = client.get(
            "/who", headers={"Authorization": f"Bearer {_token(permissions=permissions)}"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["permissions"] == expected
