"""The error middleware: whatever goes wrong, the client gets JSON, never an HTML page or a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from .errors import StoreUnavailable
from .responses import DEFAULT_ERROR_CODES, error_body

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into ``{"error": <code>, "message": <text>}`` with the right status.

    - An HTTP exception already carrying a JSON body (from ``json_error``) passes through unchanged.
    - One aiohttp raised itself (404 no route, 405 wrong method, 413 body too large…) gets the JSON body
      and keeps its headers (``Allow`` on a 405).
    - ``StoreUnavailable`` (the database is locked or unreadable) is 503 ``temporarily_unavailable`` with
      ``Retry-After``: the client may try again; it is no bug of the app.
    - Anything else is a bug: it is logged with its traceback on the server and the client gets a plain 500
      ``internal_error`` that reveals nothing.

    It must be the first (outermost) middleware so that it also catches errors of the ones after it.
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        headers = {
            name: value
            for name, value in exc.headers.items()
            if name not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH)
        }
        code = DEFAULT_ERROR_CODES.get(exc.status, "http_error")
        return web.json_response(error_body(code, _message_for(request, exc)), status=exc.status, headers=headers)
    except StoreUnavailable as exc:
        logger.warning("store unavailable in %s %s: %s", request.method, request.path, exc)
        return web.json_response(
            error_body("temporarily_unavailable", f"the database did not answer ({exc}); try again shortly"),
            status=503,
            headers={hdrs.RETRY_AFTER: "1"},
        )
    except Exception:
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return web.json_response(
            error_body("internal_error", "the server hit an unexpected error; it has been logged"),
            status=500,
        )


def _message_for(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"there is no route for {request.path}"
    if exc.status == 405:
        allowed = exc.headers.get(hdrs.ALLOW, "")
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    if exc.status == 413 and exc.text:
        return exc.text  # aiohttp says the limit and the size it got
    return exc.reason
