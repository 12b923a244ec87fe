"""Checkers for the exercises of notebook 08 (tokens in a real browser): the refresh cookie and the CSRF check.

- ``refresh_cookie_lab(set_refresh_cookie, clear_refresh_cookie)``: the app built with the learner's two cookie
  functions (``build_app(set_refresh_cookie=…, clear_refresh_cookie=…)``) on a lab server of its own, and a
  browser's session in four requests: log in, refresh (the cookie goes back), the API, log out. Every
  ``Set-Cookie`` is read with ``http.cookies`` and held to RFC 6265bis.
- ``csrf_check_lab(check_csrf)``: the app built with the learner's check, and the requests a browser sends from the
  page's own origin, an allowed origin, a sibling subdomain and an attacker's site (``Origin``, ``Sec-Fetch-Site``,
  the custom header present or not).

The lab's page lives at ``http://app.lab.test``: each request names that host (``Host``) and origin, as a browser
on that page would, so the app's own origin is the same on every run and no port appears in a verdict.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, Morsel, SimpleCookie
from typing import Any

import requests
from aiohttp import hdrs, web

from .. import browser
from ..app import build_app
from ..models import UserStore
from ..settings import Settings, fast_test_settings
from ._core import CheckResult, closed_coroutine, describe_exception, not_yet, passed, safe_repr
from ._lab import _NOTES, Step, json_body, run_lab

__all__ = ["csrf_check_lab", "csrf_lab", "record_requests", "refresh_cookie_lab", "xss_lab"]

#: The lab page's host and origin. ``.test`` is reserved for testing (RFC 6761 §6.2): no real site answers.
LAB_HOST = "app.lab.test"
OWN_ORIGIN = f"http://{LAB_HOST}"
#: On the lab app's CORS allow-list: another origin of the same site (a front-end deployed apart from its API).
ALLOWED_ORIGIN = "http://www.lab.test"
#: Same site (``lab.test``), another origin, not on the allow-list: a sibling subdomain an attacker took over.
SIBLING_ORIGIN = "http://blog.lab.test"
#: Another site altogether.
ATTACKER_ORIGIN = "http://attacker.example"
#: An origin that starts like the page's own: a prefix comparison lets it in.
LOOKALIKE_ORIGIN = f"{OWN_ORIGIN}.attacker.example"
#: A refresh-token lifetime nobody writes by heart (not notebook 07's day, not the access token's 15 minutes).
LAB_REFRESH_TTL = 5400
ALICE = {"email": "alice@example.com", "password": "alice's lab password"}

Checker = Callable[[requests.Response, Mapping[str, requests.Response]], "str | None"]


# ------------------------------------------------------------------------------------ a browser's cookie jar


def set_cookie_headers(response: requests.Response) -> list[str]:
    """Every ``Set-Cookie`` header of the answer, one string each (``response.headers`` joins them with commas)."""
    headers = getattr(getattr(response, "raw", None), "headers", None)
    getlist = getattr(headers, "getlist", None)
    return list(getlist(hdrs.SET_COOKIE)) if getlist is not None else []


def read_set_cookie(header: str) -> Morsel[str] | None:
    """The cookie of one ``Set-Cookie`` header, parsed by ``http.cookies``; ``None`` when it cannot be read."""
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:
        return None
    morsels = list(cookie.values())
    return morsels[0] if len(morsels) == 1 else None


def hidden_value(header: str) -> str:
    """A ``Set-Cookie`` header with its value left out: a verdict never shows a token."""
    name, _, rest = header.partition("=")
    _, separator, attributes = rest.partition(";")
    return f"{name}=…{separator}{attributes}"


def deletes(morsel: Morsel[str]) -> bool:
    """Whether the cookie tells the browser to drop it: ``Max-Age`` zero or less, or an ``Expires`` in 1970."""
    max_age = morsel["max-age"]
    if max_age != "":
        try:
            return int(max_age) <= 0
        except ValueError:
            return False
    return "1970" in morsel["expires"]


@dataclass
class BrowserJar:
    """The cookies a browser keeps from the lab's answers, by ``(name, path)``, and the ``Cookie`` it sends.

    Like a browser on ``http://127.0.0.1``, it counts the lab's plain HTTP as a secure channel, so it keeps and
    sends ``Secure`` cookies.
    """

    cookies: dict[tuple[str, str], str] = field(default_factory=dict)

    def receive(self, response: requests.Response) -> None:
        for header in set_cookie_headers(response):
            morsel = read_set_cookie(header)
            if morsel is None:
                continue
            key = (morsel.key, morsel["path"] or "/")
            if deletes(morsel):
                self.cookies.pop(key, None)
            else:
                self.cookies[key] = morsel.value

    def value(self, name: str, path: str) -> str | None:
        return self.cookies.get((name, path))

    def cookie_header(self, path: str) -> str | None:
        """The ``Cookie`` header a browser sends to ``path`` (RFC 6265bis §5.1.4, path-match), or ``None``."""
        pairs = [
            f"{name}={value}"
            for (name, cookie_path), value in self.cookies.items()
            if path == cookie_path or path.startswith(cookie_path.rstrip("/") + "/")
        ]
        return "; ".join(pairs) or None


class PageHeaders(Mapping[str, str]):
    """The headers of one request of the page, read when the lab sends it (``_lab`` reads them only then): the
    fixed ones, the ``Cookie`` the jar holds for the path, and the access token the page keeps in memory."""

    def __init__(self, jar: BrowserJar, memory: Mapping[str, str], path: str, fixed: Mapping[str, str]) -> None:
        self.jar, self.memory, self.path, self.fixed = jar, memory, path, dict(fixed)

    def _current(self) -> dict[str, str]:
        headers = dict(self.fixed)
        cookie = self.jar.cookie_header(self.path)
        if cookie:
            headers[hdrs.COOKIE] = cookie
        if "access_token" in self.memory and not self.path.startswith(browser.AUTH_PREFIX + "/"):
            headers[hdrs.AUTHORIZATION] = f"Bearer {self.memory['access_token']}"
        return headers

    def __getitem__(self, name: str) -> str:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


def browser_headers(origin: str | None, site: str | None, custom: bool, **more: str) -> dict[str, str]:
    """What a browser sends to the lab app: its ``Host``, then ``Origin`` and ``Sec-Fetch-Site`` when it sends
    them (``None``: the header is left out), and the custom header when the request has it."""
    # A connection per request: a refused request's body is never read, and a server that then closes the
    # connection could otherwise race the next request sent on it (a ConnectionError that is nobody's mistake).
    headers: dict[str, str] = {hdrs.HOST: LAB_HOST, hdrs.CONNECTION: "close"}
    if origin is not None:
        headers[hdrs.ORIGIN] = origin
    if site is not None:
        headers["Sec-Fetch-Site"] = site
    if custom:
        headers[browser.CSRF_HEADER] = "fetch"
    return {**headers, **more}


#: What ``fetch`` sends from the page's own origin in a current browser, custom header included.
FROM_THE_PAGE = browser_headers(OWN_ORIGIN, "same-origin", custom=True)


def _plain_function(answer: Any, name: str, call: str) -> CheckResult | None:
    if not callable(answer):
        return not_yet(f"expected the function {name}, got {type(answer).__name__}")
    if inspect.iscoroutinefunction(answer):
        return not_yet(f"write a plain `def {name}(…)`, not `async def`: the routes call {call} without await")
    return None


def _lab_bench() -> tuple[Settings, UserStore]:
    settings = fast_test_settings(jwt_secret=secrets.token_urlsafe(32), refresh_token_ttl=LAB_REFRESH_TTL)
    users = UserStore.from_settings(settings)
    users.create(ALICE["email"], ALICE["password"])
    return settings, users


# ------------------------------------------------------------------------------------------ the refresh cookie


def attribute_problem(morsel: Morsel[str], ttl: int) -> str | None:
    """What is wrong with the refresh cookie's attributes (RFC 6265bis §4.1.2), or ``None``."""
    samesite = str(morsel["samesite"]).lower()
    path = morsel["path"]
    max_age = morsel["max-age"]
    if not morsel["httponly"]:
        return (
            "it has no HttpOnly, so any script in the page can read the refresh token from document.cookie "
            "(RFC 6265bis §4.1.2.6): pass httponly=True"
        )
    if not morsel["secure"]:
        return (
            "it has no Secure: the refresh token may travel in clear text, and a browser ignores a __Secure- "
            "cookie set without it (RFC 6265bis §4.1.3.1): pass secure=True"
        )
    if samesite == "lax":
        return (
            "SameSite=Lax still sends it with cross-site top-level navigations, and only the page itself ever "
            "needs it: samesite='Strict'"
        )
    if samesite == "none":
        return "SameSite=None sends it with requests any other site starts (the CSRF twin's): samesite='Strict'"
    if samesite != "strict":
        return (
            "it has no SameSite: Chromium then treats it as Lax (and lets it ride on cross-site POSTs for two "
            "minutes after it is set), other browsers as None: samesite='Strict'"
        )
    if path != browser.AUTH_PREFIX:
        wide = ", which sends the refresh token with every request to the site" if path in ("", "/") else ""
        return (
            f"its Path is {path or '(none)'}{wide}; only the refresh and logout routes need it: "
            f"path=AUTH_PREFIX ({browser.AUTH_PREFIX!r})"
        )
    if morsel["domain"]:
        return (
            f"Domain={morsel['domain']} shares it with every subdomain (RFC 6265bis §4.1.2.3): leave domain out, "
            "and the cookie stays with this host"
        )
    if max_age == "" and morsel["expires"]:
        return (
            "it has Expires but no Max-Age: Expires is a date on the browser's clock, Max-Age a duration "
            "(RFC 6265bis §4.1.2.2): max_age=settings.refresh_token_ttl"
        )
    if max_age == "":
        return (
            "it has no Max-Age: a session cookie, dropped when the browser closes (or kept for ever by a browser "
            "that restores sessions), whatever the refresh token's lifetime: max_age=settings.refresh_token_ttl"
        )
    if max_age != str(ttl):
        return (
            f"Max-Age={max_age}, but a refresh token lives {ttl} s with the lab's settings: "
            "max_age=settings.refresh_token_ttl, from the settings the function is given"
        )
    return None


