"""The checkers of notebook 08: the reference answers pass, right answers written otherwise pass, and each wrong
answer a learner plausibly writes is refused with its mistake named; nothing raises or prints."""

from __future__ import annotations

import sys

import pytest
from aiohttp import hdrs, web

from tutorial_src import check
from tutorial_src.browser import (
    AUTH_PREFIX,
    CSRF_HEADER,
    REFRESH_COOKIE,
    check_csrf,
    clear_refresh_cookie,
    own_origin,
    set_refresh_cookie,
)
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.check.nb08 import (
    BrowserJar,
    deletes,
    hidden_value,
    read_set_cookie,
)
from tutorial_src.responses import json_error


def assert_passes(result, count):
    assert result, repr(result)
    assert repr(result).startswith(PASSED_PREFIX), repr(result)
    assert f"({count} requests)" in repr(result)


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


# --- reading Set-Cookie ------------------------------------------------------------------------------------------


def test_read_set_cookie_reads_what_aiohttp_writes():
    response = web.Response()
    set_refresh_cookie(response, "the-token", _settings())
    [header] = [value for name, value in response.cookies.items() if name == REFRESH_COOKIE]
    morsel = read_set_cookie(header.OutputString())
    assert morsel is not None and morsel.value == "the-token"
    assert morsel["httponly"] is True and morsel["secure"] is True and morsel["samesite"] == "Strict"
    assert morsel["path"] == AUTH_PREFIX and morsel["max-age"] == "5400"
    assert not deletes(morsel)


def test_a_deletion_is_seen_as_one():
    response = web.Response()
    clear_refresh_cookie(response)
    morsel = read_set_cookie(response.cookies[REFRESH_COOKIE].OutputString())
    assert morsel is not None and deletes(morsel)


def test_unreadable_headers_give_none_and_values_stay_hidden():
    assert read_set_cookie("a=b; Path=/; nonsense") is None
    assert read_set_cookie("") is None
    assert hidden_value("name=secret-value; Path=/auth; Secure") == "name=…; Path=/auth; Secure"


def test_the_jar_sends_a_cookie_to_its_path_and_below_only():
    jar = BrowserJar({(REFRESH_COOKIE, "/auth"): "v"})
    assert jar.cookie_header("/auth/refresh") == f"{REFRESH_COOKIE}=v"
    assert jar.cookie_header("/auth") == f"{REFRESH_COOKIE}=v"
    assert jar.cookie_header("/authx") is None
    assert jar.cookie_header("/get-user") is None


def _settings():
    from tutorial_src.settings import fast_test_settings

    return fast_test_settings(jwt_secret="test-secret-" + "x" * 32, refresh_token_ttl=5400)


# --- exercise 1: set_refresh_cookie and clear_refresh_cookie -----------------------------------------------------


def setter(**changes):
    """The reference's ``set_cookie`` call with ``changes``; ``max_age`` may be a function of the settings."""

    def answer(response, refresh_token, settings):
        options = dict(
            max_age=settings.refresh_token_ttl, path=AUTH_PREFIX, secure=True, httponly=True, samesite="Strict"
        )
        options.update({name: value(settings) if callable(value) else value for name, value in changes.items()})
        response.set_cookie(REFRESH_COOKIE, refresh_token, **options)

    return answer


def clearer(**options):
    def answer(response):
        response.del_cookie(REFRESH_COOKIE, **options)

    return answer


def set_with_morsel(response, refresh_token, settings):
    # Written differently: the cookie jar of the response filled by hand, lower-case SameSite, Max-Age as text.
    response.cookies[REFRESH_COOKIE] = refresh_token
    response.cookies[REFRESH_COOKIE].update(
        {"path": "/auth", "max-age": str(settings.refresh_token_ttl), "secure": True, "httponly": True,
         "samesite": "strict"}
    )  # fmt: skip


def clear_by_setting_again(response):
    # Written differently: the same cookie again, empty, Max-Age=0.
    response.set_cookie(REFRESH_COOKIE, "", max_age=0, path="/auth", secure=True, httponly=True, samesite="Strict")


