"""Checkers for the exercises of notebook 03 (decorators that guard handlers).

Each checker builds the demo app (``build_app``) plus a plain handler and a ``web.View`` both guarded by the
learner's decorator, serves it with ``BackgroundServer`` (its own thread and event loop, so it works inside a
Jupyter kernel whose loop is already running) and sends real requests with ``requests``.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from aiohttp import web

from ..app import build_app
from ..lab.server import BackgroundServer
from ..models import UserStore
from ..settings import fast_test_settings
from ..tokens import create_access_token
from ._core import (
    Case,
    CheckResult,
    closed_coroutine,
    describe_exception,
    not_started,
    not_yet,
    returns,
    run_cases,
)

__all__ = ["admin_required_decorator", "owner_or_admin_decorator"]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
# Who calls: None is anonymous; otherwise the email of a user of the probe app.
ALICE, ADMIN = "alice@example.com", "admin@example.com"


class _Recorder(logging.Handler):
    """Keeps the server's error logs (a crash in the learner's code, or aiohttp's "Missing return statement on
    request handler") instead of printing them on stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        # aiohttp's own message says what the handler did wrong; its exception (None.prepare) does not.
        from_aiohttp = record.name.startswith("aiohttp")
        self.messages.append(describe_exception(error) if error and not from_aiohttp else record.getMessage())


@contextmanager
def _quiet_server_errors() -> Iterator[_Recorder]:
    # tutorial_src.middleware logs what error_middleware catches; aiohttp.server what a handler returns wrong.
    loggers = [logging.getLogger(name) for name in ("tutorial_src.middleware", "aiohttp.server")]
    recorder = _Recorder()
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(recorder)
        logger.propagate = False
    try:
        yield recorder
    finally:
        for logger, propagate in zip(loggers, saved, strict=True):
            logger.removeHandler(recorder)
            logger.propagate = propagate


def _decorate(decorator: Decorator, handler: Callable[..., Any]) -> tuple[Any, CheckResult | None]:
    """The decorated handler, or the verdict when decorating fails or gives something unusable."""
    try:
        wrapped = decorator(handler)
    except NotImplementedError as stub:
        return None, not_started(stub)
    except KeyboardInterrupt:  # the learner stopped the cell
        raise
    except BaseException as error:  # a learner's bug (even exit()) is a result to report
        return None, not_yet(f"decorating a handler raised {describe_exception(error)}")
    if closed_coroutine(wrapped):
        return None, not_yet("the decorator itself is a plain `def` (only the wrapper it returns is `async def`)")
    if not inspect.iscoroutinefunction(wrapped):
        return None, not_yet("the decorator must return an `async def` function (aiohttp awaits handlers)")
    # getattr: inspect.iscoroutinefunction also accepts a functools.partial, which has no __name__.
    name, doc = getattr(wrapped, "__name__", None), getattr(wrapped, "__doc__", None)
    if name != handler.__name__ or doc != handler.__doc__:
        return None, not_yet(
            "the handler's name or docstring got lost - decorate the wrapper with @functools.wraps"
        )
    return wrapped, None