def sets_refresh_cookie(ttl: int, jar: BrowserJar, memory: dict[str, str]) -> Checker:
    """The check of a login or refresh answer: the access token in the body, never the refresh token, and the
    refresh cookie with every attribute; the jar keeps the cookie and the page keeps the access token."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        headers = set_cookie_headers(response)
        if not headers:
            return (
                "the answer has no Set-Cookie header: set_refresh_cookie must call response.set_cookie(…) on the "
                "response it is given"
            )
        cookies = [(read_set_cookie(header), header) for header in headers]
        unreadable = next((header for morsel, header in cookies if morsel is None), None)
        if unreadable is not None:
            return f"http.cookies cannot read the header Set-Cookie: {safe_repr(hidden_value(unreadable), 160)}"
        mine = [(morsel, header) for morsel, header in cookies if morsel and morsel.key == browser.REFRESH_COOKIE]
        if not mine:
            names = ", ".join(safe_repr(header.partition("=")[0]) for header in headers)
            return (
                f"the answer sets the cookie {names}, not {browser.REFRESH_COOKIE!r}: the cookie routes read "
                "REFRESH_COOKIE"
            )
        morsel, header = mine[-1]
        problem = attribute_problem(morsel, ttl)
        if problem is not None:
            return f"the refresh cookie {safe_repr(hidden_value(header), 200)}: {problem}"
        if not morsel.value:
            return "the refresh cookie is empty: store the refresh_token set_refresh_cookie is given"
        if morsel.value == jar.value(browser.REFRESH_COOKIE, browser.AUTH_PREFIX):
            return "the new refresh cookie holds the refresh token just spent: store the refresh_token it is given"
        body = json_body(response)
        if isinstance(body, dict) and isinstance(body.get("access_token"), str):
            memory["access_token"] = body["access_token"]
        jar.receive(response)
        return None

    return check


def clears_refresh_cookie(jar: BrowserJar) -> Checker:
    """The check of the logout's answer: it tells the browser to drop the very cookie it set."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        headers = set_cookie_headers(response)
        if not headers:
            return (
                "the answer has no Set-Cookie header, so the browser keeps the refresh cookie: "
                "clear_refresh_cookie must call response.del_cookie(…)"
            )
        cookies = [(read_set_cookie(header), header) for header in headers]
        mine = [(morsel, header) for morsel, header in cookies if morsel and morsel.key == browser.REFRESH_COOKIE]
        if not mine:
            names = ", ".join(safe_repr(header.partition("=")[0]) for header in headers)
            return f"the answer clears {names}, not the refresh cookie {browser.REFRESH_COOKIE!r}"
        morsel, header = mine[-1]
        said = safe_repr(hidden_value(header), 200)
        if not deletes(morsel):
            return (
                f"the answer sends {said}, a new cookie rather than a deletion: response.del_cookie(…) sends "
                "Max-Age=0"
            )
        if morsel["path"] != browser.AUTH_PREFIX:
            return (
                f"the answer deletes {said}: a browser deletes only the cookie of the same name and Path, and "
                f"keeps the one set with Path={browser.AUTH_PREFIX}: pass path=AUTH_PREFIX to del_cookie"
            )
        if morsel["domain"]:
            return f"the answer deletes {said}: the cookie was set without Domain, so this is another cookie"
        if not morsel["secure"]:
            return (
                f"the answer sends {said} without Secure: a browser ignores a __Secure- cookie that comes without "
                "it (RFC 6265bis §4.1.3.1), a deletion too, and keeps the refresh cookie: pass secure=True"
            )
        jar.receive(response)
        return None

    return check


