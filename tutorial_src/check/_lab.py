"""The lab bench of the central exercises: serve the learner's code, send real requests, name the first wrong one.

A lab checker builds an app around the learner's function (``build_app(login_handler=login)``, or with their
decorators), serves it with ``BackgroundServer`` on a port of its own (the notebook's server keeps running), and
sends a battery of ``Step``s with ``requests``. Each step says what it sends and what must come back: a status,
an ``error`` code, headers (``HeaderRule``), and any further check of the answer. The first wrong answer is the
verdict, said as "request 3 of 14 (…): got …, expected …", with what the server logged when it crashed. The lab
never raises and never prints: the server's error logs are recorded, and no port appears in a message.
"""

from __future__ import annotations

import gc
import inspect
import logging
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import requests
from aiohttp import hdrs, web
from urllib3 import HTTPHeaderDict

from ..lab.server import BackgroundServer
from ._core import CheckResult, describe_exception, exception_message, not_started, not_yet, passed, safe_repr

#: How long one request of a lab may take: argon2 with test settings takes milliseconds.
REQUEST_TIMEOUT = 10.0
_NO_BODY = object()
#: Where the lab's own middleware writes the mistakes it notices during one request.
_NOTES: web.AppKey[list[str]] = web.AppKey("lab_notes", list)


MISSING_RETURN = "the code returned None instead of a response: a `return` is missing"


def _view_returned_none(error: BaseException | None) -> bool:
    # web.View asserts that its method returned a response; a wrapper without `return` trips it.
    frames = traceback.extract_tb(error.__traceback__) if isinstance(error, AssertionError) else []
    return bool(frames) and frames[-1].filename.endswith("web_urldispatcher.py")


