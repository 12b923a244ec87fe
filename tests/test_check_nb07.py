"""The labs of notebook 07: the reference and right answers written otherwise pass; plausible wrong answers are
refused with the mistake named; nothing raises. Each lab serves a SQLite file of its own."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.keys import CURRENT_USER, SETTINGS, USERS
from tutorial_src.responses import json_error
from tutorial_src.sessions import (
    _signed_in,
    access_claims,
    invalid_grant,
    logout,
    read_fields,
    read_refresh_token,
    refresh,
    token_response,
)
from tutorial_src.settings import Settings
from tutorial_src.sqlite_store import consume_refresh_token
from tutorial_src.tokens import create_access_token


def assert_passed(result):
    assert result, repr(result)
    assert repr(result).startswith(PASSED_PREFIX)


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


# --- exercise 1: consume_refresh_token, the one statement ------------------------------------------------------

SPEND = "UPDATE refresh_tokens SET used_at = :now WHERE token_hash = :token_hash"


async def rowcount_then_read(db, token_hash, now):
    # Written otherwise: the UPDATE alone decides (rowcount), then a read of what never changes (the session).
    cursor = await db.execute(
        f"{SPEND} AND used_at IS NULL AND expires_at > :now", {"now": now, "token_hash": token_hash}
    )
    if cursor.rowcount != 1:
        return None
    found = await db.execute_fetchall("SELECT session_id FROM refresh_tokens WHERE token_hash = ?", (token_hash,))
    return next(iter(found))[0]


async def positional_fetchall(db, token_hash, now):
    # Written otherwise: positional parameters, execute_fetchall, the conditions in another order.
    found = await db.execute_fetchall(
        "UPDATE refresh_tokens SET used_at = ? WHERE expires_at > ? AND used_at IS NULL AND token_hash = ?"
        " RETURNING session_id",
        (now, now, token_hash),
    )
    return next((str(row[0]) for row in found), None)


@pytest.mark.parametrize("answer", [consume_refresh_token, rowcount_then_read, positional_fetchall])
def test_consume_lab_accepts_right_statements(answer):
    assert_passed(check.consume_lab(answer))


def spending(where: str, *, returning: str = "RETURNING session_id", set_to: str = ":now"):
    """A one-statement answer with the given WHERE conditions (after ``token_hash = :token_hash``)."""

    async def answer(db, token_hash, now):
        sql = f"UPDATE refresh_tokens SET used_at = {set_to} WHERE token_hash = :token_hash {where} {returning}"
        async with db.execute(sql, {"now": now, "token_hash": token_hash}) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    return answer


async def read_then_update(db, token_hash, now):
    found = await db.execute_fetchall(
        "SELECT session_id, used_at, expires_at FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
    )
    row = next(iter(found), None)
    if row is None or row[1] is not None or row[2] <= now:
        return None
    await db.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))
    return row[0]


async def every_token(db, token_hash, now):
    # The token_hash condition forgotten: the first unspent token of anyone is spent.
    async with db.execute(
        "UPDATE refresh_tokens SET used_at = :now WHERE used_at IS NULL AND expires_at > :now"
        " RETURNING session_id",
        {"now": now},
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def returns_the_row(db, token_hash, now):
    async with db.execute(
        f"{SPEND} AND used_at IS NULL AND expires_at > :now RETURNING session_id",
        {"now": now, "token_hash": token_hash},
    ) as cursor:
        return await cursor.fetchone()


async def returns_the_cursor(db, token_hash, now):
    return await db.execute(
        f"{SPEND} AND used_at IS NULL AND expires_at > :now RETURNING session_id",
        {"now": now, "token_hash": token_hash},
    )


async def misspelt(db, token_hash, now):
    async with db.execute("UPDTE refresh_tokens SET used_at = ?", (now,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


def not_async(db, token_hash, now):
    return None


async def unfinished(*args):
    raise NotImplementedError("one UPDATE whose WHERE clause holds every condition")


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (read_then_update, ["20 refreshes of one token sent at once", "different new refresh tokens", "SELECT"]),
        (spending("AND expires_at > :now"), ["a second tab", "it was spent twice", "used_at IS NULL"]),
        (spending("AND used_at IS NULL"), ["an expired refresh token", "got 200", "expires_at > :now"]),
        (spending("AND used_at IS NOT NULL AND expires_at > :now"), ["alice's refresh token", "got 400"]),
        (spending("AND used_at IS NULL AND expires_at > :now", set_to="1"), ["a second tab", "got 400",
                                                                               "used_at must be the time now"]),
        (spending("AND used_at IS NULL AND expires_at > :now", set_to="CURRENT_TIMESTAMP"), [
            "a second tab", "got 500", "ValueError", "used_at must be the time now"]),
        (every_token, ["an unknown refresh token", "got 200", "token_hash = :token_hash"]),
        (returns_the_row, ["returned ('", "return the session id, a str"]),
        (returns_the_cursor, ["returned <aiosqlite", "return the session id"]),
        (misspelt, ["the SQL failed: OperationalError", "UPDTE"]),
        (not_async, ["write `async def consume_refresh_token"]),
        (unfinished, ["not done yet", "one UPDATE whose WHERE clause"]),
        ("UPDATE …", ["expected the function consume_refresh_token, got str"]),
    ],
    ids=[
        "read-then-update", "spends-twice", "accepts-expired", "inverted", "constant-used-at", "text-used-at",
        "no-token-hash",
        "returns-row", "returns-cursor", "sql-error", "not-async", "stub", "not-a-function",
    ],
)  # fmt: skip
def test_consume_lab_names_the_mistake(answer, fragments):
    assert_not_yet(check.consume_lab(answer), *fragments)


# --- exercise 2: the refresh handler ---------------------------------------------------------------------------


async def refresh_otherwise(request):
    # Written otherwise: one lookup of the user, one raise for every refusal, the revocation before it.
    settings, store = request.app[SETTINGS], request.app[USERS]
    used = await store.use_refresh_token(
        await read_refresh_token(request), now=time.time(), grace=settings.refresh_grace,
        token_ttl=settings.refresh_token_ttl,
    )  # fmt: skip
    user = None if used is None or used.successor is None else store.get_by_id(used.session.user_id)
    if used is not None and used.reused:
        await store.revoke_session(used.session.id)
    if used is None or user is None or used.successor is None:
        raise invalid_grant("this refresh token cannot be used; log in again")
    access = create_access_token(user, settings, session_id=used.session.id)
    return token_response(access, used.successor, settings.access_token_ttl)


@pytest.mark.parametrize("answer", [refresh, refresh_otherwise], ids=["reference", "one-raise"])
def test_refresh_lab_accepts_right_handlers(answer):
    assert_passed(check.refresh_lab(answer))


NOTEBOOK_SETTINGS = Settings(jwt_secret="notebook-07-demo-secret-not-for-production")


def handler(
    *,
    refusal=invalid_grant,
    revoke_on_reuse=True,
    answer=token_response,
    new_session=False,
    same_token=False,
    sid=True,
    read=read_refresh_token,
    expires_in=None,
    settings_of=lambda request: request.app[SETTINGS],
    returns_errors=False,
    go_on_after_reuse=False,
):
    """The reference shape; each option is a mistake of the corpus."""

    async def refresh_handler(request):
        token = await read(request)
        settings, store = settings_of(request), request.app[USERS]
        used = await store.use_refresh_token(
            token, now=time.time(), grace=settings.refresh_grace, token_ttl=settings.refresh_token_ttl
        )
        problem = None
        if used is None:
            problem = refusal("unknown")
        elif used.reused:
            if revoke_on_reuse:
                await store.revoke_session(used.session.id)
            if not go_on_after_reuse:
                problem = refusal("reused")
        elif used.successor is None:
            problem = refusal("just used")
        if problem is not None:
            if returns_errors:
                return problem
            raise problem
        user = store.get_by_id(used.session.user_id)
        session_id, successor = used.session.id, used.successor
        if new_session:  # a fresh session, and with it a fresh absolute end
            session, successor = await store.start_session(
                user.id, now=time.time(), lifetime=settings.session_lifetime, token_ttl=settings.refresh_token_ttl
            )
            session_id = session.id
        access = create_access_token(user, settings, session_id=session_id if sid else None)
        ttl = settings.access_token_ttl if expires_in is None else expires_in
        return answer(access, token if same_token else successor, ttl)

    return refresh_handler


def as_401(message):
    return json_error(web.HTTPUnauthorized, "invalid_grant", message)


def without_no_store(access_token, refresh_token, expires_in):
    body = {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    return web.json_response({**body, "refresh_token": refresh_token})


async def read_json_field(request):
    return (await request.json())["refresh_token"]


def not_async_handler(request):
    return web.Response()


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (handler(refusal=as_401), ["an unknown refresh token", "got 401", "expected 400", "RFC 6749 §5.2"]),
        (handler(revoke_on_reuse=False), ["the newest refresh token of that session, after the replay", "got 200",
                                          "revoke_session"]),
        (handler(go_on_after_reuse=True), ["replayed an hour after it was spent", "got 200", "expected 400"]),
        (handler(answer=without_no_store), ["alice's refresh token", "Cache-Control", "no-store"]),
        (handler(new_session=True), ["never starts a new one"]),
        (handler(same_token=True), ["the refresh token that came back is the one sent", "RFC 9700 §4.14.2"]),
        (handler(sid=False), ["sid is None", "continues the session"]),
        (handler(read=read_json_field), ["a body without refresh_token", "got 500", "KeyError",
                                         "read_refresh_token"]),
        (handler(expires_in=900), ["expires_in is 900, expected 600"]),
        (handler(settings_of=lambda request: NOTEBOOK_SETTINGS), ["expires_in is 900", "request.app[SETTINGS]"]),
        (handler(returns_errors=True), ["returned an HTTP error instead of raising it"]),
        (not_async_handler, ["write `async def refresh(request)`"]),
        (unfinished, ["not done yet"]),
    ],
    ids=[
        "401", "no-family-revocation", "answers-after-reuse", "no-cache-control", "new-session", "no-rotation",
        "no-sid", "keyerror", "hard-coded-ttl", "notebook-settings", "returns-error", "not-async", "stub",
    ],
)  # fmt: skip
def test_refresh_lab_names_the_mistake(answer, fragments):
    assert_not_yet(check.refresh_lab(answer), *fragments)


# --- exercise 3: the logout handler ----------------------------------------------------------------------------


async def logout_otherwise(request):
    # Written otherwise: the body's session first, the user from CURRENT_USER, claims.get for the sid.
    store, user = request.app[USERS], request[CURRENT_USER]
    fields = await read_fields(request, "refresh_token", optional=True)
    if "refresh_token" in fields:
        session = await store.session_of(fields["refresh_token"], now=time.time())
        if session is not None and user is not None and session.user_id == user.id:
            await store.revoke_session(session.id)
    claims = access_claims(request)
    if claims.get("sid") is not None:
        await store.revoke_session(claims["sid"])
    await store.revoke_access_token(claims["iss"], claims["jti"], float(claims["exp"]))
    return web.Response(status=204)


@pytest.mark.parametrize("answer", [logout, logout_otherwise], ids=["reference", "body-first"])
def test_logout_lab_accepts_right_handlers(answer):
    assert_passed(check.logout_lab(answer))


def logout_handler(
    *,
    jti=True,
    session=True,
    everywhere=False,
    body=True,
    check_owner=True,
    unknown_is_error=False,
    sid_key=False,
    read=lambda request: read_fields(request, "refresh_token", optional=True),
    answer=lambda: web.Response(status=204),
):
    """The reference shape; each option is a mistake of the corpus."""

    async def handler_(request):
        claims = access_claims(request)
        store = request.app[USERS]
        if jti:
            await store.revoke_access_token(claims["iss"], claims["jti"], float(claims["exp"]))
        if everywhere:
            await store.revoke_sessions(_signed_in(request).id)
        elif session and (sid_key or "sid" in claims):
            await store.revoke_session(claims["sid"])
        token = (await read(request)).get("refresh_token")
        if body and token is not None:
            found = await store.session_of(token, now=time.time())
            if found is None and unknown_is_error:
                raise invalid_grant("unknown refresh token")
            if found is not None and (not check_owner or found.user_id == _signed_in(request).id):
                await store.revoke_session(found.id)
        return answer()

    return handler_


async def required_body(request):
    return {"refresh_token": await read_refresh_token(request)}


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (logout_handler(jti=False, session=False), ["the laptop's access token, after its logout", "got 200",
                                                    "revoke_access_token"]),
        (logout_handler(session=False), ["the laptop's refresh token, after its logout", "got 200",
                                         "revoke_session"]),
        (logout_handler(everywhere=True), ["the phone's access token", "got 401", "/logout-all"]),
        (logout_handler(answer=lambda: web.json_response({"logged_out": True})), ["got 200", "expected 204"]),
        (logout_handler(unknown_is_error=True), ["an unknown refresh token", "got 400", "RFC 7009 §2.2"]),
        (logout_handler(check_owner=False), ["bob's refresh token, after alice sent it", "got 400",
                                             "another user"]),
        (logout_handler(sid_key=True), ["an access token that has no sid", "got 500", "KeyError",
                                        "claims.get('sid')"]),
        (logout_handler(jti=False), ["that access token, after its logout", "got 200", "(iss, jti)"]),
        (logout_handler(body=False), ["the desktop's refresh token, sent with that logout", "got 200",
                                      "session_of"]),
        (logout_handler(read=required_body), ["alice logs out on her laptop, no body", "got 415",
                                              "expected 204"]),
        (not_async_handler, ["write `async def logout(request)`"]),
        (unfinished, ["not done yet"]),
    ],
    ids=[
        "refresh-token-only", "access-token-only", "logout-all", "200-body", "unknown-is-error", "foreign-session",
        "sid-keyerror", "no-jti", "ignores-body", "body-required", "not-async", "stub",
    ],
)  # fmt: skip
def test_logout_lab_names_the_mistake(answer, fragments):
    assert_not_yet(check.logout_lab(answer), *fragments)


# --- whatever the answer does, the lab reports it and stays quiet -----------------------------------------------


async def exits(*args):
    raise SystemExit(1)


async def forgets_return(request):
    await refresh(request)


@pytest.mark.parametrize(
    ("lab", "answer", "fragment"),
    [
        (check.consume_lab, exits, "SystemExit"),
        (check.refresh_lab, exits, "SystemExit"),
        (check.logout_lab, exits, "SystemExit"),
        (check.refresh_lab, forgets_return, "a `return` is missing"),
    ],
    ids=["consume-exit", "refresh-exit", "logout-exit", "refresh-no-return"],
)
def test_a_crashing_answer_is_reported_and_nothing_reaches_stderr(lab, answer, fragment, capfd):
    assert_not_yet(lab(answer), fragment)
    assert capfd.readouterr().err == ""