def _no_cookie_sent(jar: BrowserJar, path: str) -> Checker:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        cookie = jar.cookie_header(path)
        return None if cookie is None else f"the browser sent the refresh cookie to {path} too"

    return check


VALUE_HINT = (
    "set_refresh_cookie(response, refresh_token, settings) stores refresh_token itself under REFRESH_COOKIE; "
    "the refresh route reads it back from there"
)


def refresh_cookie_steps(settings: Settings) -> list[Step]:
    """A browser's session: log in, refresh (the cookie goes back), call the API (it does not), log out."""
    jar, memory = BrowserJar(), dict[str, str]()
    ttl = settings.refresh_token_ttl
    auth = browser.AUTH_PREFIX

    def page(path: str) -> PageHeaders:
        return PageHeaders(jar, memory, path, FROM_THE_PAGE)

    return [
        Step("alice logs in from the page", "POST", f"{auth}/login", 200, headers=page(f"{auth}/login"),
             json=ALICE, check=sets_refresh_cookie(ttl, jar, memory)),
        Step("the page refreshes, the browser adds the cookie", "POST", f"{auth}/refresh", 200,
             headers=page(f"{auth}/refresh"), check=sets_refresh_cookie(ttl, jar, memory), hint=VALUE_HINT),
        Step("the page asks who is logged in with its access token", "GET", "/get-user", 200,
             headers=page("/get-user"), check=_no_cookie_sent(jar, "/get-user")),
        Step("the page logs out, the browser adds the cookie", "POST", f"{auth}/logout", 204,
             headers=page(f"{auth}/logout"), check=clears_refresh_cookie(jar)),
    ]  # fmt: skip


