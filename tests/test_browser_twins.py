"""Notebook 08's lab material without a browser: the twins differ from the app by their one flaw each, the
attacker's site collects, the second origin serves the page pointed at the API. The attacks themselves run in
Chromium (tests/browser/test_app_page.py): only a browser applies SameSite, CORS and the CSP."""

from __future__ import annotations

import aiohttp
import pytest
from conftest import ALICE

from tutorial_src.browser import (
    AUTH_PREFIX,
    CONTENT_SECURITY_POLICY,
    CSRF_HEADER,
    REFRESH_COOKIE,
    page_files,
)
from tutorial_src.lab.browser_twins import (
    LOCAL_STORAGE_PATCHES,
    UNESCAPED_NOTICE_PATCHES,
    create_attacker_app,
    create_csrf_twin,
    create_second_origin_app,
    create_xss_twin,
    cross_site_url,
    csrf_attack_url,
    csrf_page,
    page_link,
    patch_page_script,
    second_origin_page,
    set_api_url,
    twin_page,
    xss_link,
    xss_payload,
)
from tutorial_src.routes import unguarded_routes

CREDENTIALS = {"email": ALICE[0], "password": ALICE[1]}


async def test_the_csrf_twin_sets_a_cookie_for_any_site_and_checks_nothing(aiohttp_client, settings, users):
    client = await aiohttp_client(create_csrf_twin(settings, users), cookie_jar=aiohttp.DummyCookieJar())
    # A cross-site form post: no custom header, a foreign Origin. The app answers 403; the twin logs in.
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:9999"}
    response = await client.post(f"{AUTH_PREFIX}/login", json=CREDENTIALS, headers=headers)
    assert response.status == 200
    cookie = response.cookies[REFRESH_COOKIE]
    assert cookie["samesite"] == "None" and cookie["secure"] is True
    out = await client.post(
        f"{AUTH_PREFIX}/logout", headers={**headers, "Cookie": f"{REFRESH_COOKIE}={cookie.value}"}
    )
    assert out.status == 204
    assert out.cookies[REFRESH_COOKIE]["samesite"] == "None"


def test_the_twins_have_no_unguarded_route(settings, users):
    assert unguarded_routes(create_csrf_twin(settings, users)) == []
    assert unguarded_routes(create_xss_twin(settings, users)) == []


def test_the_twin_page_differs_by_its_patches_only():
    shipped = page_files()["app.js"].decode()
    twin = twin_page()["app.js"].decode()
    assert "localStorage.getItem" in twin and "innerHTML = notice" in twin
    undone = twin
    for safe, vulnerable in (*LOCAL_STORAGE_PATCHES, *UNESCAPED_NOTICE_PATCHES):
        undone = undone.replace(vulnerable, safe)
    assert undone == shipped
    assert twin_page()["index.html"] == page_files()["index.html"]


@pytest.mark.parametrize(
    ("local_storage", "unescaped", "expected"),
    [(True, False, "localStorage.getItem"), (False, True, "innerHTML"), (False, False, None)],
)
def test_each_flaw_can_be_chosen_alone(local_storage, unescaped, expected):
    script = twin_page(token_in_local_storage=local_storage, unescaped_notice=unescaped)["app.js"].decode()
    flaws = {"localStorage.getItem": "localStorage.getItem" in script, "innerHTML": "innerHTML" in script}
    assert flaws == {name: name == expected for name in flaws}


@pytest.mark.parametrize("script", ["no such line", "let accessToken = null;\nlet accessToken = null;"])
def test_a_patch_that_no_longer_fits_the_page_says_so(script):
    with pytest.raises(ValueError, match="update the patches"):
        patch_page_script(script, LOCAL_STORAGE_PATCHES[:1])


@pytest.mark.parametrize(("csp", "expected"), [(False, None), (True, CONTENT_SECURITY_POLICY)])
async def test_the_xss_twin_serves_its_page_with_or_without_a_policy(
    aiohttp_client, settings, users, csp, expected
):
    client = await aiohttp_client(create_xss_twin(settings, users, content_security_policy=csp))
    response = await client.get("/app/")
    assert response.headers.get("Content-Security-Policy") == expected
    script = await (await client.get("/app/app.js")).text()
    assert "localStorage.setItem" in script


def test_the_payload_sends_storage_and_cookies_to_the_attacker():
    payload = xss_payload("http://localhost:9")
    assert payload.startswith('<img src="x" onerror="')
    assert "http://localhost:9/steal?token=" in payload
    assert "localStorage.getItem('access_token')" in payload and "document.cookie" in payload
    link = xss_link("http://127.0.0.1:8/app/", "http://localhost:9")
    assert link.startswith("http://127.0.0.1:8/app/?notice=%3Cimg%20src%3D%22x%22")
    assert "<" not in link and " " not in link


def test_cross_site_url_changes_the_site_not_the_server():
    assert cross_site_url("http://127.0.0.1:8001") == "http://localhost:8001"
    assert cross_site_url("http://localhost:8001") == "http://localhost:8001"


async def test_the_attacker_collects_and_shows_the_loot(aiohttp_client):
    client = await aiohttp_client(create_attacker_app())
    assert await (await client.get("/loot")).json() == []
    stolen = await client.get("/steal", params={"token": "eyJ.x.y", "cookie": ""})
    assert stolen.status == 204
    assert await (await client.get("/loot")).json() == [{"token": "eyJ.x.y", "cookie": ""}]


async def test_the_attacker_page_posts_to_its_target(aiohttp_client):
    client = await aiohttp_client(create_attacker_app())
    url = csrf_attack_url("", "http://127.0.0.1:8001")
    assert url == "/csrf?target=http%3A%2F%2F127.0.0.1%3A8001%2Fauth%2Flogout"
    page = await (await client.get(url)).text()
    assert page == csrf_page("http://127.0.0.1:8001/auth/logout")
    assert 'method="post" action="http://127.0.0.1:8001/auth/logout"' in page
    assert CSRF_HEADER not in page  # a form cannot send one
    refused = await client.get("/csrf", params={"target": "javascript:alert(1)"})
    assert refused.status == 400


async def test_the_second_origin_serves_the_page_pointed_at_the_api(aiohttp_client):
    app = create_second_origin_app("http://127.0.0.1:8001")
    client = await aiohttp_client(app)
    response = await client.get("/app/")
    index = await response.text()
    assert '<meta name="api-base" content="http://127.0.0.1:8001/">' in index
    assert "connect-src http://127.0.0.1:8001;" in response.headers["Content-Security-Policy"]
    assert await (await client.get("/app/app.js")).read() == page_files()["app.js"]
    assert (await client.get("/app/nothing.js")).status == 404
    set_api_url(app, "http://127.0.0.1:8002")
    assert 'content="http://127.0.0.1:8002/"' in await (await client.get("/app/")).text()


def test_second_origin_page_needs_the_meta_tag():
    with pytest.raises(ValueError, match="api-base"):
        second_origin_page({"index.html": b"<html></html>"}, "http://127.0.0.1:1")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:8001/app/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": ""}, "http://127.0.0.1:8001/app/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}, "/user/alice/proxy/8001/app/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice"}, "/user/alice/proxy/8001/app/"),
    ],
)
def test_page_link_goes_through_the_proxy_on_a_hub(environ, expected):
    assert page_link(8001, environ=environ) == expected
