"""The browser flow (notebook 08): the page at ``/app/``, the refresh token in a cookie, CSRF and CORS.

JSON clients keep notebook 07's flow (``/login``, ``/refresh``, ``/logout`` with the refresh token in the body).
A page in a browser uses the routes under ``AUTH_PREFIX`` instead: they run the same 07 logic but carry the
refresh token in an ``HttpOnly`` cookie that no script can read, scoped to ``AUTH_PREFIX`` so the browser sends
it to these routes only. Because a browser attaches a cookie to every request it makes to the cookie's site,
whoever made the request, each of these routes first runs the CSRF check. The design is in docs/design.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import aiohttp_cors
from aiohttp import hdrs, web

from .keys import BROWSER, SETTINGS, USERS
from .responses import json_error
from .routes import public_route
from .settings import Settings

#: Where the cookie-carrying routes live; the cookie's ``Path``, so the browser sends it nowhere else.
AUTH_PREFIX = "/auth"
#: The refresh cookie's name. ``__Secure-``: the browser keeps it only if it came with ``Secure`` from a
#: secure origin (RFC 6265bis §4.1.3.1). Not ``__Host-``, which demands ``Path=/`` and so would send the
#: refresh token with every request to the site.
REFRESH_COOKIE = "__Secure-refresh_token"
#: The custom header every cookie-carrying request must have. A page may add it only with ``fetch`` and, from
#: another origin, only after a CORS preflight the server answers; a form or an ``<img>`` never can.
CSRF_HEADER = "X-Requested-With"
#: The page's Content-Security-Policy: its own scripts, styles and API only; no inline script, no plug-in, no
#: ``<base>``, no form posts and no framing by other sites.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: The page's files (package data under ``tutorial_src/static/app/``) and their media types.
PAGE_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "app.css": "text/css",
}
#: The routes the page calls with a bearer token or nothing: another origin on the allow-list may call them
#: without credentials (no cookie goes with them).
BEARER_PATHS = ("/get-user", "/register")

#: ``set_refresh_cookie``'s shape: put the refresh token in the response's cookie.
SetCookie = Callable[[web.StreamResponse, str, Settings], None]
#: ``clear_refresh_cookie``'s shape: tell the browser to drop the cookie.
ClearCookie = Callable[[web.StreamResponse], None]
#: ``check_csrf``'s shape: return when the request may use the cookie, raise a 403 ``csrf`` otherwise.
CsrfCheck = Callable[[web.Request, Collection[str]], None]

# A proxy prefix the cookie's Path may carry: a path of plain segments, nothing that could end the attribute.
_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,=:@%-]+)+")


def set_refresh_cookie(response: web.StreamResponse, refresh_token: str, settings: Settings) -> None:
    """Put ``refresh_token`` in the refresh cookie of ``response``.

    ``HttpOnly``: no script reads it; ``Secure``: sent over HTTPS only (browsers count http://127.0.0.1 and
    http://localhost as secure); ``SameSite=Strict``: not sent with requests other sites start; ``Path``: sent
    to ``AUTH_PREFIX`` only; ``Max-Age``: it ends with the refresh token.
    """
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.refresh_token_ttl,
        path=AUTH_PREFIX,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def clear_refresh_cookie(response: web.StreamResponse) -> None:
    """Tell the browser to drop the refresh cookie (same name and Path, ``Secure`` as its prefix demands)."""
    response.del_cookie(REFRESH_COOKIE, path=AUTH_PREFIX, secure=True, httponly=True, samesite="Strict")


def own_origin(request: web.Request) -> str:
    """The origin the request was sent to, ``scheme://host[:port]``, as a browser writes it in ``Origin``."""
    return f"{request.scheme}://{request.host}"


def check_csrf(request: web.Request, allowed_origins: Collection[str]) -> None:
    """Refuse a request that another site made the browser send: 403 ``csrf`` unless all of these hold.

    - it carries ``CSRF_HEADER`` (no form, link or image can add a header; another origin's script only after
      a CORS preflight this server accepts);
    - it comes from this origin or an allowed one: the browser's ``Sec-Fetch-Site`` says ``same-origin``, or
      ``Origin`` is on ``allowed_origins``, or (a browser too old to send ``Sec-Fetch-Site``) ``Origin`` is this
      server's own. A request with neither header comes from no browser (curl, requests) and has no cookie
      it did not choose to send.
    """
    origin = request.headers.get(hdrs.ORIGIN)
    site = request.headers.get("Sec-Fetch-Site")
    allowed = origin is not None and origin in allowed_origins
    if not allowed and site is not None and site != "same-origin":
        raise json_error(web.HTTPForbidden, "csrf", f"a {site} request may not use the session cookie")
    if not allowed and site is None and origin is not None and origin != own_origin(request):
        raise json_error(web.HTTPForbidden, "csrf", "a request from another origin may not use the session cookie")
    if not request.headers.get(CSRF_HEADER):
        raise json_error(
            web.HTTPForbidden, "csrf", f"the {CSRF_HEADER} header is missing: send it with fetch from the page"
        )


@dataclass(frozen=True)
class BrowserConfig:
    """What ``setup_browser`` was given: the cookie and CSRF functions, the CORS allow-list, the page."""

    set_refresh_cookie: SetCookie = set_refresh_cookie
    clear_refresh_cookie: ClearCookie = clear_refresh_cookie
    check_csrf: CsrfCheck = check_csrf
    allowed_origins: frozenset[str] = frozenset()
    page: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    content_security_policy: str | None = CONTENT_SECURITY_POLICY


def page_files() -> dict[str, bytes]:
    """The page's files as shipped, ``{name: bytes}`` (``PAGE_FILES``)."""
    folder = resources.files("tutorial_src") / "static" / "app"
    return {name: folder.joinpath(name).read_bytes() for name in PAGE_FILES}


def forwarded_prefix(request: web.Request) -> str:
    """The path a proxy serves this app under (jupyter-server-proxy's ``X-Forwarded-Prefix``), or ``""``.

    The cookie's Path must include it or the browser would never send the cookie back through the proxy. A value
    that is not a plain path is ignored: it would otherwise be written into the ``Set-Cookie`` header.
    """
    prefix = request.headers.get("X-Forwarded-Prefix", "").rstrip("/")
    return prefix if _PREFIX.fullmatch(prefix) else ""


def _under_proxy_prefix(request: web.Request, response: web.StreamResponse) -> None:
    prefix = forwarded_prefix(request)
    morsel = response.cookies.get(REFRESH_COOKIE)
    if prefix and morsel is not None and morsel["path"].startswith("/"):
        morsel["path"] = prefix + morsel["path"]


# ------------------------------------------------------------------------------------------------ the page


@public_route
async def serve_page(request: web.Request) -> web.Response:
    """``GET /app/`` and ``GET /app/{name}``: the page's files, ``index.html`` with the Content-Security-Policy."""
    name = request.match_info.get("name", "index.html")
    config = request.app[BROWSER]
    if name not in PAGE_FILES:
        raise json_error(web.HTTPNotFound, "not_found", f"the page has no file {name!r}")
    headers = {
        hdrs.CACHE_CONTROL: "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if name == "index.html" and config.content_security_policy is not None:
        headers["Content-Security-Policy"] = config.content_security_policy
    return web.Response(body=config.page[name], content_type=PAGE_FILES[name], charset="utf-8", headers=headers)


@public_route
async def page_redirect(request: web.Request) -> web.Response:
    """``GET /app``: to ``/app/``, relative, so it works under a proxy's prefix too."""
    raise web.HTTPFound("app/")


# ------------------------------------------------------------------------------------------- the auth routes


def csrf_protected(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Run the app's CSRF check (``BrowserConfig.check_csrf``) before ``handler``."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        config = request.app[BROWSER]
        config.check_csrf(request, config.allowed_origins)
        return await handler(request)

    guarded.__name__ = guarded.__qualname__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return public_route(guarded)


def _json_handler(request: web.Request, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler the app serves at ``POST path``: notebook 07's, or the learner's version ``build_app`` got."""
    resource = next(r for r in request.app.router.resources() if r.canonical == path)
    return next(route.handler for route in resource if route.method == hdrs.METH_POST)


def _with_json_body(request: web.Request, body: Mapping[str, Any]) -> web.Request:
    """A copy of ``request`` whose body is ``body`` as JSON, for a 07 handler that reads its token there."""
    clone = request.clone(headers={**request.headers, hdrs.CONTENT_TYPE: "application/json"})
    # aiohttp serves a body it has read from this attribute; the cookie routes read none of their own.
    clone._read_bytes = json.dumps(body).encode()
    return clone


def _cookie_answer(request: web.Request, answer: web.StreamResponse) -> web.StreamResponse:
    """07's token answer with its refresh token moved from the JSON body into the refresh cookie."""
    if answer.status != 200 or not isinstance(answer, web.Response) or answer.text is None:
        return answer
    body = json.loads(answer.text)
    refresh_token = body.pop("refresh_token")
    response = web.json_response(body, headers={hdrs.CACHE_CONTROL: "no-store"})
    request.app[BROWSER].set_refresh_cookie(response, refresh_token, request.app[SETTINGS])
    _under_proxy_prefix(request, response)
    return response


def _cleared(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    request.app[BROWSER].clear_refresh_cookie(response)
    _under_proxy_prefix(request, response)
    return response


async def browser_login(request: web.Request) -> web.StreamResponse:
    """``POST /auth/login`` ``{email, password}`` → 200 ``{access_token, token_type, expires_in}`` + the cookie.

    The app's ``POST /login`` handler does the work; its refresh token goes into the cookie, not the body.
    """
    return _cookie_answer(request, await _json_handler(request, "/login")(request))


async def browser_refresh(request: web.Request) -> web.StreamResponse:
    """``POST /auth/refresh`` with the cookie → 200 ``{access_token, token_type, expires_in}`` + a new cookie.

    The app's ``POST /refresh`` handler does the work (rotation, reuse detection) on the cookie's token. A
    missing or refused token: 400 ``invalid_grant`` (RFC 6749 §5.2), and the dead cookie is cleared.
    """
    token = request.cookies.get(REFRESH_COOKIE)
    try:
        if not token:
            raise json_error(web.HTTPBadRequest, "invalid_grant", "no refresh cookie: log in first")
        answer = await _json_handler(request, "/refresh")(_with_json_body(request, {"refresh_token": token}))
    except web.HTTPException as error:
        if error.status == 400:
            _cleared(request, error)
        raise
    return _cookie_answer(request, answer)


async def browser_logout(request: web.Request) -> web.StreamResponse:
    """``POST /auth/logout`` with the cookie → 204: the cookie's session ends (its refresh and access tokens).

    The cookie alone is enough (the access token may have expired); an unknown or dead token is no error
    (RFC 7009 §2.2). The cookie is cleared either way.
    """
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        store = request.app[USERS]
        session = await store.session_of(token, now=time.time())
        if session is not None:
            await store.revoke_session(session.id)
    return _cleared(request, web.Response(status=204, headers={hdrs.CACHE_CONTROL: "no-store"}))


# ---------------------------------------------------------------------------------------------------- setup


def setup_browser(
    app: web.Application,
    *,
    set_refresh_cookie: SetCookie = set_refresh_cookie,
    clear_refresh_cookie: ClearCookie = clear_refresh_cookie,
    check_csrf: CsrfCheck = check_csrf,
    allowed_origins: Collection[str] = (),
    page: Mapping[str, bytes] | None = None,
    content_security_policy: str | None = CONTENT_SECURITY_POLICY,
) -> None:
    """The page's routes under ``/app/``, the cookie routes under ``AUTH_PREFIX`` and CORS for ``allowed_origins``.

    Call it after ``setup_routes`` (CORS is added to some of its routes). ``allowed_origins`` are exact origins
    (``http://127.0.0.1:8001``); empty, the browser lets no other origin call the API.
    """
    app[BROWSER] = BrowserConfig(
        set_refresh_cookie=set_refresh_cookie,
        clear_refresh_cookie=clear_refresh_cookie,
        check_csrf=check_csrf,
        allowed_origins=frozenset(allowed_origins),
        page=page if page is not None else page_files(),
        content_security_policy=content_security_policy,
    )
    router = app.router
    router.add_get("/app", page_redirect, allow_head=False)
    router.add_get("/app/", serve_page)
    router.add_get("/app/{name}", serve_page)
    auth_routes = [
        router.add_post(f"{AUTH_PREFIX}/login", csrf_protected(browser_login)),
        router.add_post(f"{AUTH_PREFIX}/refresh", csrf_protected(browser_refresh)),
        router.add_post(f"{AUTH_PREFIX}/logout", csrf_protected(browser_logout)),
    ]
    setup_cors(app, auth_routes, allowed_origins)


def setup_cors(
    app: web.Application, auth_routes: list[web.AbstractRoute], allowed_origins: Collection[str]
) -> None:
    """CORS with aiohttp-cors: the allowed origins may call the cookie routes with credentials (the cookie) and
    the bearer routes without; any other origin gets no CORS headers, so the browser keeps the answer from it.
    """
    if not allowed_origins:
        return  # no CORS at all: a preflight finds no OPTIONS route (405), and the browser refuses
    cors = aiohttp_cors.setup(app)
    # aiohttp-cors 0.8 annotates setup() but not ResourceOptions' constructor.
    with_cookie = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=True, allow_headers=(hdrs.CONTENT_TYPE, CSRF_HEADER), allow_methods=("POST",)
    )
    with_bearer = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False, allow_headers=(hdrs.CONTENT_TYPE, hdrs.AUTHORIZATION)
    )
    for route in auth_routes:
        cors.add(route, {origin: with_cookie for origin in allowed_origins})
    bearer_routes = [
        route
        for resource in app.router.resources()
        if resource.canonical in BEARER_PATHS
        for route in resource
        if route.method != hdrs.METH_HEAD
    ]
    for route in bearer_routes:
        cors.add(route, {origin: with_bearer for origin in allowed_origins})
    # aiohttp-cors answers preflights (OPTIONS) itself; they carry no credentials and run no handler of ours.
    for route in app.router.routes():
        if route.method == hdrs.METH_OPTIONS:
            public_route(route.handler)