def _watched_cookie_function(answer: Callable[..., Any], name: str, lab: list[web.Application]) -> Any:
    """``answer`` with a look at what it returns: a response it built itself is not the one the route sends.
    ``lab`` holds the lab's app once it is built (the notes of the request go there)."""

    def watched(response: web.StreamResponse, *args: Any) -> None:
        result = answer(response, *args)
        if closed_coroutine(result):
            lab[0][_NOTES].append(f"{name} returned a coroutine: write a plain `def`, the route does not await it")
        elif isinstance(result, web.StreamResponse) and result is not response:
            lab[0][_NOTES].append(
                f"{name} returned a response of its own, which nobody sends: change the response it is given "
                "(response.set_cookie, response.del_cookie) and return nothing"
            )

    return watched


def refresh_cookie_lab(set_refresh_cookie: Any, clear_refresh_cookie: Any) -> CheckResult:
    """Check the learner's ``set_refresh_cookie`` and ``clear_refresh_cookie`` over HTTP.

    The app is built with them (``build_app(set_refresh_cookie=…, clear_refresh_cookie=…)``) and lab settings in
    which a refresh token lives ``LAB_REFRESH_TTL`` seconds. A browser's session must go through: the answers of
    ``/auth/login`` and ``/auth/refresh`` set ``REFRESH_COOKIE`` with ``HttpOnly``, ``Secure``,
    ``SameSite=Strict``, ``Path=/auth``, no ``Domain`` and ``Max-Age`` the token's lifetime, holding the token
    the refresh route then accepts; ``GET /get-user`` gets no cookie; ``/auth/logout`` deletes that very cookie.
    """
    for answer, name, call in (
        (set_refresh_cookie, "set_refresh_cookie", "set_refresh_cookie(response, refresh_token, settings)"),
        (clear_refresh_cookie, "clear_refresh_cookie", "clear_refresh_cookie(response)"),
    ):
        verdict = _plain_function(answer, name, call)
        if verdict is not None:
            return verdict
    settings, users = _lab_bench()
    lab: list[web.Application] = []
    try:
        app = build_app(
            settings,
            users,
            set_refresh_cookie=_watched_cookie_function(set_refresh_cookie, "set_refresh_cookie", lab),
            clear_refresh_cookie=_watched_cookie_function(clear_refresh_cookie, "clear_refresh_cookie", lab),
        )
    except Exception as error:
        return not_yet(f"building the app with your functions raised {describe_exception(error)}")
    lab.append(app)
    summary = (
        "the refresh cookie is HttpOnly, Secure, SameSite=Strict, Path=/auth, lives as long as its token, goes "
        "back to /auth/ only and is deleted at logout"
    )
    return run_lab(app, refresh_cookie_steps(settings), summary)


