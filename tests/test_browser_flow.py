"""The browser flow of ``tutorial_src.browser`` over HTTP, without a browser: every branch of the cookie routes,
the CSRF check, CORS and the page. The same in real Chromium: tests/browser/test_app_page.py.

The client here keeps no cookie jar: each test reads ``Set-Cookie`` and sends ``Cookie`` itself, so what the
server sets and what comes back are both in plain sight.
"""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from conftest import ALICE
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tutorial_src import browser
from tutorial_src.abuse import LOGIN_PATHS
from tutorial_src.app import build_app
from tutorial_src.browser import (
    AUTH_PREFIX,
    CONTENT_SECURITY_POLICY,
    CSRF_HEADER,
    PAGE_FILES,
    REFRESH_COOKIE,
    check_csrf,
    forwarded_prefix,
    page_files,
)
from tutorial_src.routes import unguarded_routes

#: What the page's fetch sends to its own origin's cookie routes.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", CSRF_HEADER: "fetch"}
OTHER_ORIGIN = "http://127.0.0.1:9999"
CREDENTIALS = {"email": ALICE[0], "password": ALICE[1]}
FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(app, cookie_jar=aiohttp.DummyCookieJar())


async def login(client, headers=SAME_ORIGIN):
    """Log alice in through the browser route: ``(response, body, cookie morsel)``."""
    response = await client.post(f"{AUTH_PREFIX}/login", json=CREDENTIALS, headers=headers)
    body = await response.json()
    return response, body, response.cookies.get(REFRESH_COOKIE)


def with_cookie(token: str, headers=SAME_ORIGIN) -> dict[str, str]:
    return {**headers, "Cookie": f"{REFRESH_COOKIE}={token}"}


# ---------------------------------------------------------------------------------------------- the page


