"""Serve the resource service for the benchmark: one process, one event loop, 127.0.0.1, no access log.

``python benchmarks/serve_resource.py --jwks-uri URL --issuer ISS`` prints ``port <n>`` once the socket
listens, then serves until SIGTERM or SIGINT. It adds ``/bench/public-resource``, the public twin of
``GET /resource`` for subject 1, so the two routes differ only by authentication.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

from tutorial_src.resource import ResourceSettings, create_resource_app

PUBLIC_TWIN = "/bench/public-resource"
TWIN_SUBJECT = 1


async def public_resource(request: web.Request) -> web.Response:
    """``GET /bench/public-resource``, public: the body ``GET /resource`` answers for subject 1."""
    return web.json_response({"subject": TWIN_SUBJECT, "message": f"resource for user {TWIN_SUBJECT}"})


async def serve(settings: ResourceSettings) -> None:
    app = create_resource_app(settings)
    app.router.add_get(PUBLIC_TWIN, public_resource)
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
    parser.add_argument("--jwks-uri", required=True)
    parser.add_argument("--issuer", required=True)
    args = parser.parse_args()
    asyncio.run(serve(ResourceSettings(jwks_uri=args.jwks_uri, issuer=args.issuer)))


if __name__ == "__main__":
    main()