# ---------------------------------------------------------------------------------------------- the CSRF check


CROSS_SITE_HINT = (
    "a browser marks a request another site started: Sec-Fetch-Site other than 'same-origin', or an Origin that "
    "is not the page's own (own_origin(request)) nor in allowed_origins; raise json_error(web.HTTPForbidden, "
    "'csrf', …)"
)
CUSTOM_HEADER_HINT = (
    f"the page's fetch always adds {browser.CSRF_HEADER}; a form, a link or an image cannot: refuse a request "
    "without it, whatever its origin"
)
EXACT_HINT = (
    "an origin is a scheme, a host and a port, compared as a whole string: own_origin(request) == origin, or "
    "origin in allowed_origins - never startswith"
)


def csrf_steps() -> list[Step]:
    """The requests of the CSRF lab, all to ``POST /auth/logout``, the target of section 7's attacker page: 204
    when the check lets the request through (no cookie: nobody to log out), 403 ``csrf`` when it refuses it."""
    logout = f"{browser.AUTH_PREFIX}/logout"

    def allowed(description: str, headers: dict[str, str], hint: str) -> Step:
        return Step(description, "POST", logout, 204, headers=headers, hint=hint)

    def refused(description: str, headers: dict[str, str], hint: str, **body: Any) -> Step:
        return Step(description, "POST", logout, 403, "csrf", headers=headers, hint=hint, **body)

    return [
        allowed("the page's own origin, Sec-Fetch-Site: same-origin", FROM_THE_PAGE,
                "a request of the page itself must pass: return None when every check holds"),
        allowed("the page's own origin from a browser without Sec-Fetch-Site",
                browser_headers(OWN_ORIGIN, None, custom=True),
                "browsers older than Fetch Metadata send Origin only: then compare it with own_origin(request)"),
        allowed("the allowed origin http://www.lab.test, Sec-Fetch-Site: same-site",
                browser_headers(ALLOWED_ORIGIN, "same-site", custom=True),
                "an Origin in allowed_origins may use the cookie (the CORS allow-list): let it through"),
        refused("an attacker's form: cross-site, no custom header",
                browser_headers(ATTACKER_ORIGIN, "cross-site", custom=False), CROSS_SITE_HINT,
                data={"confirm": "1"}),
        refused("an attacker's script with the custom header: cross-site",
                browser_headers(ATTACKER_ORIGIN, "cross-site", custom=True),
                "the custom header alone proves nothing about where the request came from; " + CROSS_SITE_HINT),
        refused("the page's own origin without the custom header",
                browser_headers(OWN_ORIGIN, "same-origin", custom=False), CUSTOM_HEADER_HINT),
        refused("the allowed origin without the custom header",
                browser_headers(ALLOWED_ORIGIN, "same-site", custom=False),
                "an allowed origin still needs the custom header: " + CUSTOM_HEADER_HINT),
        refused("a sibling subdomain http://blog.lab.test, Sec-Fetch-Site: same-site",
                browser_headers(SIBLING_ORIGIN, "same-site", custom=True),
                "same-site is not same-origin: a subdomain someone else runs is same-site; only 'same-origin' (or "
                "an allowed Origin) may pass"),
        refused("a cross-site browser that sent no Origin", browser_headers(None, "cross-site", custom=True),
                "Sec-Fetch-Site: cross-site is enough to refuse, Origin or not"),
        refused("an attacker from a browser without Sec-Fetch-Site", browser_headers(ATTACKER_ORIGIN, None, True),
                "without Sec-Fetch-Site, Origin decides: " + CROSS_SITE_HINT),
        refused(f"the origin {LOOKALIKE_ORIGIN}, no Sec-Fetch-Site",
                browser_headers(LOOKALIKE_ORIGIN, None, custom=True), EXACT_HINT),
        refused("Origin: null (a sandboxed frame), no Sec-Fetch-Site", browser_headers("null", None, custom=True),
                "'null' is an Origin, and not the page's: refuse it like any other"),
    ]  # fmt: skip