@pytest.mark.parametrize(
    ("set_answer", "clear_answer"),
    [(set_refresh_cookie, clear_refresh_cookie), (set_with_morsel, clear_by_setting_again)],
    ids=["shipped", "written-differently"],
)
def test_refresh_cookie_lab_accepts_right_answers(set_answer, clear_answer, capfd):
    assert_passes(check.refresh_cookie_lab(set_answer, clear_answer), 4)
    assert capfd.readouterr().err == ""


def new_response(response, refresh_token, settings):
    other = web.Response()
    set_refresh_cookie(other, refresh_token, settings)
    return other


async def async_setter(response, refresh_token, settings):
    set_refresh_cookie(response, refresh_token, settings)


def unfinished_setter(response, refresh_token, settings):
    raise NotImplementedError("the table says which attributes")


def exits(*args):
    sys.exit(1)


def another_name(response, refresh_token, settings):
    response.set_cookie(
        "refresh_token", refresh_token, max_age=settings.refresh_token_ttl, path=AUTH_PREFIX, secure=True,
        httponly=True, samesite="Strict",
    )  # fmt: skip


def bearer_value(response, refresh_token, settings):
    set_refresh_cookie(response, f"Bearer {refresh_token}", settings)


async def async_clearer(response):
    clear_refresh_cookie(response)


def empty_value_clearer(response):
    response.set_cookie(REFRESH_COOKIE, "", path=AUTH_PREFIX, secure=True, httponly=True, samesite="Strict")


LOGIN = "request 1 of 4 (alice logs in from the page: POST /auth/login)"
LOGOUT = "request 4 of 4 (the page logs out, the browser adds the cookie: POST /auth/logout)"

COOKIE_WRONG = {
    "no HttpOnly": (setter(httponly=None), clear_refresh_cookie, [LOGIN, "no HttpOnly", "document.cookie"]),
    "no Secure": (setter(secure=None), clear_refresh_cookie, [LOGIN, "no Secure", "§4.1.3.1"]),
    "SameSite=Lax": (setter(samesite="Lax"), clear_refresh_cookie, [LOGIN, "SameSite=Lax", "samesite='Strict'"]),
    "SameSite=None": (setter(samesite="None"), clear_refresh_cookie, [LOGIN, "SameSite=None", "any other site"]),
    "no SameSite": (setter(samesite=None), clear_refresh_cookie, [LOGIN, "no SameSite", "Chromium"]),
    "Path=/ (aiohttp's default)": (
        setter(path="/"),
        clear_refresh_cookie,
        [LOGIN, "its Path is /", "every request to the site"],
    ),
    "Path of the login route": (setter(path="/auth/login"), clear_refresh_cookie, [LOGIN, "/auth/login"]),
    "the access token's lifetime": (
        setter(max_age=lambda settings: settings.access_token_ttl),
        clear_refresh_cookie,
        [LOGIN, "Max-Age=900", "5400 s"],
    ),
    "notebook 07's day written in": (setter(max_age=86400), clear_refresh_cookie, [LOGIN, "Max-Age=86400"]),
    "a session cookie": (setter(max_age=None), clear_refresh_cookie, [LOGIN, "no Max-Age", "session cookie"]),
    "Expires instead of Max-Age": (
        setter(max_age=None, expires="Wed, 01 Jan 2031 00:00:00 GMT"),
        clear_refresh_cookie,
        [LOGIN, "Expires but no Max-Age"],
    ),
    "a Domain": (setter(domain="lab.test"), clear_refresh_cookie, [LOGIN, "Domain=lab.test", "every subdomain"]),
    "another name": (another_name, clear_refresh_cookie, [LOGIN, "'refresh_token', not '__Secure-refresh_token'"]),
    "'Bearer <token>' as the value": (
        bearer_value,
        clear_refresh_cookie,
        ["request 2 of 4 (the page refreshes", "got 400", "stores refresh_token itself"],
    ),
    "a response of its own": (new_response, clear_refresh_cookie, [LOGIN, "returned a response of its own"]),
    "async def": (async_setter, clear_refresh_cookie, ["write a plain `def set_refresh_cookie(…)`"]),
    "stub": (unfinished_setter, clear_refresh_cookie, ["not done yet", "the table says which attributes"]),
    "not a function": (None, clear_refresh_cookie, ["expected the function set_refresh_cookie, got NoneType"]),
    "deleted with Path=/ (del_cookie's default)": (
        set_refresh_cookie,
        clearer(secure=True),
        [LOGOUT, "same name and Path", "path=AUTH_PREFIX"],
    ),
    "deleted without Secure": (set_refresh_cookie, clearer(path=AUTH_PREFIX), [LOGOUT, "without Secure"]),
    "never deleted": (set_refresh_cookie, lambda response: None, [LOGOUT, "no Set-Cookie header"]),
    "emptied, not deleted": (set_refresh_cookie, empty_value_clearer, [LOGOUT, "rather than a deletion"]),
    "clear is async": (set_refresh_cookie, async_clearer, ["write a plain `def clear_refresh_cookie(…)`"]),
    "exit() in set_refresh_cookie": (exits, clear_refresh_cookie, [LOGIN, "SystemExit"]),
    "clear takes no response": (set_refresh_cookie, lambda: None, [LOGOUT, "got 500", "TypeError"]),
}


