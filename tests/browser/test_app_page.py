"""The page at ``/app/`` in headless Chromium (Playwright driving Debian's ``chromium``), for make test-browser.

What only a browser can show: the cookie as the browser keeps it, what scripts can and cannot reach, SameSite,
CORS and the Content-Security-Policy applied, and notebook 08's two labs (the twin falls, the app holds). The
servers are real ones on 127.0.0.1 (``lab.server.BackgroundServer``); "another site" is the same loopback
server named ``localhost``. Screenshots of each step go to ``build/screenshots/app-*.png``.

Not collected by ``make test`` (``norecursedirs`` in pyproject.toml): run it with
``make test-browser`` or ``pytest tests/browser`` once ``.[browser]`` is installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import run_notebooks
from playwright.sync_api import Page, expect, sync_playwright
from run_notebooks import CHROMIUM_ARGS, Lab, find_chromium, lab_command

from tutorial_src.app import build_app, create_app
from tutorial_src.browser import AUTH_PREFIX, REFRESH_COOKIE
from tutorial_src.demo import DEMO_USERS
from tutorial_src.lab.browser_twins import (
    create_attacker_app,
    create_csrf_twin,
    create_second_origin_app,
    create_xss_twin,
    cross_site_url,
    csrf_attack_url,
    page_link,
    set_api_url,
    xss_link,
    xss_payload,
)
from tutorial_src.lab.server import BackgroundServer
from tutorial_src.settings import Settings, fast_test_settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", ROOT / "build" / "screenshots"))
ALICE_EMAIL, ALICE_PASSWORD, _ = DEMO_USERS[0]
#: Long enough for any wait below on a loaded 2-core machine; a bound, never a measurement.
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)


def short_lived(**overrides) -> Settings:
    """Access tokens of 2 s: the page renews them at 80 % of that, so a silent refresh comes within seconds."""
    return fast_test_settings(access_token_ttl=2, **overrides)


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), args=list(CHROMIUM_ARGS), headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def context(chromium):
    """A fresh browser profile (no cookies, no storage) per test."""
    context = chromium.new_context(viewport={"width": 900, "height": 700})
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@contextlib.contextmanager
def serving(app) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as server:
        yield server


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"app-{name}.png"), full_page=True)


def log_lines(page: Page, text: str):
    """The lines of the page's request log that start with ``text`` (``"POST auth/refresh → 200"``)."""
    return page.locator("#log li").filter(has_text=re.compile("^" + re.escape(text)))


def open_page(page: Page, url: str) -> None:
    """Open the page and wait for its first silent refresh (which fails without a cookie) to be logged."""
    page.goto(url)
    expect(page.locator("#log li").first).to_be_visible()


def log_in(page: Page, url: str, email: str = ALICE_EMAIL, password: str = ALICE_PASSWORD) -> None:
    open_page(page, url)
    expect(page.locator("#credentials")).to_be_visible()
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[value=login]")
    expect(page.locator("#who")).to_have_text(email)


def refresh_cookie(context) -> dict:
    cookies = [cookie for cookie in context.cookies() if cookie["name"] == REFRESH_COOKIE]
    assert len(cookies) == 1, context.cookies()
    return cookies[0]


def wait_for_loot(attacker: BackgroundServer) -> list[dict]:
    """What the attacker's collector received, once it received something (up to a bound)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        loot = requests.get(f"{attacker.url}/loot", timeout=10).json()
        if loot:
            return loot
        time.sleep(0.2)
    raise AssertionError("the attacker received nothing")


# --------------------------------------------------------------------------------------------- the flow


def test_sign_up_log_in_silent_refresh_log_out(context, page):
    with serving(create_app(short_lived())) as server:
        open_page(page, f"{server.url}/app/")
        expect(log_lines(page, "POST auth/refresh → 400 invalid_grant")).to_have_count(1)  # no cookie yet
        shot(page, "01-opened")

        email = f"reader-{secrets.token_hex(4)}@example.com"
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", "a long passphrase for the browser lesson")
        page.click("button[value=register]")
        expect(page.locator("#who")).to_have_text(email)
        for line in ("POST register → 201", "POST auth/login → 200", "GET get-user → 200"):
            expect(log_lines(page, line)).to_have_count(1)
        shot(page, "02-signed-up")

        # The refresh cookie as the browser keeps it, over plain http://127.0.0.1: Chromium counts loopback
        # as a secure origin, so it keeps a Secure, __Secure- cookie there.
        cookie = refresh_cookie(context)
        assert cookie["httpOnly"] is True
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["path"] == AUTH_PREFIX
        assert cookie["domain"] == "127.0.0.1"
        # Nothing a script can reach holds a token.
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert page.evaluate("typeof accessToken") == "undefined"  # a module's variable is no global

        # Silent refresh: no click, the page renews its 2 s token by itself, twice, with a new cookie each time.
        expect(log_lines(page, "POST auth/refresh → 200")).to_have_count(2, timeout=WAIT_MS)
        assert refresh_cookie(context)["value"] != cookie["value"]
        page.click("#get-user")
        expect(log_lines(page, "GET get-user → 200")).to_have_count(2)
        shot(page, "03-silent-refresh")

        # A reload loses the access token (memory only); the cookie brings a new one.
        page.reload()
        expect(page.locator("#who")).to_have_text(email)
        expect(log_lines(page, "POST auth/refresh → 200")).to_have_count(1)

        page.click("#logout")
        expect(log_lines(page, "POST auth/logout → 204")).to_have_count(1)
        expect(page.locator("#credentials")).to_be_visible()
        assert [c for c in context.cookies() if c["name"] == REFRESH_COOKIE] == []
        shot(page, "04-logged-out")

        page.reload()
        expect(log_lines(page, "POST auth/refresh → 400 invalid_grant")).to_have_count(1)
        expect(page.locator("#credentials")).to_be_visible()


# ---------------------------------------------------------------------------------------------- CSRF lab


def attack_with_form(page: Page, attacker_url: str, target_url: str):
    """Open the attacker's page, which posts a form to ``target_url``/auth/logout; the answer to that post."""
    with page.expect_response(lambda response: response.url.endswith(f"{AUTH_PREFIX}/logout")) as answer:
        # Only until the page arrives: its script submits the form at once, and a 204 answer ends no navigation.
        page.goto(csrf_attack_url(attacker_url, target_url), wait_until="commit")
    return answer.value


