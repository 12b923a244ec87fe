"""``python -m tutorial_src [--host 127.0.0.1] [--port 8080]``: serve the full demo app in the foreground.

At start it prints the URL and the demo users' emails and passwords, then serves until Ctrl+C. The JWT
secret is ``JWT_SECRET`` from the environment, else a random one for this process (tokens then stop working
when the server restarts). Source: ``aiohttp.web.run_app``
(https://docs.aiohttp.org/en/stable/web_reference.html#aiohttp.web.run_app).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from .app import create_app
from .demo import DEMO_USERS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--host`` (default 127.0.0.1, loopback only) and ``--port`` (default 8080)."""
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_src", description="Serve the JWT tutorial's demo app."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default: %(default)s)")
    return parser.parse_args(argv)


def banner(host: str, port: int) -> str:
    """The text printed at start: the URL, the demo users and where the secret comes from."""
    lines = [f"JWT tutorial demo app on http://{host}:{port}  (Ctrl+C to stop)", "Demo users:"]
    for email, password, is_admin in DEMO_USERS:
        role = "admin" if is_admin else "user"
        lines.append(f"  {email:<20} password: {password!r:<32} ({role})")
    if os.environ.get("JWT_SECRET"):
        lines.append("JWT secret: from JWT_SECRET")
    else:
        lines.append("JWT secret: random for this process (set JWT_SECRET to keep tokens valid across restarts)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Build the app, print the banner, serve until interrupted."""
    args = parse_args(argv)
    # One line per request on stderr (aiohttp's access log), and the traceback of any bug.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app()
    print(banner(args.host, args.port), flush=True)
    # print=None: the banner above replaces aiohttp's own "Running on …" line.
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