@pytest.mark.parametrize(
    ("set_answer", "clear_answer", "fragments"), COOKIE_WRONG.values(), ids=COOKIE_WRONG.keys()
)
def test_refresh_cookie_lab_refuses_each_wrong_answer(set_answer, clear_answer, fragments, capfd):
    assert_not_yet(check.refresh_cookie_lab(set_answer, clear_answer), *fragments)
    assert capfd.readouterr().err == "", "the lab must record the server's logs, not print them"


def test_a_wrong_cookie_never_shows_its_value():
    # The verdict shows the Set-Cookie header, without the refresh token in it.
    result = repr(check.refresh_cookie_lab(setter(httponly=None), clear_refresh_cookie))
    assert f"'{REFRESH_COOKIE}=…; Max-Age=5400" in result


# --- exercise 2: check_csrf --------------------------------------------------------------------------------------


def refuse(message="refused"):
    raise json_error(web.HTTPForbidden, "csrf", message)


def blocks_requests_without_origin_headers(request, allowed_origins):
    # Written differently: OWASP's advice to block a request with neither Origin nor Sec-Fetch-Site, a set of
    # trusted origins, and the custom header checked first.
    if not request.headers.get(CSRF_HEADER):
        refuse("no custom header")
    origin = request.headers.get(hdrs.ORIGIN)
    site = request.headers.get("Sec-Fetch-Site")
    trusted = {own_origin(request), *allowed_origins}
    if site is not None and site != "same-origin" and origin not in allowed_origins:
        refuse(f"a {site} request")
    if origin is not None and origin not in trusted:
        refuse("another origin")
    if origin is None and site is None:
        refuse("no Origin, no Sec-Fetch-Site")


@pytest.mark.parametrize(
    "answer", [check_csrf, blocks_requests_without_origin_headers], ids=["shipped", "owasp-blocks-no-headers"]
)
def test_csrf_check_lab_accepts_right_answers(answer, capfd):
    assert_passes(check.csrf_check_lab(answer), 12)
    assert capfd.readouterr().err == ""


def csrf(
    *,
    allowed=True,
    site_rule="same-origin only",
    origin_rule="exact",
    header=True,
    exc=web.HTTPForbidden,
    code="csrf",
    null_is_missing=False,
    allowed_skip_header=False,
):
    """The reference's shape; each option is one mistake of the corpus."""

    def answer(request, allowed_origins):
        origin = request.headers.get(hdrs.ORIGIN)
        site = request.headers.get("Sec-Fetch-Site")
        if null_is_missing and origin == "null":
            origin = None
        own = own_origin(request) if origin_rule != "hard-coded" else "http://127.0.0.1:8080"
        if allowed and origin is not None and origin in allowed_origins:
            if allowed_skip_header:
                return
        elif site in {
            "same-origin only": ("same-site", "cross-site", "none"),
            "not cross-site": ("cross-site",),
        }.get(site_rule, ()):
            raise json_error(exc, code, f"a {site} request")
        elif site_rule == "required" and site != "same-origin":
            raise json_error(exc, code, "no Sec-Fetch-Site")
        elif site is None and origin is not None:
            same = origin.startswith(own) if origin_rule == "prefix" else origin == own
            if not same:
                raise json_error(exc, code, "another origin")
        if header and not request.headers.get(CSRF_HEADER):
            raise json_error(exc, code, "no custom header")

    return answer


