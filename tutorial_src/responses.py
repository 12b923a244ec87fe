"""JSON error answers: every error the app sends is ``{"error": <code>, "message": <text>}``.

Handlers raise aiohttp's HTTP exceptions (https://docs.aiohttp.org/en/stable/web_exceptions.html) built by
``json_error``, or by ``bearer_error`` when the answer also carries a ``WWW-Authenticate: Bearer`` challenge;
``error_middleware`` turns the ones aiohttp raises itself (404, 405, 413…) into the same shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import hdrs, web

#: The ``error`` code sent for a status when the code raising it named none.
DEFAULT_ERROR_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}

#: The ``error`` codes RFC 6750 §3.1 defines for a Bearer challenge (the registry of §6.2 holds no others).
BEARER_ERROR_CODES = frozenset({"invalid_request", "invalid_token", "insufficient_scope"})


def error_body(code: str, message: str) -> dict[str, str]:
    """The body of every error answer: ``{"error": code, "message": message}``."""
    return {"error": code, "message": message}


def json_error(
    exc_class: type[web.HTTPError],
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.HTTPError:
    """An aiohttp HTTP exception whose body is the JSON error ``{"error": code, "message": message}``.

    Example: ``raise json_error(web.HTTPBadRequest, "invalid_request", "email is missing")``.
    """
    return exc_class(
        text=json.dumps(error_body(code, message)),
        content_type="application/json",
        headers=headers,
    )


def bearer_challenge(realm: str, error: str | None = None, description: str | None = None) -> str:
    """A ``WWW-Authenticate`` value for the Bearer scheme (RFC 6750 §3).

    Without ``error`` it is the bare challenge sent when no credentials came (§3.1: "the resource server
    SHOULD NOT include an error code"). Quotes and backslashes are dropped from the description, which
    RFC 6750 limits to printable ASCII without ``"`` and ``\\``.
    """
    parts = [f'realm="{realm}"']
    if error is not None:
        parts.append(f'error="{error}"')
    if description is not None:
        safe = "".join(ch for ch in description if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
        parts.append(f'error_description="{safe}"')
    return "Bearer " + ", ".join(parts)


def bearer_error(exc_class: type[web.HTTPError], code: str, message: str, realm: str) -> web.HTTPError:
    """A JSON error ``{"error": code, "message": message}`` with a ``WWW-Authenticate: Bearer`` challenge.

    The challenge names the error (with ``message`` as its description) only for the codes of RFC 6750 §3.1,
    ``BEARER_ERROR_CODES``; any other code - no credentials sent, a failed login - gets the bare challenge, as
    §3.1 asks for a request that carried no token.
    """
    challenge = bearer_challenge(realm, code, message) if code in BEARER_ERROR_CODES else bearer_challenge(realm)
    return json_error(exc_class, code, message, headers={hdrs.WWW_AUTHENTICATE: challenge})
