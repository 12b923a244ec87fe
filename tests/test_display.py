"""tutorial_src.lab.display: ``show_token`` decodes for display, with relative times only, and never raises."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone

import pytest

from tutorial_src.lab.display import relative_time, show_token
from tutorial_src.models import User
from tutorial_src.tokens import create_access_token

ISSUED = datetime(2031, 5, 17, 12, 0, 0, tzinfo=timezone.utc)
NOW = ISSUED.timestamp()
ALICE = User(id=1, email="alice@example.com", password_hash="unused")
EPOCH_LIKE = re.compile(r"(?<![\w-])1\d{9}(?![\w-])")


def raw_segment(text: str | bytes) -> str:
    """base64url of exactly these bytes (for JSON that ``json.dumps`` would not write, like ``NaN``)."""
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value) -> str:
    return raw_segment(json.dumps(value))


HEADER = segment({"alg": "HS256"})


@pytest.fixture
def token(settings) -> str:
    return create_access_token(ALICE, settings, now=ISSUED)


def without_token(text: str, token: str) -> str:
    """``text`` with the token's own base64url characters removed (they may contain any digits)."""
    for part in token.split("."):
        text = text.replace(part, "")
    return text


# --- a real token -------------------------------------------------------------------------------------------


def test_html_has_the_three_coloured_parts_in_order(token):
    html = show_token(token, now=NOW)._repr_html_()
    header, payload, signature = token.split(".")
    spans = re.findall(r'<span class="jwt-(\w+)" style="color:(#[0-9a-f]{6})">([^<]*)</span>', html)
    assert [name for name, _, _ in spans] == ["header", "payload", "signature"]
    assert [text for _, _, text in spans] == [header, payload, signature]
    assert len({colour for _, colour, _ in spans}) == 3


def test_text_and_html_show_relative_times(token, settings):
    view = show_token(token, now=NOW)
    text, html = repr(view), view._repr_html_()
    assert view.summary() == "JWT, alg=HS256, issued now, expires now + 15 min"
    assert '"iat": <now>' in text
    assert '"exp": <now + 15 min>' in text
    assert "&quot;exp&quot;: &lt;now + 15 min&gt;" in html
    assert '"sub": "1"' in text


def test_no_epoch_numbers_in_text_or_html(token):
    view = show_token(token, now=NOW)
    iat = int(NOW)
    for output in (repr(view), view._repr_html_()):
        rest = without_token(output, token)
        assert str(iat) not in rest and str(iat + 900) not in rest
        assert not EPOCH_LIKE.search(rest)


def test_times_are_relative_to_now(token):
    later = show_token(token, now=NOW + 600)
    assert later.summary() == "JWT, alg=HS256, issued now - 10 min, expires now + 5 min"
    expired = show_token(token, now=NOW + 2 * 3600)
    assert "expires now - 2 h" in expired.summary()


def test_default_now_is_the_clock(token):
    # The token was issued in 2031: from today it lies years ahead.
    assert re.search(r"issued now \+ \d+ days", show_token(token).summary())


def test_bytes_token_is_shown_like_a_str(token):
    assert repr(show_token(token.encode(), now=NOW)) == repr(show_token(token, now=NOW))


def test_nothing_is_verified(token):
    # A token with a forged signature decodes just the same: show_token only reads base64url.
    header, payload, _ = token.split(".")
    view = show_token(f"{header}.{payload}.forged", now=NOW)
    assert view.problems == []
    assert view.payload["sub"] == "1"


def test_claims_are_html_escaped():
    token = f"{segment({'alg': '<img src=x>'})}.{segment({'name': '<script>alert(1)</script>'})}.sig"
    html = show_token(token, now=NOW)._repr_html_()
    assert "<img" not in html and "<script" not in html
    assert "alg=&lt;img src=x&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- garbage ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a token",
        "a.b",
        "a.b.c.d",
        "!!!.???.###",
        "é.ü.ß",
        f"{segment([1, 2])}.{segment('text')}.sig",
        HEADER + "." + raw_segment('{"exp": 1e999}') + ".sig",
        HEADER + "." + raw_segment('{"exp": NaN, "iat": true}') + ".sig",
        HEADER + "." + raw_segment('{"exp": 1' + "0" * 400 + "}") + ".sig",
        raw_segment(b"\xff\xfe\x00") + ".x.y",
        None,
        12345,
    ],
    ids=[
        "empty",
        "words",
        "two-parts",
        "four-parts",
        "not-base64",
        "non-ascii",
        "json-not-objects",
        "infinite-exp",
        "nan-exp-bool-iat",
        "huge-int-exp",
        "binary-header",
        "none",
        "int",
    ],
)
def test_garbage_never_raises(garbage):
    view = show_token(garbage, now=NOW)
    assert isinstance(repr(view), str)
    assert isinstance(view._repr_html_(), str)
    assert isinstance(view.summary(), str)


@pytest.mark.parametrize(
    ("garbage", "problem"),
    [
        ("not a token", "a JWS compact token has 3 parts separated by '.', this has 1"),
        ("a.b.c.d", "a JWS compact token has 3 parts separated by '.', this has 4"),
        ("!!!.???.###", "header: not base64url-encoded JSON"),
        (HEADER + ".%%%.sig", "payload: not base64url-encoded JSON"),
    ],
)
def test_garbage_gets_a_problem_line(garbage, problem):
    view = show_token(garbage, now=NOW)
    assert any(line.startswith(problem) for line in view.problems)
    assert f"problem: {problem}" in repr(view)
    assert 'class="jwt-problem"' in view._repr_html_()


def test_non_finite_times_are_shown_as_json_not_as_times():
    payload = raw_segment('{"exp": 1e999, "iat": NaN, "nbf": true}')
    text = repr(show_token(f"{HEADER}.{payload}.sig", now=NOW))
    assert '"exp": Infinity' in text and '"iat": NaN' in text and '"nbf": true' in text


# --- relative_time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "now"),
        (29, "now"),
        (-29, "now"),
        (29.9, "now"),
        (30, "now + 1 min"),  # half up, not round()'s half to even ("now + 0 min")
        (-30, "now - 1 min"),
        (89, "now + 1 min"),
        (90, "now + 2 min"),
        (900, "now + 15 min"),
        (-900, "now - 15 min"),
        (3600, "now + 60 min"),
        (90 * 60 - 1, "now + 90 min"),
        (90 * 60, "now + 2 h"),
        (-7200, "now - 2 h"),
        (48 * 3600 - 1, "now + 48 h"),
        (48 * 3600, "now + 2 days"),
        (-10 * 86400, "now - 10 days"),
    ],
)
def test_relative_time_boundaries(seconds, words):
    assert relative_time(seconds) == words


@pytest.mark.parametrize("seconds", [float("inf"), float("-inf"), float("nan")])
def test_relative_time_refuses_non_finite_numbers(seconds):
    with pytest.raises(ValueError, match="not a finite number"):
        relative_time(seconds)