def sec_fetch_site_only(request, allowed_origins):
    # Origin never read: a browser without Fetch Metadata is let through from anywhere.
    site = request.headers.get("Sec-Fetch-Site")
    if request.headers.get(hdrs.ORIGIN) not in allowed_origins and site not in (None, "same-origin"):
        refuse()
    if not request.headers.get(CSRF_HEADER):
        refuse()


def only_the_custom_header(request, allowed_origins):
    if not request.headers.get(CSRF_HEADER):
        refuse()


def origin_only_when_present(request, allowed_origins):
    # Sec-Fetch-Site never read: a cross-site request without Origin goes through.
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and origin != own_origin(request) and origin not in allowed_origins:
        refuse()
    if not request.headers.get(CSRF_HEADER):
        refuse()


def returns_the_error(request, allowed_origins):
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return json_error(web.HTTPForbidden, "csrf", "cross-site")
    return None


def returns_a_verdict(request, allowed_origins):
    return request.headers.get("Sec-Fetch-Site") in (None, "same-origin")


def bare_forbidden(request, allowed_origins):
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise web.HTTPForbidden()


async def async_check(request, allowed_origins):
    refuse()


def unfinished_check(request, allowed_origins):
    raise NotImplementedError("Origin, Sec-Fetch-Site, the custom header")


def step(number, description):
    """The start of the verdict's "where": the request's number and the beginning of its description."""
    return f"request {number} of 12 ({description}"


CSRF_WRONG = {
    "no check at all": (lambda request, allowed_origins: None, [step(4, "an attacker's form"), "got 204"]),
    "only the custom header": (
        only_the_custom_header,
        [step(5, "an attacker's script with the custom header: cross-site"), "got 204", "proves nothing"],
    ),
    "no custom header required": (
        csrf(header=False),
        [step(6, "the page's own origin without the custom header"), "a form, a link or an image cannot"],
    ),
    "Origin compared by prefix": (
        csrf(origin_rule="prefix"),
        [step(11, "the origin http://app.lab.test.attacker.example, no Sec-Fetch-Site"), "never startswith"],
    ),
    "same-site taken for same-origin": (
        csrf(site_rule="not cross-site"),
        [step(8, "a sibling subdomain http://blog.lab.test, Sec-Fetch-Site: same-site"), "same-site is not"],
    ),
    "Sec-Fetch-Site required": (
        csrf(site_rule="required"),
        [step(2, "the page's own origin from a browser without Sec-Fetch-Site"), "got 403", "expected 204"],
    ),
    "the allow-list ignored": (
        csrf(allowed=False),
        [step(3, "the allowed origin http://www.lab.test, Sec-Fetch-Site: same-site"), "allowed_origins"],
    ),
    "an allowed origin skips the custom header": (
        csrf(allowed_skip_header=True),
        [step(7, "the allowed origin without the custom header"), "still needs the custom header"],
    ),
    "Origin only when present, Sec-Fetch-Site ignored": (
        origin_only_when_present,
        [step(9, "a cross-site browser that sent no Origin"), "Origin or not"],
    ),
    "Sec-Fetch-Site only, Origin ignored": (
        sec_fetch_site_only,
        [step(10, "an attacker from a browser without Sec-Fetch-Site"), "Origin decides"],
    ),
    "Origin: null taken for no Origin": (
        csrf(null_is_missing=True),
        [step(12, "Origin: null (a sandboxed frame), no Sec-Fetch-Site"), "'null' is an Origin"],
    ),
    "a hard-coded origin": (
        csrf(origin_rule="hard-coded"),
        [step(2, "the page's own origin from a browser without Sec-Fetch-Site"), "own_origin(request)"],
    ),
    "401 instead of 403": (csrf(exc=web.HTTPUnauthorized), [step(4, "an attacker's form"), "got 401", "403"]),
    "another error code": (csrf(code="forbidden"), [step(4, "an attacker's form"), "{'error': 'csrf'"]),
    "a bare HTTPForbidden": (bare_forbidden, [step(4, "an attacker's form"), "'forbidden'", "json_error"]),
    "return instead of raise": (returns_the_error, [step(4, "an attacker's form"), "instead of raising it"]),
    "a verdict returned": (returns_a_verdict, [step(1, "the page's own origin"), "returned True"]),
    "async def": (async_check, ["write a plain `def check_csrf(…)`"]),
    "stub": (unfinished_check, ["not done yet", "Origin, Sec-Fetch-Site, the custom header"]),
    "not a function": ("check_csrf", ["expected the function check_csrf, got str"]),
    "exit()": (exits, [step(1, "the page's own origin"), "SystemExit"]),
    "no allowed_origins parameter": (lambda request: None, [step(1, "the page's own origin"), "TypeError"]),
}