def _watched_check(answer: Callable[..., Any]) -> Any:
    """``answer`` with a look at what it returns: an HTTP error or ``False`` returned refuses nothing."""

    def watched(request: web.Request, allowed_origins: Any) -> None:
        result = answer(request, allowed_origins)
        notes: list[str] = request.app[_NOTES]
        if closed_coroutine(result):
            notes.append("check_csrf returned a coroutine: write a plain `def`, the routes do not await it")
            raise web.HTTPInternalServerError()
        if getattr(result, "__http_exception__", False):
            notes.append(
                "check_csrf returned an HTTP error instead of raising it: write `raise json_error(…)`, not "
                "`return …`"
            )
            raise result
        if result is not None:
            notes.append(
                f"check_csrf returned {safe_repr(result, 60)}: nobody reads what it returns; refuse by raising "
                "json_error(web.HTTPForbidden, 'csrf', …) and return nothing when the request may go on"
            )
            raise web.HTTPInternalServerError()

    return watched


def csrf_check_lab(check_csrf: Any) -> CheckResult:
    """Check the learner's ``check_csrf(request, allowed_origins)`` over HTTP.

    The app is built with it (``build_app(check_csrf=…, cors_origins=[ALLOWED_ORIGIN])``) and every request of
    ``csrf_steps`` goes to ``POST /auth/logout``: the page's own origin (with and without ``Sec-Fetch-Site``) and
    the allowed origin pass with the custom header; cross-site and same-site requests, a missing custom header, a
    look-alike or ``null`` origin get 403 ``csrf``.
    """
    verdict = _plain_function(check_csrf, "check_csrf", "check_csrf(request, allowed_origins)")
    if verdict is not None:
        return verdict
    settings, users = _lab_bench()
    try:
        app = build_app(settings, users, check_csrf=_watched_check(check_csrf), cors_origins=[ALLOWED_ORIGIN])
    except Exception as error:
        return not_yet(f"building the app with your check raised {describe_exception(error)}")
    summary = (
        "the page's own origin and the allowed one pass with the custom header; other sites, sibling subdomains, "
        "look-alike and null origins and requests without the header get 403 csrf"
    )
    return run_lab(app, csrf_steps(), summary)


# ------------------------------------------------------------------------------- the labs' evidence (sections 7-8)

#: What a lab server saw of the cookie routes, one ``Seen`` per request, oldest first (``record_requests``).
SEEN: web.AppKey[list[Seen]] = web.AppKey("lab_seen", list)


@dataclass(frozen=True)
class Seen:
    """One request to a cookie route (``/auth/…``) and its answer, as the lab's recorder saw it."""

    method: str
    path: str
    own_origin: str
    origin: str | None
    site: str | None
    cookie: bool
    status: int

    @property
    def cross_site(self) -> bool:
        """Whether a browser said the request came from another origin (``Sec-Fetch-Site`` or ``Origin``)."""
        foreign_origin = self.origin is not None and self.origin != self.own_origin
        return foreign_origin or self.site not in (None, "same-origin")


