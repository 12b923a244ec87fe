"""A small HTTP load generator, for machines without ``wrk``: keep-alive GETs from one aiohttp client.

``python benchmarks/loadgen.py URL --connections 32 --duration 4 [--token T]`` runs ``connections`` loops,
each sending ``GET URL`` (with ``Authorization: Bearer T`` when a token is given) on its own kept-alive
connection for ``duration`` seconds, and prints one JSON line: ``{"requests": int, "non_2xx": int,
"seconds": float, "rps": float}`` (rps counts only 2xx answers).

It runs in its own process, so it does not share an event loop or a core with the server. It is slower than
``wrk`` (Python on the client side too), so on a small machine it may saturate before the server does, which
pulls the ratio of the benchmark towards 1: prefer ``wrk`` (``apt-get install wrk``) for the real numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def _loop(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], deadline: float, counts: dict[str, int]
) -> None:
    while time.perf_counter() < deadline:
        async with session.get(url, headers=headers) as response:
            await response.read()
            key = "ok" if 200 <= response.status < 300 else "non_2xx"
            counts[key] += 1


async def generate(url: str, token: str | None, connections: int, duration: float) -> dict[str, float]:
    """Load ``url`` for ``duration`` seconds from ``connections`` concurrent keep-alive connections."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    counts = {"ok": 0, "non_2xx": 0}
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.gather(*(_loop(session, url, headers, deadline, counts) for _ in range(connections)))
        seconds = time.perf_counter() - start
    return {
        "requests": counts["ok"] + counts["non_2xx"],
        "non_2xx": counts["non_2xx"],
        "seconds": round(seconds, 3),
        "rps": counts["ok"] / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--token", default=None, help="send 'Authorization: Bearer TOKEN'")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds")
    args = parser.parse_args()
    result = asyncio.run(generate(args.url, args.token, args.connections, args.duration))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
