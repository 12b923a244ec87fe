"""``python -m tutorial_src [--host 127.0.0.1] [--port 8080] [--db PATH] [--alg ES256 [--keys DIR]]``: serve the
demo app.

At start it prints the URL, the database and the demo users' emails and passwords, then serves until Ctrl+C.
With ``--db PATH`` (or the ``JWT_TUTORIAL_DB`` environment variable) users, sessions and revocations live in that
SQLite file, created on first start with the demo users, and survive a restart; without, they live in memory and
end with the process. The JWT
secret is ``JWT_SECRET`` from the environment, else a random one for this process (tokens then stop working
when the server restarts). With ``--alg`` (ES256, EdDSA, RS256) it signs with the private keys of ``--keys DIR``
(reloaded on SIGHUP, see ``keyset``), or with a key made for this process, and publishes the public keys at
``/.well-known/jwks.json``; its issuer is then its own URL (OIDC Discovery §3). Source: ``aiohttp.web.run_app``
(https://docs.aiohttp.org/en/stable/web_reference.html#aiohttp.web.run_app).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from .app import DB_ENVIRONMENT_VARIABLE, create_app, database_store
from .demo import DEMO_USERS
from .errors import SettingsError, StoreUnavailable
from .keyset import ASYMMETRIC_ALGORITHMS, KeyRing
from .settings import Settings

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--host`` (default 127.0.0.1, loopback only) and ``--port`` (default 8080)."""
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_src", description="Serve the JWT tutorial's demo app."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--alg", choices=ASYMMETRIC_ALGORITHMS, help="sign with a private key instead of JWT_SECRET (notebook 09)"
    )
    parser.add_argument("--keys", type=Path, help="key directory for --alg (default: a key for this process)")
    parser.add_argument(
        "--db",
        type=Path,
        default=os.environ.get(DB_ENVIRONMENT_VARIABLE) or None,
        help=f"SQLite file for users and sessions, created if missing (default: ${DB_ENVIRONMENT_VARIABLE}, "
        "else in memory)",
    )
    return parser.parse_args(argv)


def banner(host: str, port: int, ring: KeyRing | None = None, db: Path | None = None) -> str:
    """The text printed at start: the URL, the database, the demo users and where the secret or the keys come
    from."""
    lines = [f"JWT tutorial demo app on http://{host}:{port}  (Ctrl+C to stop)"]
    if db is not None:
        lines.append(f"Database: {db} (SQLite; users and sessions survive a restart)")
    else:
        lines.append("Database: none, in memory (users and sessions end with the process; --db PATH keeps them)")
    lines.append("Demo users:")
    for email, password, is_admin in DEMO_USERS:
        role = "admin" if is_admin else "user"
        lines.append(f"  {email:<20} password: {password!r:<32} ({role})")
    if ring is not None:
        where = (
            f"from {ring.directory} (reloaded on SIGHUP)" if ring.directory else "ephemeral, made for this process"
        )
        lines.append(f"Signing keys: {ring.keys.current.algorithm}, {where}; current kid {ring.keys.current.kid}")
        lines.append(f"Public keys: http://{host}:{port}/.well-known/jwks.json")
    elif os.environ.get("JWT_SECRET"):
        lines.append("JWT secret: from JWT_SECRET")
    else:
        lines.append("JWT secret: random for this process (set JWT_SECRET to keep tokens valid across restarts)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Build the app, print the banner, serve until interrupted."""
    args = parse_args(argv)
    # One line per request on stderr (aiohttp's access log), and the traceback of any bug.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ring = None
    settings = None
    if args.alg is not None:
        try:
            ring = KeyRing.from_directory(args.keys) if args.keys else KeyRing.generate(args.alg)
            settings = Settings(
                jwt_algorithm=args.alg, signing_keys=ring, issuer=f"http://{args.host}:{args.port}"
            )
        except SettingsError as error:
            sys.exit(f"error: {error}")
    elif args.keys is not None:
        sys.exit("error: --keys needs --alg")
    settings = settings if settings is not None else Settings()
    store = database_store(args.db, settings) if args.db is not None else None
    app = create_app(settings, store)
    if ring is not None and ring.directory is not None:
        app.on_startup.append(lambda _: _reload_on_sighup(ring))
    print(banner(args.host, args.port, ring, args.db), flush=True)
    # print=None: the banner above replaces aiohttp's own "Running on …" line.
    try:
        web.run_app(app, host=args.host, port=args.port, print=None)
    except StoreUnavailable as error:  # the file is not a database, or cannot be opened
        sys.exit(f"error: the database {args.db} cannot be used: {error}")


async def _reload_on_sighup(ring: KeyRing) -> None:
    def reload() -> None:
        try:
            ring.reload()
        except SettingsError as error:
            logger.error("keys not reloaded, the old ones stay: %s", error)
            return
        logger.info(
            "keys reloaded: signing with %s, %d published", ring.keys.current.kid, len(ring.keys.published)
        )

    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


if __name__ == "__main__":
    main(sys.argv[1:])