def record_requests(app: web.Application) -> web.Application:
    """``app`` with a recorder of every request to its cookie routes (``SEEN``): the evidence ``csrf_lab`` reads.
    Call it before the app is served."""

    @web.middleware
    async def record(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if not request.path.startswith(browser.AUTH_PREFIX + "/"):
            return await handler(request)

        def seen(status: int) -> Seen:
            return Seen(
                request.method,
                request.path,
                browser.own_origin(request),
                request.headers.get(hdrs.ORIGIN),
                request.headers.get("Sec-Fetch-Site"),
                browser.REFRESH_COOKIE in request.cookies,
                status,
            )

        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as error:
            request.app[SEEN].append(seen(error.status))
            raise
        request.app[SEEN].append(seen(response.status))
        return response

    app[SEEN] = []
    app.middlewares.append(record)
    return app


def _app_of(served: Any) -> web.Application | None:
    app = getattr(served, "app", served)
    return app if isinstance(app, web.Application) else None


def csrf_lab(twin: Any, app: Any) -> CheckResult:
    """The CSRF lab's verdict, from what the twin and the app recorded (``record_requests``): the attacker's form
    must have logged the learner out of the twin (a cross-site ``POST /auth/logout`` with the cookie, 204) and been
    refused by the app (403 ``csrf``)."""
    twin_app, app_app = _app_of(twin), _app_of(app)
    if twin_app is None or app_app is None or SEEN not in twin_app or SEEN not in app_app:
        return not_yet("pass the twin's server and the app's server, each built with record_requests(…)")
    logout = f"{browser.AUTH_PREFIX}/logout"
    on_twin = [s for s in twin_app[SEEN] if s.method == "POST" and s.path.endswith(logout) and s.cross_site]
    on_app = [s for s in app_app[SEEN] if s.method == "POST" and s.path.endswith(logout) and s.cross_site]
    fell = [s for s in on_twin if s.cookie and s.status < 300]
    if not on_twin:
        return not_yet(
            "the twin has seen no request from another site yet: log in on the twin's page, then open the "
            "attacker's page against the twin in the same browser"
        )
    if not fell:
        return not_yet(
            "the attacker's form reached the twin without the refresh cookie: log in on the twin's page first, in "
            "the same browser (not a private window), then open the attacker's page again"
        )
    twin_said = (
        f"the attacker's page made your browser post to the twin's {logout} with your refresh cookie, and the "
        f"twin logged you out ({fell[0].status})"
    )
    held = [s for s in on_app if s.status == 403]
    if not held:
        if on_app:
            return not_yet(f"{twin_said}; but the app answered the same post with {on_app[-1].status}, not 403")
        return not_yet(f"{twin_said}. Now log in on the app's page and open the attacker's page against the app")
    sent = "even without the cookie, which SameSite=Strict kept back" if not held[0].cookie else "cookie and all"
    return passed(f"{twin_said}; the app refused the same post with 403 csrf, {sent}.")


def xss_lab(attacker: Any, settings: Settings) -> CheckResult:
    """The XSS lab's verdict, from what the attacker's collector received (``browser_twins.LOOT``): an access
    token that ``settings`` verifies, taken from the XSS twin's ``localStorage``; visits that brought nothing
    show an injection that ran and found no token."""
    from ..lab.browser_twins import LOOT  # the twins are lab material; only this verdict needs them
    from ..tokens import decode_access_token

    attacker_app = _app_of(attacker)
    loot = attacker_app.get(LOOT) if attacker_app is not None else None
    if loot is None:
        return not_yet("pass the attacker's server (create_attacker_app)")
    visits = list(loot)
    if not visits:
        return not_yet(
            "the attacker's server has received nothing yet: log in on the XSS twin's page, then open the "
            "attacker's link to the twin in the same browser"
        )
    stolen = []
    for visit in visits:
        try:
            stolen.append(decode_access_token(visit.get("token", ""), settings))
        except Exception:  # an empty or foreign token: nothing stolen on this visit
            continue
    empty = len(visits) - len(stolen)
    nothing = (
        f"; {empty} visit(s) brought nothing: the script ran, but found no token in memory's reach and an empty "
        "document.cookie (HttpOnly)"
        if empty
        else ""
    )
    if not stolen:
        return not_yet(
            f"the attacker's server was visited {len(visits)} time(s) and got no valid access token{nothing}. Log "
            "in on the XSS twin's page (the token goes to localStorage), then open the attacker's link again"
        )
    return passed(
        f"the twin fell: the attacker's server received the access token of user {stolen[0]['sub']} from the "
        f"twin's localStorage{nothing}. A page with the app's Content-Security-Policy never runs the script: it "
        "sends nothing at all."
    )