class Recorder(logging.Handler):
    """Keeps the server's error logs (a crash in the learner's code, or aiohttp's "Missing return statement on
    request handler") instead of printing them on stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.errors: list[BaseException] = []
        #: Mistakes the lab's own middleware saw (a handler that returned an HTTP error instead of raising it).
        self.notes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            self.errors.append(error)
        # aiohttp's own message says what the handler did wrong; its exception (None.prepare) does not.
        from_aiohttp = record.name.startswith("aiohttp")
        if _view_returned_none(error):
            self.messages.append(MISSING_RETURN)
        else:
            self.messages.append(describe_exception(error) if error and not from_aiohttp else record.getMessage())

    def clear(self) -> None:
        self.messages.clear()
        self.errors.clear()
        self.notes.clear()


@contextmanager
def quiet_server_errors() -> Iterator[Recorder]:
    """Record what ``error_middleware`` (``tutorial_src.middleware``), aiohttp (``aiohttp.server``) and asyncio
    (a handler still running when the lab stops) log while the block runs, instead of letting it reach stderr."""
    loggers = [logging.getLogger(name) for name in ("tutorial_src.middleware", "aiohttp.server", "asyncio")]
    recorder = Recorder()
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


@dataclass(frozen=True)
class HeaderRule:
    """What one response header must be: ``says`` describes it in the verdict, ``test`` gets the value (``None``
    when the header is absent) and says whether it is right."""

    name: str
    says: str
    test: Callable[[str | None], bool]


def header_absent(name: str) -> HeaderRule:
    return HeaderRule(name, "no such header", lambda value: value is None)


def no_store() -> HeaderRule:
    """``Cache-Control`` with the ``no-store`` directive (RFC 6749 §5.1; directives are case-insensitive)."""

    def test(value: str | None) -> bool:
        return value is not None and "no-store" in {part.strip().lower() for part in value.split(",")}

    return HeaderRule(hdrs.CACHE_CONTROL, "no-store", test)


def bare_challenge(realm: str) -> HeaderRule:
    """``WWW-Authenticate: Bearer realm="<realm>"`` and nothing else (RFC 6750 §3.1: no error code when the
    request carried no credentials or no usable ones)."""
    expected = f'Bearer realm="{realm}"'
    return HeaderRule(hdrs.WWW_AUTHENTICATE, f"{expected} (bare: no error=)", lambda value: value == expected)


def challenge_with_error(realm: str, error: str) -> HeaderRule:
    """``WWW-Authenticate: Bearer realm="<realm>", error="<error>"…`` (RFC 6750 §3)."""
    start = f'Bearer realm="{realm}", error="{error}"'
    return HeaderRule(
        hdrs.WWW_AUTHENTICATE, f"{start}…", lambda value: value is not None and value.startswith(start)
    )


@dataclass(frozen=True)
class Step:
    """One request of a lab and the answer it must get.

    ``json`` (any JSON value) or ``data`` (a form dict, or raw text with its ``Content-Type`` in ``headers``)
    is the body; ``headers`` is a mapping, or a sequence of ``(name, value)`` pairs to send a header twice.
    ``error`` is the JSON ``error`` code a refusal must carry (``None``: the answer is a success).
    ``check(response, earlier)`` looks further at the answer (``earlier`` maps each earlier step's ``name`` to
    its response) and returns what is wrong, or ``None``. ``hint`` is added to the verdict when this step fails.
    ``before()`` runs just before the request: it changes the world the server sees (deletes a user, moves a
    clock).
    """

    description: str
    method: str
    path: str
    status: int
    error: str | None = None
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = field(default_factory=dict)
    json: Any = _NO_BODY
    data: Any = None
    expect_headers: tuple[HeaderRule, ...] = ()
    check: Callable[[requests.Response, Mapping[str, requests.Response]], str | None] | None = None
    hint: str | None = None
    name: str | None = None
    before: Callable[[], None] | None = None

    @property
    def expected(self) -> str:
        said = f"{self.status} {{'error': '{self.error}', …}}" if self.error else f"{self.status}"
        rules = "; ".join(f"{rule.name}: {rule.says}" for rule in self.expect_headers)
        return f"{said}{f' with {rules}' if rules else ''}"


def answer_summary(response: requests.Response) -> str:
    """``401 {'error': 'invalid_token', …}``: the status and the JSON body (shortened), or what the body is."""
    if not response.content:
        return f"{response.status_code} with no body"
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} with a body that is not JSON: {safe_repr(response.text, 80)}"
    if isinstance(body, dict) and set(body) == {"error", "message"}:
        return f"{response.status_code} {{'error': {safe_repr(body['error'])}, …}}"
    return f"{response.status_code} {safe_repr(body, 160)}"


def json_body(response: requests.Response) -> Any:
    """The JSON body, or ``None`` when there is none."""
    try:
        return response.json()
    except ValueError:
        return None


@web.middleware
async def _watch(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    # The innermost middleware of a lab app: notes what aiohttp would only warn about or log without context.
    notes: list[str] = request.app[_NOTES]
    try:
        response = await handler(request)
    except SystemExit as error:  # exit() would stop the lab's event loop; report it like any other bug
        notes.append(f"the code raised {describe_exception(error)}")
        raise web.HTTPInternalServerError() from None
    if getattr(response, "__http_exception__", False):
        notes.append(
            "the code returned an HTTP error instead of raising it: write `raise json_error(…)`, not `return …`"
        )
        raise response
    if response is None:
        notes.append(MISSING_RETURN)
    return response


def _mismatch(step: Step, response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
    body = json_body(response)
    if response.status_code != step.status:
        return f"got {answer_summary(response)}, expected {step.expected}"
    if step.error is not None:
        code = body.get("error") if isinstance(body, dict) else None
        if code != step.error or not isinstance(body.get("message"), str):
            return (
                f"got {answer_summary(response)}, expected the JSON error "
                f"{{'error': '{step.error}', 'message': '…'}}"
            )
    for rule in step.expect_headers:
        value = response.headers.get(rule.name)
        if not rule.test(value):
            shown = "no such header" if value is None else safe_repr(value, 120)
            return f"got {response.status_code} with {rule.name}: {shown}, expected {rule.name}: {rule.says}"
    return step.check(response, earlier) if step.check is not None else None


def _send(http: requests.Session, base: str, step: Step) -> requests.Response:
    options: dict[str, Any] = {}
    if step.json is not _NO_BODY:
        options["json"] = step.json
    elif step.data is not None:
        options["data"] = step.data
    url = base + step.path
    pairs = list(step.headers.items()) if isinstance(step.headers, Mapping) else list(step.headers)
    prepared = http.prepare_request(requests.Request(step.method, url, **options))
    # requests keeps one value per header name; urllib3's HTTPHeaderDict sends a repeated header as it is.
    headers = HTTPHeaderDict(cast(Mapping[str, str], prepared.headers))
    for name in {name.lower() for name, _ in pairs}:
        headers.discard(name)
    for name, value in pairs:
        headers.add(name, value)
    # A CIMultiDict, so that a header can be sent twice; requests types the attribute as its own dict class.
    prepared.headers = headers  # type: ignore[assignment]
    environment = http.merge_environment_settings(url, {}, None, None, None)  # as Session.request does
    return http.send(prepared, timeout=REQUEST_TIMEOUT, allow_redirects=False, **environment)


def _crash_details(recorder: Recorder) -> str:
    return f" The server logged: {recorder.messages[-1]}" if recorder.messages else ""


def run_lab(app: web.Application, steps: Sequence[Step], summary: str) -> CheckResult:
    """Serve ``app`` on a port of its own, send each step in order, stop at the first wrong answer.

    A 500 whose logged error is the student edition's ``NotImplementedError`` means the exercise is not started.
    Never raises (``KeyboardInterrupt`` aside); the server is always stopped.
    """
    app[_NOTES] = []
    # Innermost: the app's own middlewares may run the handler in a task of its own (the login gate), and an
    # exit() escaping a task would stop the lab's event loop.
    app.middlewares.append(_watch)
    with quiet_server_errors() as recorder:
        server = BackgroundServer(app)
        try:
            with server, requests.Session() as http:
                verdict = _run_steps(app, steps, recorder, server.url, http)
        except KeyboardInterrupt:
            raise
        except Exception as error:  # the server could not start or stop (e.g. a handler stuck in a loop)
            verdict = not_yet(f"the lab server failed: {type(error).__name__}: {exception_message(error)}")
        # A handler still running when the server stopped is destroyed with its loop: let asyncio log that now,
        # into the recorder, rather than on stderr whenever the garbage collector gets to it.
        del server
        gc.collect()
    return verdict if verdict is not None else passed(f"{summary} ({len(steps)} requests)")


def _run_steps(
    app: web.Application, steps: Sequence[Step], recorder: Recorder, base: str, http: requests.Session
) -> CheckResult | None:
    """The verdict on the first step answered wrong, or ``None`` when every answer is right."""
    earlier: dict[str, requests.Response] = {}
    for number, step in enumerate(steps, start=1):
        recorder.clear()
        app[_NOTES].clear()
        where = f"request {number} of {len(steps)} ({step.description}: {step.method} {step.path})"
        if step.before is not None:
            step.before()
        try:
            response = _send(http, base, step)
        except requests.Timeout:
            return not_yet(f"{where}: no answer within {REQUEST_TIMEOUT:g} s; does the code ever return?")
        except requests.RequestException as error:
            return not_yet(f"{where}: the request failed ({type(error).__name__})")
        stub = next((e for e in recorder.errors if isinstance(e, NotImplementedError)), None)
        if stub is not None:
            return not_started(stub)
        if app[_NOTES]:
            return not_yet(f"{where}: {app[_NOTES][0]}")
        problem = _mismatch(step, response, earlier)
        if problem is not None:
            crash = _crash_details(recorder) if response.status_code >= 500 else ""
            hint = f" Hint: {step.hint}" if step.hint else ""
            return not_yet(f"{where}: {problem}.{crash}{hint}")
        if step.name:
            earlier[step.name] = response
    return None


def require_async_handler(answer: Any, name: str) -> CheckResult | None:
    """The verdict when ``answer`` cannot be served as a handler: not a function, or not ``async def``."""
    if not callable(answer):
        return not_yet(f"expected the function {name}, got {type(answer).__name__}")
    if not inspect.iscoroutinefunction(answer):
        return not_yet(f"write `async def {name}(request)`: aiohttp awaits handlers, and a plain `def` blocks it")
    return None


def decorate(decorator: Any, handler: Callable[..., Any], name: str) -> tuple[Any, CheckResult | None]:
    """``decorator(handler)``, or the verdict when decorating fails or gives something aiohttp cannot serve."""
    if not callable(decorator):
        return None, not_yet(f"expected the decorator {name}, got {type(decorator).__name__}")
    try:
        wrapped = decorator(handler)
    except NotImplementedError as stub:
        return None, not_started(stub)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a learner's bug (even exit()) is a result to report
        return None, not_yet(f"decorating an async handler with {name} raised {describe_exception(error)}")
    if inspect.iscoroutine(wrapped):
        wrapped.close()  # no "never awaited" warning
        return None, not_yet(
            f"{name} itself must be a plain `def` that returns a wrapper; only the wrapper is `async def`"
        )
    if not inspect.iscoroutinefunction(wrapped):
        return None, not_yet(
            f"{name} must return an `async def` wrapper (aiohttp awaits handlers), got {safe_repr(wrapped, 80)}"
        )
    # getattr: inspect.iscoroutinefunction also accepts a functools.partial, which has no __name__.
    if (
        getattr(wrapped, "__name__", None) != handler.__name__
        or getattr(wrapped, "__doc__", None) != handler.__doc__
    ):
        return None, not_yet(
            f"{name} loses the handler's name and docstring: decorate the wrapper with @functools.wraps(handler)"
        )
    return wrapped, None


def refuses_sync_handlers(decorator: Callable[..., Any], name: str) -> CheckResult | None:
    """The verdict when ``decorator`` accepts a plain ``def`` handler instead of raising ``TypeError`` at once."""

    def sync_handler(request: web.Request) -> web.Response:
        """A handler written with `def`: aiohttp would call it without awaiting, the guard would await it."""
        return web.json_response({})

    try:
        decorator(sync_handler)
    except TypeError:
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return not_yet(f"{name}(a plain `def` handler) raised {describe_exception(error)}; expected TypeError")
    return not_yet(
        f"{name} accepted a plain `def` handler; raise TypeError at decoration time "
        "(inspect.iscoroutinefunction), so the mistake shows when the module loads, not on the first request"
    )
