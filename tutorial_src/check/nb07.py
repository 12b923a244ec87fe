"""Checkers for the exercises of notebook 07 (sessions that end), each a lab on a SQLite file of its own.

- ``consume_lab(consume_refresh_token)``: the learner's one statement that spends a refresh token, run by
  ``SQLiteStore(…, consume=…)`` behind the package's handlers;
- ``refresh_lab(refresh)``: the learner's ``POST /refresh`` handler;
- ``logout_lab(logout)``: the learner's ``POST /logout`` handler.

The first two fire 20 concurrent refreshes of one token (at most one new refresh token may come back) and replay
a spent token once its grace is over (its whole family must end: refresh and access tokens). The lab moves time
by editing its own database (a spent token's ``used_at`` set an hour back; an expired token inserted), never by
sleeping. Every verdict names the request, what came back and what was expected; nothing here raises.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jwt
import requests
from aiohttp import web

from ..app import build_app
from ..models import User
from ..settings import fast_test_settings
from ..sqlite_store import Consume, SQLiteStore
from ..store import hash_refresh_token, new_refresh_token
from ..tokens import ACCESS_TOKEN_TYPE, create_access_token, decode_access_token
from ._core import CheckResult, describe_exception, exception_message, not_yet, safe_repr
from ._lab import _NOTES, REQUEST_TIMEOUT, Step, json_body, no_store, require_async_handler, run_lab

__all__ = ["CONCURRENT_REFRESHES", "consume_lab", "logout_lab", "refresh_lab"]

#: How many refreshes of one token the labs send at once.
CONCURRENT_REFRESHES = 20
_PASSWORD = "a long lab passphrase that nobody guesses"
Check = Callable[[requests.Response, Mapping[str, requests.Response]], "str | None"]


class _SessionBench:
    """The lab's database file, settings and what the answers handed out so far (tokens by session name).

    The settings are the lab's own (secret, issuer, audience, realm, a 10-minute access token), so an answer that
    uses the notebook's settings instead of ``request.app[SETTINGS]`` shows.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="jwt-tutorial-lab-07-"))
        self.path = self.directory / "lab.sqlite3"
        self.settings = fast_test_settings(
            jwt_secret=secrets.token_urlsafe(32), issuer="sessions-lab", audience="sessions-lab-api",
            realm="sessions-lab", access_token_ttl=600,
            # The lab tests no stale denylist: a loaded machine that delays a poll must not turn answers into 503.
            revocation_max_delay=30.0,
        )  # fmt: skip
        #: Session name ("alice-laptop") -> the JSON body of the answer that opened or last refreshed it.
        self.pairs: dict[str, dict[str, Any]] = {}
        #: Session name -> the refresh token its login handed out (the one the lab replays later).
        self.first: dict[str, str] = {}
        #: Session name -> the sid of its login's access token.
        self.sids: dict[str, str] = {}
        self.users: dict[str, int] = {}
        self.base = ""
        self.burst: list[tuple[int, Any]] = []

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    # What the steps send, filled in just before each request (``Step.before``): tokens come from earlier answers.

    def refresh_token(self, name: str) -> str:
        return str(self.pairs.get(name, {}).get("refresh_token", ""))

    def access_token(self, name: str) -> str:
        return str(self.pairs.get(name, {}).get("access_token", ""))

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of an access token of the lab's app, verified (without the app's denylist)."""
        return decode_access_token(token, self.settings)

    # The lab's own changes to its database, as another part of the system would make them.

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> None:
        with contextlib.closing(sqlite3.connect(self.path, timeout=REQUEST_TIMEOUT)) as db, db:
            db.execute(sql, parameters)

    def age(self, name: str) -> Callable[[], None]:
        """Move the spending of ``name``'s first refresh token an hour back: its grace is over."""

        def before() -> None:
            self._write(
                "UPDATE refresh_tokens SET used_at = used_at - 3600 WHERE token_hash = ?",
                (hash_refresh_token(self.first.get(name, "")),),
            )

        return before

    def expired(self, name: str) -> str:
        """Put an already expired refresh token into ``name``'s session; the token."""
        token = new_refresh_token()
        now = time.time()
        self._write(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            (hash_refresh_token(token), self.sids.get(name, ""), now - 7200, now - 3600),
        )
        return token

    def fire(self, token_of: Callable[[], str]) -> Callable[[], None]:
        """Send ``CONCURRENT_REFRESHES`` refreshes of one token at once, each on a connection opened beforehand."""

        def before() -> None:
            token, self.burst = token_of(), []
            sessions = [requests.Session() for _ in range(CONCURRENT_REFRESHES)]
            start = threading.Barrier(CONCURRENT_REFRESHES)
            lock = threading.Lock()

            def one(http: requests.Session) -> None:
                try:
                    http.get(self.base + "/", timeout=REQUEST_TIMEOUT)  # the connection, opened before the race
                    start.wait(REQUEST_TIMEOUT)
                    answer = http.post(
                        self.base + "/refresh", json={"refresh_token": token}, timeout=REQUEST_TIMEOUT
                    )
                    result: tuple[int, Any] = (answer.status_code, json_body(answer))
                except (requests.RequestException, threading.BrokenBarrierError) as error:
                    result = (0, type(error).__name__)
                with lock:
                    self.burst.append(result)

            threads = [threading.Thread(target=one, args=(http,)) for http in sessions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for http in sessions:
                http.close()

        return before


def _fill(body: dict[str, Any], **values: Callable[[], Any]) -> Callable[[], None]:
    """A ``before`` that puts each value (computed now, from earlier answers) into ``body``, sent next."""

    def before() -> None:
        body.clear()
        body.update({key: value() for key, value in values.items()})

    return before


def _then(*befores: Callable[[], None]) -> Callable[[], None]:
    def before() -> None:
        for step in befores:
            step()

    return before


def _bearer(bench: _SessionBench, name: str) -> tuple[dict[str, str], Callable[[], None]]:
    """Headers carrying ``name``'s access token, and the ``before`` that fills them in."""
    headers: dict[str, str] = {}

    def before() -> None:
        headers["Authorization"] = f"Bearer {bench.access_token(name)}"

    return headers, before


# The checks of the answers.


def _pair_problem(bench: _SessionBench, body: Any, user: str) -> str | None:
    """What is wrong with a token answer (RFC 6749 §5.1) for ``user``, or ``None``."""
    if not isinstance(body, dict):
        return f"the body is {safe_repr(body, 80)}, expected a JSON object"
    missing = [key for key in ("access_token", "token_type", "expires_in", "refresh_token") if key not in body]
    if missing:
        return f"the answer has no {', '.join(missing)} (it has {', '.join(sorted(body)) or 'nothing'})"
    if not isinstance(body["token_type"], str) or body["token_type"].lower() != "bearer":
        return f"token_type is {safe_repr(body['token_type'])}, expected 'Bearer' (RFC 6750 §4)"
    if body["expires_in"] != bench.settings.access_token_ttl or isinstance(body["expires_in"], bool):
        return (
            f"expires_in is {safe_repr(body['expires_in'])}, expected {bench.settings.access_token_ttl}: the "
            "lifetime of the app's settings (request.app[SETTINGS].access_token_ttl), a number of seconds"
        )
    if not isinstance(body["refresh_token"], str) or not body["refresh_token"]:
        return f"refresh_token is {safe_repr(body['refresh_token'])}, expected a new refresh token (a string)"
    try:
        header = jwt.get_unverified_header(str(body["access_token"]))
        claims = bench.claims(str(body["access_token"]))
    except (jwt.InvalidTokenError, ValueError) as error:
        return (
            f"the access token does not verify with the app's settings ({exception_message(error)}): sign it "
            "with create_access_token(user, request.app[SETTINGS], …)"
        )
    if header.get("typ") != ACCESS_TOKEN_TYPE:
        return f"the access token's typ is {safe_repr(header.get('typ'))}, expected 'at+jwt' (RFC 9068 §2.1)"
    if claims.get("sub") != str(bench.users.get(user)):
        return f"the access token is for user {safe_repr(claims.get('sub'))}, expected {user}'s"
    return None


def _keeps(bench: _SessionBench, name: str, user: str) -> Check:
    """The check of a login: a token pair for ``user``; remembered as session ``name``."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        bench.base = response.url.rsplit("/", 1)[0]
        body = json_body(response)
        problem = _pair_problem(bench, body, user)
        if problem is not None:
            return f"the login answered wrongly: {problem}"
        bench.pairs[name] = body
        bench.first[name] = body["refresh_token"]
        bench.sids[name] = str(bench.claims(body["access_token"]).get("sid"))
        return None

    return check


def _rotated(bench: _SessionBench, name: str, user: str, *, same_as_before: bool = False) -> Check:
    """The check of a refresh of session ``name``: a new pair in the same session; with ``same_as_before``, the
    same successor as the refresh before (a second tab within the grace). Remembered as ``name``'s newest."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        problem = _pair_problem(bench, body, user)
        if problem is not None:
            return problem
        sent, newest = bench.first.get(name), bench.refresh_token(name)
        if body["refresh_token"] == sent or (not same_as_before and body["refresh_token"] == newest):
            return (
                "the refresh token that came back is the one sent: rotation hands out a new one every time and "
                "the old one is spent (RFC 9700 §4.14.2)"
            )
        if same_as_before and body["refresh_token"] != newest:
            return (
                "the same refresh token sent again at once (a second tab, a lost answer) got a different new "
                "refresh token: it was spent twice, and the session now has two live branches"
            )
        sid = bench.claims(body["access_token"]).get("sid")
        if sid != bench.sids.get(name):
            return (
                f"the new access token's sid is {safe_repr(sid)}, not the session's: a refresh continues the "
                "session of the login (its family and its absolute end); it never starts a new one"
            )
        bench.pairs[name] = body
        return None

    return check


def _nothing_in(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
    return None if not response.content else f"got a body {safe_repr(response.text, 80)}, expected none (204)"


def _one_successor(bench: _SessionBench, name: str, user: str) -> Check:
    """The check after the concurrent refreshes: at most one new refresh token among all the answers."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        crashed = [status for status, _ in bench.burst if status == 0 or status >= 500]
        if crashed:
            return (
                f"{len(crashed)} of the {CONCURRENT_REFRESHES} refreshes sent at once got no answer or a "
                f"{max(crashed)}: each must get 200 or 400 invalid_grant"
            )
        granted = [body for status, body in bench.burst if status == 200]
        new = {str(body.get("refresh_token")) for body in granted if isinstance(body, dict)}
        if len(new) > 1:
            return (
                f"{CONCURRENT_REFRESHES} refreshes of one token sent at once got {len(granted)} answers 200 with "
                f"{len(new)} different new refresh tokens, expected at most one: the token was spent more than "
                "once, so the session forked. Each request read the row before any of them wrote it"
            )
        if not new:
            return f"none of the {CONCURRENT_REFRESHES} refreshes sent at once got 200: exactly one must win"
        body = json_body(response)
        if not isinstance(body, dict) or body.get("refresh_token") not in new:
            return "one more refresh with the same token, within the grace, got another new refresh token"
        bench.pairs[name] = body
        return None

    return check


# The batteries.

_CONSUME_HINTS = {
    "spend": (
        "the statement spends the token: UPDATE refresh_tokens SET used_at = :now WHERE token_hash = :token_hash "
        "AND used_at IS NULL AND expires_at > :now RETURNING session_id; return the session id or None"
    ),
    "twice": (
        "the WHERE clause decides who spends the token: only a row with used_at IS NULL may be updated, and "
        "used_at must be the time now (the grace and reuse detection read it)"
    ),
    "expired": "a refresh token past its expires_at is not spent: AND expires_at > :now in the WHERE clause",
    "reuse": (
        "a token spent an hour ago is not spent again: the store then sees used_at, long past the grace, and ends "
        "the whole session - but only if the statement left used_at as it was (WHERE … AND used_at IS NULL)"
    ),
    "grant": (
        "an unknown token must match no row: the WHERE clause names the token (token_hash = :token_hash), the "
        "statement returns None, and the store answers invalid_grant"
    ),
    "fields": "the handler refuses such a body before the statement runs",
    "race": (
        "a SELECT, then an UPDATE, with an await between, lets every concurrent request see used_at IS NULL; "
        "one UPDATE … WHERE used_at IS NULL … RETURNING lets the database decide: exactly one row comes back"
    ),
}
_REFRESH_HINTS = {
    "spend": (
        "used = await store.use_refresh_token(token, now=time.time(), grace=…, token_ttl=…); answer "
        "token_response(create_access_token(user, settings, session_id=used.session.id), used.successor, …)"
    ),
    "twice": "answer the successor the store hands out (used.successor); never start a new session on a refresh",
    "reuse": (
        "used.reused means a copy of a spent token came back (RFC 9700 §4.14.2): await "
        "store.revoke_session(used.session.id) - the whole family, access tokens too - then raise invalid_grant"
    ),
    "grant": (
        "every bad refresh token is 400 invalid_grant (RFC 6749 §5.2), not 401: raise invalid_grant(…); 401 "
        "would tell the client to refresh again"
    ),
    "fields": "read_refresh_token(request) answers 400 invalid_request for a body without a string refresh_token",
    "expired": "use_refresh_token answers None for an expired token: raise invalid_grant(…)",
    "race": (
        "the store spends the token in one statement; the handler must hand out only what use_refresh_token "
        "returned, never a refresh token of its own"
    ),
}


def _register(bench: _SessionBench, user: str, email: str) -> Step:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            return f"POST /register answered {safe_repr(body, 80)}"
        bench.users[user] = body["id"]
        return None

    return Step(f"{user} signs up", "POST", "/register", 201, json={"email": email, "password": _PASSWORD},
                check=check)  # fmt: skip


def _login(bench: _SessionBench, name: str, user: str, email: str, hint: str | None = None) -> Step:
    return Step(
        f"{user} logs in ({name})", "POST", "/login", 200, json={"email": email, "password": _PASSWORD},
        check=_keeps(bench, name, user), hint=hint,
    )  # fmt: skip


def _refresh(
    description: str,
    token_of: Callable[[], str],
    status: int,
    *,
    check: Check | None = None,
    hint: str | None = None,
    before: Callable[[], None] | None = None,
    headers: tuple[Any, ...] = (),
) -> Step:
    body: dict[str, Any] = {}
    fill = _fill(body, refresh_token=token_of)
    return Step(
        description, "POST", "/refresh", status, "invalid_grant" if status == 400 else None, json=body,
        expect_headers=headers, check=check, hint=hint, before=fill if before is None else _then(before, fill),
    )  # fmt: skip


def _get_user(bench: _SessionBench, description: str, name: str, status: int, hint: str) -> Step:
    headers, before = _bearer(bench, name)
    return Step(description, "GET", "/get-user", status, "invalid_token" if status == 401 else None,
                headers=headers, before=before, hint=hint)  # fmt: skip


def refresh_steps(bench: _SessionBench, hints: Mapping[str, str]) -> list[Step]:
    """Rotation, a second tab within the grace, reuse after it (the family ends), bad tokens, and 20 refreshes
    of one token at once."""
    alice, bob = "alice@example.com", "bob@example.com"
    first = {"alice-laptop": lambda: bench.first.get("alice-laptop", "")}
    bad = "not-a-refresh-token-" + "x" * 24
    return [
        _register(bench, "alice", alice),
        _register(bench, "bob", bob),
        _login(bench, "alice-laptop", "alice", alice),
        _refresh("alice's refresh token", first["alice-laptop"], 200, headers=(no_store(),),
                 check=_rotated(bench, "alice-laptop", "alice"), hint=hints["spend"]),
        _get_user(bench, "the new access token", "alice-laptop", 200, hints["spend"]),
        _refresh("an unknown refresh token", lambda: bad, 400, hint=hints["grant"]),
        _refresh("an access token sent as a refresh token", lambda: bench.access_token("alice-laptop"), 400,
                 hint=hints["grant"] + " (RFC 8725 §3.12: one kind of token never passes as the other)"),
        _refresh("the same refresh token again at once (a second tab, within the grace)", first["alice-laptop"],
                 200, check=_rotated(bench, "alice-laptop", "alice", same_as_before=True), hint=hints["twice"]),
        _refresh("the new refresh token", lambda: bench.refresh_token("alice-laptop"), 200,
                 headers=(no_store(),), check=_rotated(bench, "alice-laptop", "alice"), hint=hints["twice"]),
        _refresh("alice's first refresh token replayed an hour after it was spent", first["alice-laptop"], 400,
                 before=bench.age("alice-laptop"), hint=hints["reuse"]),
        _refresh("the newest refresh token of that session, after the replay", lambda: bench.refresh_token(
                 "alice-laptop"), 400, hint=hints["reuse"]),
        _get_user(bench, "the newest access token of that session, after the replay", "alice-laptop", 401,
                  hints["reuse"]),
        _login(bench, "alice-phone", "alice", alice),
        _refresh("an expired refresh token", lambda: bench.expired("alice-phone"), 400, hint=hints["expired"]),
        Step("a body without refresh_token", "POST", "/refresh", 400, "invalid_request", json={},
             hint=hints["fields"]),
        Step("a refresh_token that is a number", "POST", "/refresh", 400, "invalid_request",
             json={"refresh_token": 42}, hint=hints["fields"]),
        _login(bench, "bob-laptop", "bob", bob),
        _refresh(f"{CONCURRENT_REFRESHES} refreshes of bob's refresh token at once, then one more",
                 lambda: bench.first.get("bob-laptop", ""), 200, before=bench.fire(lambda: bench.first.get(
                 "bob-laptop", "")), check=_one_successor(bench, "bob-laptop", "bob"), hint=hints["race"]),
        _get_user(bench, "bob's new access token", "bob-laptop", 200, hints["spend"]),
    ]  # fmt: skip


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Keep a logger of the app off stderr while the lab runs (a poll that found the database busy)."""
    logger = logging.getLogger(name)
    saved = logger.propagate
    logger.propagate = False
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def _session_lab(
    bench: _SessionBench, build: Callable[[], web.Application], steps: list[Step], summary: str
) -> CheckResult:
    try:
        with _quiet("tutorial_src.revocation"), _quiet("tutorial_src.sqlite_store"):
            try:
                app = build()
            except Exception as error:
                return not_yet(f"building the app raised {describe_exception(error)}")
            return run_lab(app, steps, summary)
    finally:
        bench.cleanup()


def _watched_consume(answer: Any, app_of: Callable[[], web.Application | None]) -> Consume:
    """``answer`` with a look at what it returns: a mistake the store would only crash on becomes a note."""

    def note(text: str) -> None:
        app = app_of()
        if app is not None:
            app[_NOTES].append(text)

    async def consume(db: Any, token_hash: str, now: float) -> str | None:
        result = answer(db, token_hash, now)
        if not inspect.isawaitable(result):
            note("consume_refresh_token returned without awaiting anything: write `async def` and await db calls")
            raise RuntimeError("not awaitable")
        try:
            value = await result
        except sqlite3.Error as error:
            note(f"the SQL failed: {type(error).__name__}: {exception_message(error)}")
            raise
        if value is not None and not isinstance(value, str):
            note(
                f"consume_refresh_token returned {safe_repr(value, 80)}: return the session id, a str (the first "
                "column of the row RETURNING gave), or None when no row came back"
            )
            raise RuntimeError("wrong type")
        return value

    return consume


def consume_lab(answer: Any) -> CheckResult:
    """Check the learner's ``async def consume_refresh_token(db, token_hash, now) -> str | None`` over HTTP.

    ``SQLiteStore(…, consume=answer)`` on a lab database behind the package's handlers, and the requests of
    ``refresh_steps``: rotation, the same token again within the grace (the same successor), a replay after it
    (the family ends), unknown, expired and mistyped tokens, and ``CONCURRENT_REFRESHES`` refreshes of one token
    at once (at most one new refresh token).
    """
    if not callable(answer):
        return not_yet(f"expected the function consume_refresh_token, got {type(answer).__name__}")
    if not inspect.iscoroutinefunction(answer):
        return not_yet(
            "write `async def consume_refresh_token(db, token_hash, now)`: the store awaits it, and every "
            "aiosqlite call inside is awaited"
        )
    bench = _SessionBench()
    built: list[web.Application] = []

    def build() -> web.Application:
        consume = _watched_consume(answer, lambda: next(iter(built), None))
        built.append(build_app(bench.settings, SQLiteStore(bench.path, bench.settings, consume=consume)))
        return built[0]

    summary = f"one statement spends a refresh token: {CONCURRENT_REFRESHES} refreshes at once got one successor"
    return _session_lab(bench, build, refresh_steps(bench, _CONSUME_HINTS), summary)


def refresh_lab(answer: Any) -> CheckResult:
    """Check the learner's ``async def refresh(request)`` over HTTP.

    ``build_app(settings, SQLiteStore(…), refresh_handler=answer)`` on a lab database, and the requests of
    ``refresh_steps``: a new pair with ``Cache-Control: no-store`` in the same session (``sid``), the successor
    the store gives within the grace, the whole family revoked on a replay after it, 400 ``invalid_grant`` for
    unknown, expired and access tokens, 400 ``invalid_request`` for a body without one, and
    ``CONCURRENT_REFRESHES`` refreshes of one token at once.
    """
    refused = require_async_handler(answer, "refresh")
    if refused is not None:
        return refused
    bench = _SessionBench()

    def build() -> web.Application:
        return build_app(bench.settings, SQLiteStore(bench.path, bench.settings), refresh_handler=answer)

    summary = "rotation, reuse detection that ends the family, and invalid_grant for every bad refresh token"
    return _session_lab(bench, build, refresh_steps(bench, _REFRESH_HINTS), summary)


_LOGOUT_HINTS = {
    "answer": "the answer is 204 with no body: return web.Response(status=204)",
    "access": (
        "logout ends the access token at once: await store.revoke_access_token(claims['iss'], claims['jti'], "
        "claims['exp']) and await store.revoke_session(claims['sid']): the denylist then refuses the token"
    ),
    "refresh": (
        "logout ends the session of the access token: await store.revoke_session(claims['sid']), and its "
        "refresh tokens stop working too"
    ),
    "one": "logout ends the session of this access token only; POST /logout-all is the one that ends them all",
    "body": (
        "a refresh token in the body ends its own session too: store.session_of(token, now=…), when that "
        "session is the signed-in user's"
    ),
    "unknown": (
        "an unknown refresh token in the body changes nothing and is no error: RFC 7009 §2.2 answers 200 even for "
        "an invalid token, so the answer stays 204"
    ),
    "theirs": (
        "a refresh token of another user in the body must not end that user's session: compare session.user_id "
        "with the signed-in user's id"
    ),
    "jti": (
        "an access token without a sid (notebooks 01-06 mint such) ends by its (iss, jti) pair: "
        "store.revoke_access_token, and claims.get('sid') rather than claims['sid']"
    ),
}


def logout_steps(bench: _SessionBench) -> list[Step]:
    """One session ends, others stay; a refresh token in the body; unknown and foreign ones; a token without
    ``sid``."""
    alice, bob = "alice@example.com", "bob@example.com"
    hints = _LOGOUT_HINTS

    def logout(description: str, name: str, hint: str, **fields: Callable[[], str]) -> Step:
        headers, bearer = _bearer(bench, name)
        body: dict[str, Any] = {}
        return Step(
            description, "POST", "/logout", 204, headers=headers, json=body if fields else None,
            before=_then(bearer, _fill(body, **fields)), check=_nothing_in, hint=hint,
        )  # fmt: skip

    def sidless() -> None:
        # An access token as notebooks 01-06 mint them: no sid, so only its (iss, jti) can end it.
        user = User(id=bench.users.get("alice", 0), email=alice, password_hash="not used")
        bench.pairs["alice-old"] = {"access_token": create_access_token(user, bench.settings)}

    refresh = lambda name: lambda: bench.refresh_token(name)  # noqa: E731 - a table of one-line getters
    old_headers, old_bearer = _bearer(bench, "alice-old")
    return [
        _register(bench, "alice", alice),
        _register(bench, "bob", bob),
        _login(bench, "alice-laptop", "alice", alice),
        _login(bench, "alice-phone", "alice", alice),
        _login(bench, "alice-desktop", "alice", alice),
        _login(bench, "bob-laptop", "bob", bob),
        logout("alice logs out on her laptop, no body", "alice-laptop", hints["answer"]),
        _get_user(bench, "the laptop's access token, after its logout", "alice-laptop", 401, hints["access"]),
        _refresh("the laptop's refresh token, after its logout", refresh("alice-laptop"), 400,
                 hint=hints["refresh"]),
        _get_user(bench, "the phone's access token (another session of alice's)", "alice-phone", 200,
                  hints["one"]),
        _refresh("the phone's refresh token", refresh("alice-phone"), 200, hint=hints["one"]),
        logout("alice logs out on her phone, sending the desktop's refresh token too", "alice-phone",
               hints["body"], refresh_token=refresh("alice-desktop")),
        _refresh("the desktop's refresh token, sent with that logout", refresh("alice-desktop"), 400,
                 hint=hints["body"]),
        _login(bench, "alice-tablet", "alice", alice),
        logout("alice logs out on her tablet, sending an unknown refresh token", "alice-tablet", hints["unknown"],
               refresh_token=lambda: "not-a-refresh-token-" + "x" * 24),
        _login(bench, "alice-watch", "alice", alice),
        logout("alice logs out on her watch, sending bob's refresh token", "alice-watch", hints["theirs"],
               refresh_token=refresh("bob-laptop")),
        _refresh("bob's refresh token, after alice sent it with her logout", refresh("bob-laptop"), 200,
                 hint=hints["theirs"]),
        Step("alice logs out with an access token that has no sid", "POST", "/logout", 204, headers=old_headers,
             before=_then(sidless, old_bearer), check=_nothing_in, hint=hints["jti"]),
        Step("that access token, after its logout", "GET", "/get-user", 401, "invalid_token", headers=old_headers,
             hint=hints["jti"]),
    ]  # fmt: skip


def logout_lab(answer: Any) -> CheckResult:
    """Check the learner's ``async def logout(request)`` over HTTP.

    ``build_app(settings, SQLiteStore(…), logout_handler=answer)`` on a lab database, and the requests of
    ``logout_steps``: 204 with no body; the session's access and refresh tokens end, the user's other sessions
    stay; a refresh token in the body ends its session when it is the user's, and is ignored otherwise (unknown,
    or another user's); an access token without ``sid`` ends by its (``iss``, ``jti``).
    """
    refused = require_async_handler(answer, "logout")
    if refused is not None:
        return refused
    bench = _SessionBench()

    def build() -> web.Application:
        return build_app(bench.settings, SQLiteStore(bench.path, bench.settings), logout_handler=answer)

    summary = "logout ends its session's access and refresh tokens, and nothing else"
    return _session_lab(bench, build, logout_steps(bench), summary)