async def test_the_page_is_served_with_its_policy(client):
    response = await client.get("/app/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read() == page_files()["index.html"]


@pytest.mark.parametrize("name", sorted(PAGE_FILES))
async def test_each_file_of_the_page_has_its_type(client, name):
    response = await client.get(f"/app/{name}")
    assert response.status == 200
    assert response.content_type == PAGE_FILES[name]
    assert await response.read() == page_files()[name]


async def test_a_file_the_page_does_not_have_is_404_json(client):
    response = await client.get("/app/secrets.txt")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_app_without_a_slash_redirects_relatively(client):
    # Relative, so that behind a proxy's prefix (/user/x/proxy/8000/app) it stays under the prefix.
    response = await client.get("/app", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "app/"


def test_the_page_uses_relative_urls_and_a_module_script():
    index = page_files()["index.html"].decode()
    script = page_files()["app.js"].decode()
    assert '<meta name="api-base" content="../">' in index
    assert '<script type="module" src="app.js">' in index
    # No path starting with "/": under jupyter-server-proxy the app lives below a prefix.
    assert "fetch(new URL(path, api)" in script
    assert '"/auth' not in script and "'/auth" not in script
    assert "localStorage" not in script and "sessionStorage" not in script


def test_every_route_is_guarded_or_public_with_an_allow_list(settings, users):
    assert unguarded_routes(build_app(settings, users, cors_origins=[OTHER_ORIGIN])) == []


# ---------------------------------------------------------------------------------------------- log in


async def test_login_puts_the_refresh_token_in_the_cookie_only(client):
    response, body, cookie = await login(client)
    assert response.status == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert response.headers["Cache-Control"] == "no-store"
    assert cookie is not None and cookie.value
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == AUTH_PREFIX
    assert int(cookie["max-age"]) > 0
    me = await client.get("/get-user", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert (await me.json())["email"] == ALICE[0]


async def test_a_failed_login_sets_no_cookie(client):
    response = await client.post(
        f"{AUTH_PREFIX}/login", json={**CREDENTIALS, "password": "wrong"}, headers=SAME_ORIGIN
    )
    assert response.status == 401
    assert (await response.json())["error"] == "invalid_credentials"
    assert REFRESH_COOKIE not in response.cookies


async def test_the_json_flow_of_07_is_untouched(client):
    response = await client.post("/login", json=CREDENTIALS)
    assert response.status == 200
    assert "refresh_token" in await response.json()
    assert REFRESH_COOKIE not in response.cookies


# --------------------------------------------------------------------------------------------- refresh


async def test_refresh_rotates_the_cookie(client):
    _, _, cookie = await login(client)
    response = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(cookie.value))
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    successor = response.cookies[REFRESH_COOKIE]
    assert successor.value and successor.value != cookie.value
    assert successor["httponly"] is True and successor["path"] == AUTH_PREFIX


async def test_refresh_without_a_cookie_is_invalid_grant_and_clears_it(client):
    response = await client.post(f"{AUTH_PREFIX}/refresh", headers=SAME_ORIGIN)
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_grant"
    cleared = response.cookies[REFRESH_COOKIE]
    assert cleared.value == "" and cleared["path"] == AUTH_PREFIX and cleared["secure"] is True


async def test_a_replayed_cookie_revokes_the_session(aiohttp_client, settings, users):
    # No grace: a spent token presented again is a replay at once (07 gives a second tab a few seconds).
    app = build_app(dataclasses.replace(settings, refresh_grace=0), users)
    client = await aiohttp_client(app, cookie_jar=aiohttp.DummyCookieJar())
    _, body, cookie = await login(client)
    first = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(cookie.value))
    newest = first.cookies[REFRESH_COOKIE].value
    replay = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(cookie.value))
    assert replay.status == 400
    assert (await replay.json())["error"] == "invalid_grant"
    assert replay.cookies[REFRESH_COOKIE].value == ""
    after = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(newest))
    assert after.status == 400
    me = await client.get("/get-user", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status == 401


# ---------------------------------------------------------------------------------------------- log out


async def test_logout_ends_the_session_and_clears_the_cookie(client):
    _, body, cookie = await login(client)
    response = await client.post(f"{AUTH_PREFIX}/logout", headers=with_cookie(cookie.value))
    assert response.status == 204
    assert response.cookies[REFRESH_COOKIE].value == ""
    assert response.cookies[REFRESH_COOKIE]["path"] == AUTH_PREFIX
    again = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(cookie.value))
    assert again.status == 400
    me = await client.get("/get-user", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status == 401


@pytest.mark.parametrize("token", [None, "not-a-refresh-token"])
async def test_logout_with_no_or_an_unknown_cookie_is_no_error(client, token):
    # RFC 7009 §2.2: an invalid token is no reason for an error; the client's aim (no session) holds.
    headers = SAME_ORIGIN if token is None else with_cookie(token)
    response = await client.post(f"{AUTH_PREFIX}/logout", headers=headers)
    assert response.status == 204
    assert response.cookies[REFRESH_COOKIE].value == ""


# ------------------------------------------------------------------------------------------ CSRF, over HTTP


@pytest.mark.parametrize("route", ["login", "refresh", "logout"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:9999"},  # a form on another site
        {"Sec-Fetch-Site": "same-site", "Origin": OTHER_ORIGIN},  # another port: SameSite lets the cookie go
        {"Origin": OTHER_ORIGIN, CSRF_HEADER: "fetch"},  # a browser without Sec-Fetch-Site
        {"Sec-Fetch-Site": "same-origin"},  # no custom header
    ],
    ids=["cross-site", "same-site", "other-origin", "no-header"],
)
async def test_a_cross_site_post_to_a_cookie_route_is_refused(client, route, headers):
    _, _, cookie = await login(client)
    response = await client.post(
        f"{AUTH_PREFIX}/{route}", json=CREDENTIALS, headers=with_cookie(cookie.value, headers)
    )
    assert response.status == 403
    assert response.content_type == "application/json"
    assert (await response.json())["error"] == "csrf"
    assert REFRESH_COOKIE not in response.cookies
    # The session is untouched: the cookie still refreshes.
    still = await client.post(f"{AUTH_PREFIX}/refresh", headers=with_cookie(cookie.value))
    assert still.status == 200


async def test_curl_with_the_header_and_no_browser_headers_passes(client):
    response, _, cookie = await login(client, headers={CSRF_HEADER: "curl"})
    assert response.status == 200 and cookie is not None


# ------------------------------------------------------------------------------------- CSRF, branch by branch


def request_with(headers: dict[str, str], host: str = "127.0.0.1:8080") -> web.Request:
    return make_mocked_request("POST", "/auth/refresh", headers={"Host": host, **headers})


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", CSRF_HEADER: "fetch"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080", CSRF_HEADER: "x"},
        {"Origin": "http://127.0.0.1:8080", CSRF_HEADER: "fetch"},  # no Sec-Fetch-Site, own origin
        {CSRF_HEADER: "fetch"},  # no browser: curl, requests
        {"Sec-Fetch-Site": "same-site", "Origin": OTHER_ORIGIN, CSRF_HEADER: "fetch"},  # allowed origin
        {"Sec-Fetch-Site": "cross-site", "Origin": OTHER_ORIGIN, CSRF_HEADER: "fetch"},
        {"Origin": OTHER_ORIGIN, CSRF_HEADER: "fetch"},
    ],
)
def test_check_csrf_lets_these_through(headers):
    check_csrf(request_with(headers), {OTHER_ORIGIN})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Sec-Fetch-Site": "cross-site", CSRF_HEADER: "fetch"}, "a cross-site request"),
        ({"Sec-Fetch-Site": "same-site", CSRF_HEADER: "fetch"}, "a same-site request"),
        ({"Sec-Fetch-Site": "none", CSRF_HEADER: "fetch"}, "a none request"),
        ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:7777", CSRF_HEADER: "f"}, "same-site"),
        ({"Origin": "http://127.0.0.1:7777", CSRF_HEADER: "fetch"}, "another origin"),
        ({"Origin": "https://127.0.0.1:8080", CSRF_HEADER: "fetch"}, "another origin"),  # scheme differs
        ({"Origin": "null", CSRF_HEADER: "fetch"}, "another origin"),  # a sandboxed frame, a data: URL
        ({"Sec-Fetch-Site": "same-origin"}, "header is missing"),
        ({"Sec-Fetch-Site": "same-origin", CSRF_HEADER: ""}, "header is missing"),
        ({}, "header is missing"),
        ({"Origin": OTHER_ORIGIN}, "header is missing"),  # allowed origin, still no header
    ],
)
def test_check_csrf_refuses_these_with_403_csrf(headers, message):
    with pytest.raises(web.HTTPForbidden) as raised:
        check_csrf(request_with(headers), {OTHER_ORIGIN})
    assert raised.value.content_type == "application/json"
    assert '"error": "csrf"' in raised.value.text
    assert message in raised.value.text


