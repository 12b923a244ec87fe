"""The server a notebook starts runs that notebook's code: edit the central functions of notebooks 01, 02, 03, 06
and 08, run the notebook, and every answer of its server that depends on that function changes (and no other)."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_helpers import NOTEBOOK_DIR, code_cells

from authoring.lesson import output_text
from authoring.nbtools import CurrentEnvKernelManager
from authoring.student import BEGIN_SOLUTION, END_SOLUTION, EXERCISE_TAG

REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN_SOLUTION)}\n.*?^[ \t]*{re.escape(END_SOLUTION)}$", re.M | re.S
)


def edited(name: str, bodies: dict[str, str]) -> nbformat.NotebookNode:
    """Notebook ``name`` with the solution region of the exercise defining each function of ``bodies``
    replaced by that body (what a learner's edit does), run top to bottom."""
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    for function, body in bodies.items():
        [cell] = [
            c
            for c in code_cells(nb)
            if EXERCISE_TAG in c.metadata.get("tags", [])
            and re.search(rf"^(async )?def {function}\(", c.source, re.M)
        ]
        indented = "\n".join(f"    {line}" if line else "" for line in body.strip("\n").splitlines())
        # The region of that function: a cell may define several (signed_in_user, then login_required).
        definition = re.search(rf"^(async )?def {function}\(", cell.source, re.M)
        assert definition is not None
        start = definition.start()
        cell.source = cell.source[:start] + REGION.sub(
            indented.replace("\\", "\\\\"), cell.source[start:], count=1
        )
    NotebookClient(
        nb, timeout=300, allow_errors=True, kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    ).execute()  # fmt: skip
    return nb


def output_of(nb: nbformat.NotebookNode, marker: str) -> str:
    [cell] = [c for c in code_cells(nb) if marker in c.source]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    return output_text(cell)


@pytest.fixture(scope="module")
def shipped():
    return {
        name: nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        for name in (
            "01-login.ipynb",
            "02-middleware.ipynb",
            "03-decorator.ipynb",
            "06-cost.ipynb",
            "07-sessions.ipynb",
            "08-browser.ipynb",
        )
    }


CLOSED_LOGIN = """
raise json_error(web.HTTPUnauthorized, "login_disabled", "no logins today")
"""


def test_editing_login_changes_every_login_answer_of_notebook_01(shipped):
    nb = edited("01-login.ipynb", {"login": CLOSED_LOGIN})
    before = shipped["01-login.ipynb"]
    assert "❌ Not yet" in output_of(nb, "check.login_lab(login)")
    json_login = output_of(nb, 'print(response.headers.get("Cache-Control"))')
    assert json_login.splitlines()[0] == "401" and "login_disabled" in json_login
    assert output_of(before, 'print(response.headers.get("Cache-Control"))').startswith("200")
    assert output_of(nb, "form_response = requests.post(").startswith("401 application/x-www-form-urlencoded")
    assert output_of(nb, "show_token(token)").startswith("no access_token in the answer")
    credentials = output_of(nb, "def call_login(")
    assert "login_disabled" in credentials and "invalid_credentials" not in credentials
    assert "WWW-Authenticate   None" in credentials
    rows = {
        line[:18].strip(): line[18:].split()[:2] for line in output_of(nb, "bad_requests = [").splitlines()[1:9]
    }
    login_rows = [
        "missing field",
        "number field",
        "invalid JSON",
        "JSON array",
        "text/plain body",
        "body over 16 KiB",
    ]
    # A body no login can use is refused before login runs: the login guard (abuse.login_guard) reads the
    # credentials first, with read_credentials, which notebook 01 gives rather than asks for.
    before_rows = {
        line[:18].strip(): line[18:].split()[:2]
        for line in output_of(before, "bad_requests = [").splitlines()[1:9]
    }
    assert all(rows[label] == before_rows[label] != ["401", "login_disabled"] for label in login_rows), rows
    # The answers that never reach login stay too: the router's 405 and 404.
    assert rows["GET /login"] == ["405", "method_not_allowed"] and rows["unknown path"] == ["404", "not_found"]


OPEN_LOGIN_REQUIRED = """
_require_coroutine(handler, "login_required")
return handler
"""
SIGNED_IN_IS_ENOUGH = """
return login_required(handler)
"""


def test_editing_the_decorators_changes_every_guarded_answer_of_notebook_03(shipped):
    nb = edited(
        "03-decorator.ipynb", {"login_required": OPEN_LOGIN_REQUIRED, "admin_required": SIGNED_IN_IS_ENOUGH}
    )
    assert "❌ Not yet" in output_of(nb, "check.login_required_lab(login_required)")
    assert "❌ Not yet" in output_of(nb, "check.admin_required_lab(admin_required)")
    answers = {
        tuple(line.split()[:3]): line.split()[4]
        for line in output_of(nb, "def token_for(").splitlines()
        if " -> " in line
    }
    shipped_answers = {
        tuple(line.split()[:3]): line.split()[4]
        for line in output_of(shipped["03-decorator.ipynb"], "def token_for(").splitlines()
        if " -> " in line
    }
    assert shipped_answers == {
        ("anonymous", "GET", "/profile"): "401",
        ("anonymous", "GET", "/get-user"): "401",
        ("alice", "GET", "/profile"): "200",
        ("alice", "GET", "/get-user"): "200",
        ("anonymous", "GET", "/admin/users"): "401",
        ("alice", "GET", "/admin/users"): "403",
        ("admin", "GET", "/admin/users"): "200",
    }
    # Strangers reach the handlers (which crash on a missing user, or list every user); alice becomes an admin.
    assert answers == {
        ("anonymous", "GET", "/profile"): "500",
        ("anonymous", "GET", "/get-user"): "500",
        ("alice", "GET", "/profile"): "200",
        ("alice", "GET", "/get-user"): "200",
        ("anonymous", "GET", "/admin/users"): "200",
        ("alice", "GET", "/admin/users"): "200",
        ("admin", "GET", "/admin/users"): "200",
    }
    situations = output_of(nb, "situations = [")
    assert "no token                     -> 200 OK" in situations
    assert "a valid token, not an admin  -> 200 OK" in situations
    # A route whose guard lets strangers in serves a stale token as a stranger (abuse.ignore_stale_credentials).
    assert "an expired token             -> 200 OK" in situations


EVERYONE_ANONYMOUS = """
request[CURRENT_USER] = None
return await handler(request)
"""
# Never refuses: reads the claims without verifying them and believes them.
BELIEVES_EVERY_TOKEN = """
header = request.headers.get("Authorization", "")
try:
    claims = jwt.decode(header.split()[-1], options={"verify_signature": False})
    user = request.app[USERS].get_by_id(int(claims["sub"]))
except (jwt.InvalidTokenError, ValueError, IndexError, KeyError):
    user = None
request[CURRENT_USER] = user
return await handler(request)
"""


def attempt_rows(nb: nbformat.NotebookNode) -> dict[str, list[str]]:
    """The table of section 6: attempt -> [status, error, challenge error, message]."""
    [cell] = [c for c in code_cells(nb) if "from IPython.display import Markdown" in c.source]
    assert not [o for o in cell.outputs if o.output_type == "error"]
    [table] = [o.data["text/markdown"] for o in cell.outputs if "text/markdown" in o.get("data", {})]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {row[0].strip(): [part.strip() for part in row[1:]] for row in rows}


def test_editing_the_middleware_changes_every_answer_of_notebook_02_that_depends_on_it(shipped):
    before = shipped["02-middleware.ipynb"]
    shipped_rows = attempt_rows(before)
    signed_in = "signed_in = requests.get("
    assert "with alice's token: 200" in output_of(before, signed_in)

    anonymous = edited("02-middleware.ipynb", {"auth_middleware": EVERYONE_ANONYMOUS})
    assert "❌ Not yet" in output_of(anonymous, "check.auth_middleware_lab(auth_middleware)")
    answers = output_of(anonymous, signed_in)
    # The request without a token gets the same answer (login_required's); alice is a stranger now.
    assert answers.splitlines()[0] == output_of(before, signed_in).splitlines()[0]
    assert "with alice's token: 401 {'error': 'authentication_required'" in answers
    rows = attempt_rows(anonymous)
    assert rows.keys() == shipped_rows.keys() and len(rows) == 8
    for attempt, row in rows.items():
        # Every attempt is now a stranger turned away by login_required, not refused by the middleware.
        assert row[:3] == ["401", "`authentication_required`", "none (bare)"], (attempt, row)
        assert row[3].startswith("this route needs an access token"), (attempt, row)
        assert row != shipped_rows[attempt], attempt

    believing = edited("02-middleware.ipynb", {"auth_middleware": BELIEVES_EVERY_TOKEN})
    assert "❌ Not yet" in output_of(believing, "check.auth_middleware_lab(auth_middleware)")
    assert "with alice's token: 200" in output_of(believing, signed_in)
    rows = attempt_rows(believing)
    for attempt, row in rows.items():
        assert row != shipped_rows[attempt], attempt
    # The forged tokens get in; the tampered one, whose payload names user 2, as the admin.
    for attempt in ("signed with another secret", "expired (issued 1 h ago)", "alg: none, no signature",
                    "raw token, no scheme (2016)"):  # fmt: skip
        assert rows[attempt][0] == "200" and "alice@example.com" in rows[attempt][3], (attempt, rows[attempt])
    assert rows["tampered payload (sub 1 -> 2)"][0] == "200"
    assert "admin@example.com" in rows["tampered payload (sub 1 -> 2)"][3]
    # What it cannot read goes on as a stranger: login_required's 401 instead of the middleware's refusal.
    for attempt in ("user deleted after login", "another scheme (Basic)", "Bearer alone"):
        assert rows[attempt][:2] == ["401", "`authentication_required`"], (attempt, rows[attempt])


NO_CACHE = """
return auth_middleware
"""
# Remembers the User object of a hit instead of finding the user again: a deleted user stays signed in.
KEEPS_THE_USER = """
users_seen = {}

@web.middleware
async def cached_auth_middleware(request, handler):
    cache, settings = request.app[TOKEN_CACHE], request.app[SETTINGS]
    token = cached_token(request, cache)
    if token in users_seen and cache.get(token, settings) is not None:
        request[CURRENT_USER] = users_seen[token]
        return await handler(request)

    async def remember_then_handle(request):
        if token is not None and request.get(CURRENT_USER) is not None:
            remember(cache, token, settings)
            users_seen[token] = request[CURRENT_USER]
        return await handler(request)

    return await auth_middleware(request, remember_then_handle)

return cached_auth_middleware
"""


def test_editing_the_cache_layer_changes_every_answer_of_notebook_06_that_depends_on_it(shipped):
    before = shipped["06-cost.ipynb"]
    hits, deleted = "for attempt in (1, 2):", "users.delete(alice.id)"
    assert output_of(before, hits).splitlines()[:2] == [
        "request 1: 200 alice@example.com, cached tokens: 1",
        "request 2: 200 alice@example.com, cached tokens: 1",
    ]
    assert output_of(before, deleted).startswith("401 {'error': 'invalid_token'")

    uncached = edited("06-cost.ipynb", {"with_token_cache": NO_CACHE})
    assert "❌ Not yet" in output_of(uncached, "check.token_cache_lab(with_token_cache)")
    # The same answers, but nothing is remembered: every request pays for the full check.
    assert output_of(uncached, hits).splitlines()[:2] == [
        "request 1: 200 alice@example.com, cached tokens: 0",
        "request 2: 200 alice@example.com, cached tokens: 0",
    ]

    stale = edited("06-cost.ipynb", {"with_token_cache": KEEPS_THE_USER})
    assert "❌ Not yet" in output_of(stale, "check.token_cache_lab(with_token_cache)")
    assert output_of(stale, hits) == output_of(before, hits)
    # Alice was deleted, and her cached token still gets her in.
    assert output_of(stale, deleted).startswith("200 {'user': 'User id=1: <alice@example.com")


NO_REUSE_DETECTION = """
token = await read_refresh_token(request)
settings, store = request.app[SETTINGS], request.app[USERS]
used = await store.use_refresh_token(
    token, now=time.time(), grace=settings.refresh_grace, token_ttl=settings.refresh_token_ttl
)
if used is None or used.reused or used.successor is None:
    raise invalid_grant("log in again")
user = store.get_by_id(used.session.user_id)
access_token = create_access_token(user, settings, session_id=used.session.id)
return token_response(access_token, used.successor, settings.access_token_ttl)
"""
LOGOUT_THAT_ENDS_NOTHING = """
return web.Response(status=204)
"""


def lines_of(nb, marker: str) -> dict[str, str]:
    """``{label: answer}`` of the lines ``label: answer`` a cell printed."""
    return {
        label.strip(): answer.strip()
        for label, _, answer in (line.partition(": ") for line in output_of(nb, marker).splitlines())
    }


def test_editing_refresh_and_logout_changes_every_answer_of_notebook_07_that_depends_on_them(shipped):
    before = shipped["07-sessions.ipynb"]
    replay, logout, demo = "time.sleep(settings.refresh_grace", "laptop, phone = post(", "as a, \\"
    assert lines_of(before, replay)["the newest refresh token"].startswith("400 {'error': 'invalid_grant'")
    assert lines_of(before, replay)["the newest access token"].startswith("401 {'error': 'invalid_token'")
    assert lines_of(before, logout)["the laptop's access token"].startswith("401 {'error': 'invalid_token'")
    assert lines_of(before, logout)["the laptop's refresh"].startswith("400 {'error': 'invalid_grant'")

    nb = edited("07-sessions.ipynb", {"refresh": NO_REUSE_DETECTION, "logout": LOGOUT_THAT_ENDS_NOTHING})
    assert "❌ Not yet" in output_of(nb, "check.refresh_lab(refresh)")
    assert "❌ Not yet" in output_of(nb, "check.logout_lab(logout)")
    assert "✅ Well done" in output_of(nb, "check.consume_lab(consume_refresh_token)")
    # A replay is refused, but its family lives on: the thief's copy failed, the owner's tokens still work.
    edited_replay = lines_of(nb, replay)
    assert edited_replay["R1 replayed after the grace"].startswith("400 {'error': 'invalid_grant'")
    assert edited_replay["the newest refresh token"].startswith("200 {'access_token'")
    assert edited_replay["the newest access token"].startswith("200 {'user'")
    # Logging out ended nothing: the laptop's tokens keep working.
    assert lines_of(nb, logout)["the laptop's access token"].startswith("200 {'user'")
    assert lines_of(nb, logout)["the laptop's refresh"].startswith("200 {'access_token'")
    # What does not depend on them stays: sign-up, and the two servers of section 8 (the package's handlers).
    assert output_of(nb, "for what, password in") == output_of(before, "for what, password in")
    assert output_of(nb, demo) == output_of(before, demo)


LAX_COOKIE = """
response.set_cookie(
    REFRESH_COOKIE, refresh_token, max_age=60, path="/", secure=True, httponly=True, samesite="Lax"
)
"""
NO_CSRF_CHECK = """
return None
"""


def test_editing_the_cookie_and_the_csrf_check_changes_the_answers_of_notebook_08(shipped):
    before = shipped["08-browser.ipynb"]
    login, refresh = "login = requests.post(", "for who, headers in ["
    assert output_of(before, login).splitlines()[1].endswith("Max-Age=86400; Path=/auth; SameSite=Strict; Secure")
    assert [line.split(" -> ")[1][:8] for line in output_of(before, refresh).splitlines()] == [
        "403 csrf",
        "403 csrf",
        "200  a n",
    ]

    nb = edited("08-browser.ipynb", {"set_refresh_cookie": LAX_COOKIE, "check_csrf": NO_CSRF_CHECK})
    assert "❌ Not yet" in output_of(nb, "check.refresh_cookie_lab(set_refresh_cookie, clear_refresh_cookie)")
    assert "❌ Not yet" in output_of(nb, "check.csrf_check_lab(check_csrf)")
    # The page's cookie is the edited one, and every request may now use it, another site's form included (the
    # two after it present the token it just spent, within notebook 07's grace: the same successor again).
    assert output_of(nb, login).splitlines()[1].endswith("Max-Age=60; Path=/; SameSite=Lax; Secure")
    assert [line.split(" -> ")[1][:3] for line in output_of(nb, refresh).splitlines()] == ["200", "200", "200"]
