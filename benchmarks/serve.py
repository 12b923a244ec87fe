"""Serve the demo app for the benchmark: one process, one event loop, 127.0.0.1, no access log.

``python benchmarks/serve.py [--no-cache]`` prints ``port <n>`` on stdout once the socket listens, then serves
until it gets SIGTERM or SIGINT. ``--no-cache`` builds the app without its token cache
(``create_app(token_cache=False)``), so every request pays for the full ``jwt.decode``. The secret comes from
``JWT_SECRET`` (``Settings``), so the benchmark process can log in and verify the same tokens; the store is the
SQLite file ``JWT_TUTORIAL_DB`` names (``auth_cost.py`` sets it: revocation on, the poll running).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

from tutorial_src.app import create_app
from tutorial_src.keys import USERS
from tutorial_src.settings import Settings

#: The public twin of ``GET /get-user``, added to the app by this runner only.
PUBLIC_TWIN = "/bench/public-user"
#: Seconds between two reads of the revocations (``Settings.revocation_poll``, 0.5 by default).
BENCH_POLL = 60.0
#: Seconds the denylist may go unread before tokens get 503 (``Settings.revocation_max_delay``, 5 by default).
VALGRIND_SLACK = 600.0
#: Whom the twin answers about: alice, the user of the token the benchmark sends to ``/get-user``.
TWIN_USER_ID = 1


async def public_user(request: web.Request) -> web.Response:
    """``GET /bench/public-user``, public: the body of ``GET /get-user`` for alice, with no token needed.

    The same work as ``views.get_user`` - a user lookup by id, ``str(user)``, the public fields, the same
    JSON response - minus authentication, so the benchmark's two routes differ only by what authentication
    costs: the bearer header, the token check and ``login_required``.
    """
    user = request.app[USERS].get_by_id(TWIN_USER_ID)
    if user is None:  # never: the twin user is created at start; views.get_user makes the same check
        raise web.HTTPNotFound()
    return web.json_response({"user": str(user), **user.to_public_dict()})


async def serve(no_cache: bool) -> None:
    # access_log=None: writing a log line per request would be part of what we measure, for both routes alike.
    # The denylist is checked on every request as always. Its poll is a cost per second, not per request: read
    # once a minute here, so that a read landing in one route's few counted requests does not tilt the ratio. And
    # under valgrind (50 times slower, one thread at a time) a login's argon2 holds the loop up for seconds.
    settings = Settings(revocation_poll=BENCH_POLL, revocation_max_delay=VALGRIND_SLACK)
    app = create_app(settings, token_cache=not no_cache)
    app.router.add_get(PUBLIC_TWIN, public_user)
    await serve_until_signalled(app)


async def serve_until_signalled(app: web.Application) -> None:
    """Serve ``app`` on 127.0.0.1 and a free port, print ``port <n>``, stop on SIGTERM or SIGINT."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"port {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-cache", action="store_true", help="turn the verified-token cache off")
    args = parser.parse_args()
    asyncio.run(serve(args.no_cache))


if __name__ == "__main__":
    main()
