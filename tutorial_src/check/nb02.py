"""Checkers for the exercises of notebook 02 (the auth middleware).

``MALFORMED_HEADERS``, ``OTHER_SCHEME_HEADERS`` and ``WELL_FORMED_HEADERS`` are also rows of the
hostile-request table in ``tests/test_auth.py``, so the exercise and the server are held to the same edge cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidToken
from ..models import User, UserStore
from ..settings import fast_test_settings
from ._core import Case, CheckResult, raises, returns, run_cases

__all__ = ["MALFORMED_HEADERS", "OTHER_SCHEME_HEADERS", "WELL_FORMED_HEADERS", "load_user", "parse_bearer"]

#: ``(what is wrong, Authorization header value)``: malformed Bearer credentials, each refused with 400
#: ``invalid_request`` (RFC 6750 §3.1).
MALFORMED_HEADERS: list[tuple[str, str]] = [
    ("a bare 'Bearer'", "Bearer"),
    ("a tab instead of a space", "Bearer\tabc.def.ghi"),
    ("two tokens", "Bearer abc.def.ghi jkl.mno.pqr"),
    ("two Bearer credentials", "Bearer abc.def.ghi, Bearer jkl.mno.pqr"),
    ("non-ASCII characters in the token", "Bearer tökén.def.ghi"),
    ("'=' inside the token (only allowed at its end)", "Bearer abc=def"),
    ("a comma inside the token", "Bearer abc,def"),
    ("an empty header", ""),
]

#: ``(what it is, Authorization header value)``: no Bearer credentials at all, which RFC 6750 §3.1 treats as a
#: request that "lacks any authentication information": 401 with a bare challenge, no error code in it.
OTHER_SCHEME_HEADERS: list[tuple[str, str]] = [
    ("another scheme", "Token abc.def.ghi"),
    ("Basic credentials", "Basic YWxpY2U6c2VjcmV0"),
    ("the scheme glued to the token", "Bearer_abc.def.ghi"),
    ("the raw token with no scheme, as the 2016 article sent it", "abc.def.ghi"),
]

#: ``(what it shows, header value, the token)``: each must be accepted.
WELL_FORMED_HEADERS: list[tuple[str, str, str]] = [
    ("the usual form", "Bearer abc.def.ghi", "abc.def.ghi"),
    ("a lower-case scheme (schemes are case-insensitive)", "bearer abc.def.ghi", "abc.def.ghi"),
    ("an upper-case scheme", "BEARER abc.def.ghi", "abc.def.ghi"),
    ("two spaces after Bearer (RFC 6750 §2.1: 1*SP)", "Bearer  abc.def.ghi", "abc.def.ghi"),
    ("every b64token character and '=' padding", "Bearer aZ09-._~+/==", "aZ09-._~+/=="),
]


def parse_bearer(answer: Callable[[str], str]) -> CheckResult:
    """Check ``my_parse_bearer(header) -> token``: well-formed headers give the token, the rest ``ValueError``."""
    cases = [
        Case(f"{description} ({header!r})", (header,), returns(token))
        for description, header, token in WELL_FORMED_HEADERS
    ] + [
        Case(f"{description} ({header!r})", (header,), raises(ValueError))
        for description, header in MALFORMED_HEADERS + OTHER_SCHEME_HEADERS
    ]
    return run_cases(answer, cases, f"your parser agrees with RFC 6750 §2.1 on {len(cases)} headers.")


def _store_with_a_deleted_user() -> tuple[UserStore, User, User]:
    users = UserStore.from_settings(fast_test_settings(jwt_secret="checker-secret-" + "x" * 32))
    alice = users.create("alice@example.com", "alice password")
    bob = users.create("bob@example.com", "bob password")
    admin = users.create("admin@example.com", "admin password", is_admin=True)
    users.delete(bob.id)
    return users, alice, admin


def load_user(answer: Callable[[dict[str, Any], UserStore], User]) -> CheckResult:
    """Check ``my_load_user(claims, users) -> User``: the user of ``claims["sub"]``, else ``InvalidToken``.

    The store holds alice (id 1) and admin (id 3); bob (id 2) was deleted after his token was issued.
    """
    users, alice, admin = _store_with_a_deleted_user()
    refused = raises(InvalidToken)
    cases = [
        Case("subject '1' (alice)", ({"sub": "1"}, users), returns(alice)),
        Case("subject '3' (admin)", ({"sub": "3"}, users), returns(admin)),
        Case("subject '2' (bob, deleted after login)", ({"sub": "2"}, users), refused),
        Case("subject '99' (no such user)", ({"sub": "99"}, users), refused),
        Case("subject 'alice' (not a number)", ({"sub": "alice"}, users), refused),
        Case("subject '-1'", ({"sub": "-1"}, users), refused),
        Case("subject '+1' (int() accepts it, an id has no sign)", ({"sub": "+1"}, users), refused),
        Case("subject ' 1' (int() ignores the space)", ({"sub": " 1"}, users), refused),
        Case("subject '1_0' (int() reads it as 10)", ({"sub": "1_0"}, users), refused),
        Case(
            "subject '\u0661' (an Arabic-Indic digit one; int() reads it as 1)",
            ({"sub": "\u0661"}, users),
            refused,
        ),
        Case("an empty subject", ({"sub": ""}, users), refused),
    ]
    return run_cases(answer, cases, "deleted, unknown and odd subjects are refused with InvalidToken.")