def test_csrf_lab_the_twin_falls(context, page):
    with serving(create_csrf_twin(short_lived())) as twin, serving(create_attacker_app()) as attacker:
        log_in(page, f"{twin.url}/app/")
        assert refresh_cookie(context)["sameSite"] == "None"
        answer = attack_with_form(page, cross_site_url(attacker.url), twin.url)
        assert answer.status == 204
        assert "cookie" in answer.request.all_headers()  # SameSite=None: the browser sent it for the attacker
        shot(page, "05-csrf-twin-attacked")
        # The victim's session is over: back on the twin's page, the cookie brings nothing.
        open_page(page, f"{twin.url}/app/")
        expect(log_lines(page, "POST auth/refresh → 400 invalid_grant")).to_have_count(1)
        expect(page.locator("#credentials")).to_be_visible()
        shot(page, "06-csrf-twin-logged-out")


@pytest.mark.parametrize(
    ("site", "cookie_sent"),
    [("cross-site", False), ("same-site", True)],
    ids=["from-another-site", "from-another-port"],
)
def test_csrf_lab_the_app_holds(context, page, site, cookie_sent):
    with serving(create_app(short_lived())) as server, serving(create_attacker_app()) as attacker:
        log_in(page, f"{server.url}/app/")
        attacker_url = cross_site_url(attacker.url) if site == "cross-site" else attacker.url
        answer = attack_with_form(page, attacker_url, server.url)
        assert answer.status == 403
        assert answer.json()["error"] == "csrf"
        assert f"a {site} request" in answer.json()["message"]
        # SameSite=Strict keeps the cookie from another site, not from another port of the same site: there
        # the CSRF check alone refuses.
        assert ("cookie" in answer.request.all_headers()) is cookie_sent
        shot(page, f"07-csrf-app-refuses-{site}")
        open_page(page, f"{server.url}/app/")
        expect(page.locator("#who")).to_have_text(ALICE_EMAIL)
        expect(log_lines(page, "POST auth/refresh → 200")).to_have_count(1)


# ----------------------------------------------------------------------------------------------- XSS lab


def test_xss_lab_the_twin_gives_its_token_away(context, page):
    with serving(create_xss_twin(short_lived())) as twin, serving(create_attacker_app()) as attacker:
        log_in(page, f"{twin.url}/app/")
        assert page.evaluate("localStorage.getItem('access_token')")  # the flaw: a token where scripts reach
        page.goto(xss_link(f"{twin.url}/app/", cross_site_url(attacker.url)))
        loot = wait_for_loot(attacker)
        shot(page, "08-xss-twin-stolen")
        assert loot[0]["cookie"] == ""  # HttpOnly: even the twin's refresh cookie stays out of reach
        stolen = loot[0]["token"]
        me = requests.get(f"{twin.url}/get-user", headers={"Authorization": f"Bearer {stolen}"}, timeout=10)
        assert me.status_code == 200 and me.json()["email"] == ALICE_EMAIL  # the attacker is alice now


def test_xss_lab_the_app_writes_the_injection_as_text(context, page):
    with serving(create_app(short_lived())) as server, serving(create_attacker_app()) as attacker:
        log_in(page, f"{server.url}/app/")
        page.goto(xss_link(f"{server.url}/app/", cross_site_url(attacker.url)))
        expect(page.locator("#notice")).to_have_text(xss_payload(cross_site_url(attacker.url)))
        assert page.locator("#notice img").count() == 0  # text, not markup: nothing to run
        shot(page, "09-xss-app-text")


def test_xss_lab_an_injection_that_runs_finds_no_token(context, page):
    # The app's page written with innerHTML and served without its CSP: the script runs, and finds nothing.
    app = create_xss_twin(short_lived(), token_in_local_storage=False, content_security_policy=False)
    with serving(app) as server, serving(create_attacker_app()) as attacker:
        log_in(page, f"{server.url}/app/")
        page.goto(xss_link(f"{server.url}/app/", cross_site_url(attacker.url)))
        assert wait_for_loot(attacker) == [{"token": "", "cookie": ""}]
        shot(page, "10-xss-memory-finds-nothing")