# ---------------------------------------------------------------------------------------------------- CORS


def preflight(origin: str, method: str = "POST", headers: str = CSRF_HEADER) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


@pytest.fixture
async def cors_client(aiohttp_client, settings, users):
    app = build_app(settings, users, cors_origins=[OTHER_ORIGIN])
    return await aiohttp_client(app, cookie_jar=aiohttp.DummyCookieJar())


async def test_an_allowed_origin_may_use_the_cookie_routes_with_credentials(cors_client):
    response = await cors_client.options(f"{AUTH_PREFIX}/refresh", headers=preflight(OTHER_ORIGIN))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert CSRF_HEADER.lower() in response.headers["Access-Control-Allow-Headers"].lower()


async def test_an_allowed_origin_calls_the_bearer_routes_without_credentials(cors_client):
    response = await cors_client.options("/get-user", headers=preflight(OTHER_ORIGIN, "GET", "authorization"))
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    assert "Access-Control-Allow-Credentials" not in response.headers


async def test_the_allowed_origin_logs_in_and_reads_the_answer(cors_client):
    headers = {"Origin": OTHER_ORIGIN, "Sec-Fetch-Site": "same-site", CSRF_HEADER: "fetch"}
    response = await cors_client.post(f"{AUTH_PREFIX}/login", json=CREDENTIALS, headers=headers)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == OTHER_ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("path", [f"{AUTH_PREFIX}/login", f"{AUTH_PREFIX}/refresh", "/get-user"])
async def test_another_origin_gets_no_cors_answer(cors_client, path):
    response = await cors_client.options(path, headers=preflight("http://localhost:9999"))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert (await response.json())["error"] == "forbidden"


@pytest.mark.parametrize("path", [f"{AUTH_PREFIX}/login", "/get-user"])
async def test_without_an_allow_list_no_origin_is_allowed(client, path):
    # No CORS at all: no preflight route (405), no CORS header on any answer.
    response = await client.options(path, headers=preflight(OTHER_ORIGIN))
    assert response.status == 405
    assert "Access-Control-Allow-Origin" not in response.headers
    answer = await client.post(
        f"{AUTH_PREFIX}/login", json=CREDENTIALS, headers={**SAME_ORIGIN, "Origin": OTHER_ORIGIN}
    )
    assert "Access-Control-Allow-Origin" not in answer.headers


# ------------------------------------------------------------------------------------------ behind a proxy


