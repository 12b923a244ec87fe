"""``show_token``: look inside a JWT the way the jwt.io debugger shows it.

The three parts in three colours (header red, payload purple, signature blue, as jwt.io draws them), with the
decoded header and payload beside them. Times (``iat``, ``nbf``, ``exp``) are shown relative to now ("in
15 min"), never as clock times, so the output of a notebook cell stays the same from run to run.

Nothing here verifies the token: it only decodes base64url, which anyone can do (RFC 7515 §2).
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass
from typing import Any, TypeGuard

from .jose import b64url_decode

COLOURS = {"header": "#fb015b", "payload": "#d63aff", "signature": "#00b9f1"}
TIME_CLAIMS = ("iat", "nbf", "exp")


def relative_time(seconds: float) -> str:
    """Seconds from now as words: ``0`` -> ``"now"``, ``900`` -> ``"now + 15 min"``, ``-7200`` -> ``"now - 2 h"``.

    Under 30 s is ``now``; minutes up to 90 min, hours up to 48 h, then days, each rounded half up (30 s is
    ``now + 1 min``, 90 s is ``now + 2 min``).

    Raises:
        ValueError: ``seconds`` is infinite or NaN.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite number of seconds: {seconds!r}")
    magnitude = abs(seconds)
    if magnitude < 30:
        return "now"
    if magnitude < 90 * 60:
        amount = f"{_round_half_up(magnitude / 60)} min"
    elif magnitude < 48 * 3600:
        amount = f"{_round_half_up(magnitude / 3600)} h"
    else:
        amount = f"{_round_half_up(magnitude / 86400)} days"
    return f"now {'+' if seconds > 0 else '-'} {amount}"


def _round_half_up(value: float) -> int:
    # round() rounds halves to even: round(0.5) == 0 would show 30 s as "now + 0 min".
    return math.floor(value + 0.5)


def _is_time(value: object) -> TypeGuard[float]:
    # A NumericDate (RFC 7519 §2) worth showing relative to now; JSON may also hold true, 1e999 or NaN.
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _decode_json_segment(segment: str) -> tuple[Any, str | None]:
    try:
        return json.loads(b64url_decode(segment)), None
    except (ValueError, TypeError) as error:  # binascii.Error and JSONDecodeError are ValueErrors
        return None, f"not base64url-encoded JSON ({type(error).__name__})"


@dataclass
class TokenView:
    """What ``show_token`` returns: renders as HTML in Jupyter and as plain text elsewhere (GitHub, nbval)."""

    token: str
    segments: list[str]
    header: Any
    payload: Any
    problems: list[str]
    now: float

    def _pretty(self, claims: Any) -> str:
        if not isinstance(claims, dict):
            return json.dumps(claims)
        lines = []
        for name, value in claims.items():
            if name in TIME_CLAIMS and _is_time(value):
                shown = f"<{relative_time(value - self.now)}>"
            else:
                shown = json.dumps(value)
            lines.append(f"  {json.dumps(name)}: {shown}")
        return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"

    def summary(self) -> str:
        """One line: algorithm, when issued and when it expires, relative to now."""
        alg = self.header.get("alg") if isinstance(self.header, dict) else None
        parts = [f"JWT, alg={alg}"]
        if isinstance(self.payload, dict):
            for name, label in (("iat", "issued"), ("exp", "expires")):
                value = self.payload.get(name)
                if _is_time(value):
                    parts.append(f"{label} {relative_time(value - self.now)}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        lines = [self.summary(), f"token: {self.token}"]
        lines.append("header (red):\n" + self._pretty(self.header))
        lines.append("payload (purple):\n" + self._pretty(self.payload))
        signature = self.segments[2] if len(self.segments) == 3 else ""
        lines.append(f"signature (blue): {len(signature)} base64url characters")
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        names = ("header", "payload", "signature")
        spans = []
        for index, segment in enumerate(self.segments):
            name = names[index] if index < 3 else "extra"
            colour = COLOURS.get(name, "#888")
            spans.append(f'<span class="jwt-{name}" style="color:{colour}">{html.escape(segment)}</span>')
        encoded = '<span style="color:#888">.</span>'.join(spans)
        problems = "".join(
            f'<p class="jwt-problem" style="color:#b00">problem: {html.escape(p)}</p>' for p in self.problems
        )
        box = "margin:0;padding:0.5em;white-space:pre-wrap;word-break:break-all"
        return (
            '<div class="jwt-token-view" style="display:flex;gap:1em;flex-wrap:wrap;font-family:monospace">'
            f'<div style="flex:1 1 20em"><b>Encoded</b><pre style="{box}">{encoded}</pre></div>'
            f'<div style="flex:1 1 20em"><b>Decoded</b> <small>({html.escape(self.summary())})</small>'
            f'<pre style="{box};color:{COLOURS["header"]}">{html.escape(self._pretty(self.header))}</pre>'
            f'<pre style="{box};color:{COLOURS["payload"]}">{html.escape(self._pretty(self.payload))}</pre>'
            f'<p style="margin:0;padding:0.5em;color:{COLOURS["signature"]}">signature: over header.payload, '
            "made with the server's key; only verifying it with the key proves the token genuine</p>"
            f"{problems}</div></div>"
        )


def show_token(token: str, *, now: float | None = None) -> TokenView:
    """Decode a compact JWT without verifying it, for display.

    Args:
        token: ``header.payload.signature`` (``bytes`` too, as PyJWT 1 returned); anything else is shown with a
            "problem" line, never an exception.
        now: the reference time, seconds since the epoch (UTC); defaults to ``time.time()``.

    Returns:
        A ``TokenView`` that Jupyter renders as HTML (``_repr_html_``) and prints as text (``repr``).
    """
    if isinstance(token, bytes):
        token = token.decode("ascii", errors="replace")
    text = token if isinstance(token, str) else repr(token)
    segments = text.split(".")
    problems: list[str] = []
    if len(segments) != 3:
        problems.append(f"a JWS compact token has 3 parts separated by '.', this has {len(segments)}")
    header, header_problem = _decode_json_segment(segments[0])
    payload, payload_problem = _decode_json_segment(segments[1]) if len(segments) > 1 else (None, "missing")
    if header_problem:
        problems.append(f"header: {header_problem}")
    if payload_problem:
        problems.append(f"payload: {payload_problem}")
    return TokenView(text, segments, header, payload, problems, time.time() if now is None else now)