@pytest.mark.parametrize(("answer", "fragments"), CSRF_WRONG.values(), ids=CSRF_WRONG.keys())
def test_csrf_check_lab_refuses_each_wrong_answer(answer, fragments, capfd):
    assert_not_yet(check.csrf_check_lab(answer), *fragments)
    assert capfd.readouterr().err == "", "the lab must record the server's logs, not print them"


# --- the labs' evidence (sections 7 and 8): what the servers saw, sent here as the victim's browser would --------


def _served(app):
    from tutorial_src.lab.server import BackgroundServer

    return BackgroundServer(app)


def _browser(server, site, *, cookie=None, custom=True, origin=None):
    headers = {hdrs.ORIGIN: origin or server.url, "Sec-Fetch-Site": site}
    if custom:
        headers[CSRF_HEADER] = "fetch"
    if cookie:
        headers[hdrs.COOKIE] = f"{REFRESH_COOKIE}={cookie}"
    return headers


def test_csrf_lab_follows_the_attack_step_by_step(capfd):
    import requests

    from tutorial_src.app import build_app
    from tutorial_src.check.nb08 import record_requests
    from tutorial_src.demo import demo_user_store
    from tutorial_src.lab.browser_twins import create_csrf_twin

    settings = _settings()
    twin_app = record_requests(create_csrf_twin(settings, demo_user_store(settings)))
    real_app = record_requests(build_app(settings, demo_user_store(settings)))
    alice = {"email": "alice@example.com", "password": "correct horse battery staple"}
    with _served(twin_app) as twin, _served(real_app) as app:
        assert_not_yet(check.csrf_lab(twin, app), "the twin has seen no request from another site yet")
        attacker = "http://localhost:1"
        requests.post(
            twin.url + "/auth/logout", headers=_browser(twin, "cross-site", custom=False, origin=attacker)
        )
        assert_not_yet(check.csrf_lab(twin, app), "without the refresh cookie")
        login = requests.post(
            twin.url + "/auth/login", json=alice, headers=_browser(twin, "same-origin"), timeout=10
        )
        cookie = login.cookies[REFRESH_COOKIE]
        forged = _browser(twin, "cross-site", cookie=cookie, custom=False, origin=attacker)
        assert requests.post(twin.url + "/auth/logout", headers=forged, timeout=10).status_code == 204
        assert_not_yet(check.csrf_lab(twin, app), "the twin logged you out (204)", "Now log in on the app's page")
        refused = _browser(app, "cross-site", custom=False, origin=attacker)
        assert requests.post(app.url + "/auth/logout", headers=refused, timeout=10).status_code == 403
        result = check.csrf_lab(twin, app)
    assert result and "403 csrf, even without the cookie" in repr(result), repr(result)
    assert ":1" not in repr(result)
    assert_not_yet(check.csrf_lab(None, None), "record_requests")
    assert capfd.readouterr().err == ""


def test_xss_lab_reads_the_attackers_loot():
    from tutorial_src.demo import demo_user_store
    from tutorial_src.lab.browser_twins import LOOT, create_attacker_app
    from tutorial_src.tokens import create_access_token

    settings = _settings()
    alice = demo_user_store(settings).get_by_id(1)
    attacker = create_attacker_app()
    assert_not_yet(check.xss_lab(attacker, settings), "received nothing yet")
    attacker[LOOT].append({"token": "", "cookie": ""})
    assert_not_yet(check.xss_lab(attacker, settings), "no valid access token", "1 visit(s) brought nothing")
    attacker[LOOT].append({"token": create_access_token(alice, settings), "cookie": ""})
    result = check.xss_lab(attacker, settings)
    assert result and "access token of user 1" in repr(result), repr(result)
    assert_not_yet(check.xss_lab(object(), settings), "attacker's server")