def test_xss_lab_the_content_security_policy_stops_the_injection(context, page):
    # The same unescaped page with the app's CSP: the injected <img> is there, its onerror never runs.
    app = create_xss_twin(short_lived(), token_in_local_storage=True, content_security_policy=True)
    with serving(app) as server, serving(create_attacker_app()) as attacker:
        page.add_init_script(
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));"
        )
        log_in(page, f"{server.url}/app/")
        page.goto(xss_link(f"{server.url}/app/", cross_site_url(attacker.url)))
        page.wait_for_function("window.violations.includes('script-src-attr')")
        assert page.locator("#notice img").count() == 1  # injected, yet inert
        shot(page, "11-xss-csp-blocks")
        assert requests.get(f"{attacker.url}/loot", timeout=10).json() == []


# ------------------------------------------------------------------------------------------------- CORS


def test_cors_another_origin_is_refused_then_allowed(context, page):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    with serving(create_second_origin_app()) as second:
        with serving(create_app(short_lived())) as server:
            set_api_url(second.app, server.url)
            log_in_attempt(page, f"{second.url}/app/")
            expect(log_lines(page, "POST auth/login → failed")).to_have_count(1)
            assert any("blocked by CORS policy" in text for text in messages), messages
            shot(page, "12-cors-refused")

        allowed = build_app(short_lived(), cors_origins=[second.url])
        with serving(allowed) as server:
            set_api_url(second.app, server.url)
            log_in(page, f"{second.url}/app/")
            expect(log_lines(page, "GET get-user → 200")).to_have_count(1)
            # The cookie belongs to the API's host; another port of the same site sends it along (SameSite).
            cookie = refresh_cookie(context)
            assert (cookie["domain"], cookie["path"], cookie["httpOnly"]) == ("127.0.0.1", AUTH_PREFIX, True)
            expect(log_lines(page, "POST auth/refresh → 200")).to_have_count(1, timeout=WAIT_MS)
            shot(page, "13-cors-allowed")


def log_in_attempt(page: Page, url: str) -> None:
    open_page(page, url)
    page.fill("input[name=email]", ALICE_EMAIL)
    page.fill("input[name=password]", ALICE_PASSWORD)
    page.click("button[value=login]")


# ------------------------------------------------------------------------------------ jupyter-server-proxy


#: Where a JupyterHub serves a learner's Jupyter server; the test's Jupyter server takes it as its base_url.
HUB_PREFIX = "/user/learner/"


class HubLikeLab(Lab):
    """``run_notebooks.Lab`` under ``HUB_PREFIX``, as JupyterHub lays a learner's server out (without the hub)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.origin = self.url
        self.url = self.origin + HUB_PREFIX.rstrip("/")


@pytest.fixture(scope="module")
def jupyter_lab():
    """A Jupyter server with jupyter-server-proxy under a hub's path prefix."""
    marker = secrets.token_hex(8)

    def hub_command(*args, **kwargs):
        return [*lab_command(*args, **kwargs), f"--ServerApp.base_url={HUB_PREFIX}"]

    with tempfile.TemporaryDirectory(prefix="proxy-test-") as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_notebooks, "lab_command", hub_command)
        state = Path(tmp) / "state"
        state.mkdir()
        with HubLikeLab(Path(tmp), state, marker, Path(tmp) / "lab.log") as lab:
            yield lab


def test_the_page_works_through_jupyter_server_proxy(context, page, jupyter_lab):
    with serving(create_app(short_lived())) as server:
        # The link notebook 08 prints on a hub: a path on the hub's origin, through jupyter-server-proxy.
        link = page_link(server.port, environ={"JUPYTERHUB_SERVICE_PREFIX": HUB_PREFIX})
        assert link == f"{HUB_PREFIX}proxy/{server.port}/app/"
        # The token in the URL logs the browser in to Jupyter (a cookie); the proxy needs that login.
        page.goto(f"{jupyter_lab.origin}{link}?token={jupyter_lab.token}")
        expect(page.locator("#credentials")).to_be_visible()
        page.fill("input[name=email]", ALICE_EMAIL)
        page.fill("input[name=password]", ALICE_PASSWORD)
        page.click("button[value=login]")
        expect(page.locator("#who")).to_have_text(ALICE_EMAIL)
        cookie = refresh_cookie(context)
        assert cookie["path"] == f"{HUB_PREFIX}proxy/{server.port}{AUTH_PREFIX}"  # from X-Forwarded-Prefix
        expect(log_lines(page, "POST auth/refresh → 200")).to_have_count(1, timeout=WAIT_MS)
        shot(page, "14-through-jupyter-server-proxy")
        page.click("#logout")
        expect(log_lines(page, "POST auth/logout → 204")).to_have_count(1)
        assert [c for c in context.cookies() if c["name"] == REFRESH_COOKIE] == []
