"""Serve the resource service for the benchmark: one process, one event loop, 127.0.0.1, no access log.

``python benchmarks/serve_resource.py --jwks-uri URL --issuer ISS`` prints ``port <n>`` once the socket
listens, then serves until SIGTERM or SIGINT. It adds ``/bench/public-resource``, the public twin of
``GET /resource`` for subject 1, so the two routes differ only by authentication.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from serve import serve_until_signalled  # benchmarks/serve.py, beside this script

from tutorial_src.resource import ResourceSettings, create_resource_app

PUBLIC_TWIN = "/bench/public-resource"
TWIN_SUBJECT = 1


async def public_resource(request: web.Request) -> web.Response:
    """``GET /bench/public-resource``, public: the body ``GET /resource`` answers for subject 1."""
    return web.json_response({"subject": TWIN_SUBJECT, "message": f"resource for user {TWIN_SUBJECT}"})


async def serve(settings: ResourceSettings) -> None:
    app = create_resource_app(settings)
    app.router.add_get(PUBLIC_TWIN, public_resource)
    await serve_until_signalled(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jwks-uri", required=True)
    parser.add_argument("--issuer", required=True)
    args = parser.parse_args()
    asyncio.run(serve(ResourceSettings(jwks_uri=args.jwks_uri, issuer=args.issuer)))


if __name__ == "__main__":
    main()