@pytest.mark.parametrize(
    ("header", "prefix"),
    [
        ("/user/alice/proxy/8000", "/user/alice/proxy/8000"),
        ("/proxy/8000/", "/proxy/8000"),
        ("", ""),
        ("/proxy/8000; Domain=evil.example", ""),  # would add an attribute to Set-Cookie
        ("proxy/8000", ""),
        ("/proxy/80 00", ""),
        ("//evil.example", ""),
    ],
)
def test_forwarded_prefix_takes_plain_paths_only(header, prefix):
    request = make_mocked_request("POST", "/auth/login", headers={"X-Forwarded-Prefix": header})
    assert forwarded_prefix(request) == prefix


async def test_behind_jupyter_server_proxy_the_cookie_path_keeps_the_prefix(client):
    headers = {**SAME_ORIGIN, "X-Forwarded-Prefix": "/user/alice/proxy/8000"}
    _, _, cookie = await login(client, headers=headers)
    assert cookie["path"] == "/user/alice/proxy/8000/auth"
    response = await client.post(f"{AUTH_PREFIX}/logout", headers=with_cookie(cookie.value, headers))
    assert response.cookies[REFRESH_COOKIE]["path"] == "/user/alice/proxy/8000/auth"


# ------------------------------------------------------------------------------- the learner's parts are used


async def test_build_app_serves_the_learners_cookie_and_csrf_functions(aiohttp_client, settings, users):
    calls = []

    def my_cookie(response, refresh_token, settings):
        calls.append("cookie")
        browser.set_refresh_cookie(response, refresh_token, settings)

    def my_clear(response):
        calls.append("clear")
        browser.clear_refresh_cookie(response)

    def my_check(request, allowed_origins):
        calls.append("csrf")

    app = build_app(
        settings, users, set_refresh_cookie=my_cookie, clear_refresh_cookie=my_clear, check_csrf=my_check
    )
    client = await aiohttp_client(app, cookie_jar=aiohttp.DummyCookieJar())
    _, _, cookie = await login(client, headers={"Sec-Fetch-Site": "cross-site"})  # my_check lets it in
    await client.post(f"{AUTH_PREFIX}/logout", headers=with_cookie(cookie.value, {}))
    assert calls == ["csrf", "cookie", "csrf", "clear"]


# ------------------------------------------------------------------------------------------- attempt limits


def test_the_browser_login_is_among_the_guarded_login_paths():
    assert f"{AUTH_PREFIX}/login" in LOGIN_PATHS


async def test_the_browser_login_counts_failed_attempts(aiohttp_client, settings, users):
    # The attempt limits of issue 16 hold on the browser's login too: no second door for password guessing.
    app = build_app(dataclasses.replace(settings, login_failures_per_account=2), users)
    client = await aiohttp_client(app, cookie_jar=aiohttp.DummyCookieJar())
    wrong = {**CREDENTIALS, "password": "wrong"}
    statuses = [
        (await client.post(f"{AUTH_PREFIX}/login", json=wrong, headers=SAME_ORIGIN)).status for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


# ------------------------------------------------------------------------------------------- hostile input

# Printable ASCII without the separators that would end the cookie pair itself: what a Cookie value may carry.
COOKIE_TEXT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,"\\'), max_size=300
)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


@FUZZ
@given(
    route=st.sampled_from(["login", "refresh", "logout"]),
    cookie=COOKIE_TEXT,
    origin=st.one_of(st.none(), HEADER_TEXT),
    site=st.one_of(st.none(), st.sampled_from(["same-origin", "same-site", "cross-site", "none"]), HEADER_TEXT),
    prefix=st.one_of(st.none(), HEADER_TEXT),
    body=st.binary(max_size=512),
)
async def test_hostile_cookies_and_headers_never_give_a_5xx(client, route, cookie, origin, site, prefix, body):
    headers = {CSRF_HEADER: "fetch", "Cookie": f"{REFRESH_COOKIE}={cookie}", "Content-Type": "application/json"}
    for name, value in (("Origin", origin), ("Sec-Fetch-Site", site), ("X-Forwarded-Prefix", prefix)):
        if value is not None:
            headers[name] = value
    response = await client.post(f"{AUTH_PREFIX}/{route}", data=body, headers=headers)
    assert response.status < 500, await response.text()
    if response.status >= 400:
        assert set(await response.json()) == {"error", "message"}
    for morsel in response.cookies.values():
        assert ";" not in morsel["path"] and morsel["path"].endswith(AUTH_PREFIX)