def _probe(
    decorator: Decorator, path: str, cases: list[tuple[str, str | None, str, tuple]], summary: str
) -> CheckResult:
    """Serve a plain handler and a ``web.View`` guarded by ``decorator`` at ``path`` (``{route}`` is
    ``plain`` or ``view``) and check each case ``(description, caller, url path, expected)``.

    ``expected`` is ``(status, error code or None, challenge)`` where challenge is ``None`` (no header),
    ``"bare"`` (``Bearer realm="…"``, no error) or an error code the challenge must carry.
    """
    if not callable(decorator):
        return not_yet(f"expected a decorator (a function), got {type(decorator).__name__}")

    async def guarded(request: web.Request) -> web.Response:
        """A guarded handler."""
        return web.json_response({"ok": True})

    plain, verdict = _decorate(decorator, guarded)
    if verdict is not None:
        return verdict

    async def get(self: web.View) -> web.Response:
        """A guarded view method."""
        return web.json_response({"ok": True})

    view_get, verdict = _decorate(decorator, get)
    if verdict is not None:
        return verdict
    view = type("GuardedView", (web.View,), {"get": view_get})

    settings = fast_test_settings(jwt_secret=secrets.token_urlsafe(32))
    users = UserStore.from_settings(settings)
    tokens = {
        ALICE: create_access_token(users.create(ALICE, "alice password"), settings),
        ADMIN: create_access_token(users.create(ADMIN, "admin password", is_admin=True), settings),
    }
    app = build_app(settings, users)
    app.router.add_get(path.format(route="plain"), plain)
    app.router.add_view(path.format(route="view"), view)

    with _quiet_server_errors() as recorder, BackgroundServer(app) as server, requests.Session() as http:

        def call(caller: str | None, url_path: str) -> str:
            headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
            response = http.get(server.url + url_path, headers=headers, timeout=30)
            if response.status_code >= 500:
                crash = recorder.messages[-1] if recorder.messages else "no details"
                return f"{response.status_code}: the handler crashed: {crash}"
            try:
                error = response.json().get("error")
            except ValueError:
                error = "(the body is not JSON)"
            challenge = response.headers.get("WWW-Authenticate")
            if challenge is not None:
                if not challenge.startswith(f'Bearer realm="{settings.realm}"'):
                    unexpected = f"a challenge not of the form Bearer realm=...: {challenge}"
                    return f"{response.status_code} {error}, {unexpected}"
                challenge = challenge.split('error="', 1)[1].split('"', 1)[0] if 'error="' in challenge else "bare"
            return outcome(response.status_code, error, challenge)

        checks = [
            Case(
                f"{description}, {kind} handler",
                (caller, url_path.format(route=kind)),
                returns(outcome(*expected)),
            )
            for kind in ("plain", "view")
            for description, caller, url_path, expected in cases
        ]
        return run_cases(call, checks, summary)


def outcome(status: int, error: str | None, challenge: str | None) -> str:
    """One readable line for an answer: ``'403 insufficient_scope, challenge with error="insufficient_scope"'``."""
    if challenge is None:
        said = "no challenge"
    elif challenge == "bare":
        said = "bare challenge (no error)"
    else:
        said = f'challenge with error="{challenge}"'
    return f"{status} {error or 'OK'}, {said}"


ANONYMOUS_401 = (401, "authentication_required", "bare")


def admin_required_decorator(answer: Decorator) -> CheckResult:
    """Check ``my_admin_required``: anonymous → 401 (bare challenge), a user → 403 ``insufficient_scope``
    (challenge with that error), an admin → 200; on plain handlers and ``web.View`` methods.

    Expectations read ``(status, error code, challenge)``.
    """
    cases = [
        ("an anonymous caller", None, "/{route}", ANONYMOUS_401),
        ("alice, who is not an admin", ALICE, "/{route}", (403, "insufficient_scope", "insufficient_scope")),
        ("an admin", ADMIN, "/{route}", (200, None, None)),
    ]
    return _probe(answer, "/{route}", cases, "401 for strangers, 403 for users, 200 for admins.")


def owner_or_admin_decorator(answer: Decorator) -> CheckResult:
    """Check ``my_owner_or_admin_required`` on ``/{route}/users/{user_id}``: anonymous → 401, the user whose
    id is in the path or an admin → 200, anyone else → 403 ``insufficient_scope``.

    Alice has id 1, the admin id 2. Expectations read ``(status, error code, challenge)``.
    """
    forbidden = (403, "insufficient_scope", "insufficient_scope")
    cases = [
        ("an anonymous caller on /users/1", None, "/{route}/users/1", ANONYMOUS_401),
        ("alice on her own /users/1", ALICE, "/{route}/users/1", (200, None, None)),
        ("alice on the admin's /users/2", ALICE, "/{route}/users/2", forbidden),
        ("alice on /users/01 (not her id as written)", ALICE, "/{route}/users/01", forbidden),
        ("the admin on alice's /users/1", ADMIN, "/{route}/users/1", (200, None, None)),
        ("the admin on /users/999", ADMIN, "/{route}/users/999", (200, None, None)),
    ]
    return _probe(answer, "/{route}/users/{{user_id}}", cases, "owners and admins pass, others get 403.")
