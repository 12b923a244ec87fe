"""What does authentication cost? Throughput of a public and a protected route, side by side, and per-op costs.

``make bench`` (or ``python benchmarks/auth_cost.py --help``):

1. starts the demo app once (``benchmarks/serve.py``: one process, one event loop, 127.0.0.1, a random
   ``JWT_SECRET`` shared with this process) with revocation on: its store is a SQLite file of its own
   (``JWT_TUTORIAL_DB``), polled for revocations every 0.5 s, and its denylist holds the sessions and access
   tokens of ``--sessions`` logins, each refreshed once and logged out (those are timed: step 5). Then it logs
   in as the demo user alice with ``POST /login``;
2. alternates load between a public route and the protected route ``GET /get-user`` carrying alice's valid
   token: ``--rounds`` ABBA rounds (public, protected, protected, public; every other round the other way
   round), each run ``--duration`` seconds with the same ``--connections``, so a drift of the machine's load
   hits both routes alike;
3. prints the requests per second of each round (the mean of a route's two runs), the median of each route,
   and the ratio protected / public, the median of the rounds' ratios (a round's four runs are adjacent in
   time, so their ratio is the least noisy number here). Beside it, the server's CPU time per request (from
   ``/proc``, Linux): on a shared machine the requests per second also measure the neighbours, the CPU time
   per request much less so;
4. prints per-operation costs measured in this process with ``timeit`` (best of 5): header parse (the
   regular expression of ``parse_bearer``, and a hit of the token cache's remembered parser), token create,
   token verify cold (a full ``jwt.decode``), token verify warm (a ``TokenCache`` hit and the user lookup),
   password verify (argon2id with the default settings), the revocation check (the in-process denylist);
5. prints the latency of ``POST /refresh`` and of ``POST /logout`` seen by one client sending one request at a
   time (median and 90th percentile of ``--sessions`` each): the database work of notebook 07, paid once per
   refresh or logout, never per request.

The load generator is a separate process: ``wrk`` when it is on the PATH, else ``benchmarks/loadgen.py``
(an aiohttp client; slower, so on a small machine it may become the bottleneck and push the ratio towards 1).
A run whose answers are not all 2xx is an error: a protected route answering 401 fast would look cheap.

Which public route: ``/bench/public-user``, a twin of ``/get-user`` that ``serve.py`` adds for the benchmark.
It does the same work - look alice up by id, ``str(user)``, her public fields, the same ``web.json_response``
body - without ``login_required`` and without a token, so the only difference between the two routes is
authentication itself: parse the bearer header, verify the token, find the user, the decorator's check.
``GET /`` is not comparable: it answers a shorter body without a user lookup, and that difference (a few
µs, a few per cent of a request) is not what authentication costs. ``--public /`` measures against it anyway.

``--no-cache`` starts the server without the token-cache layer (``create_app(token_cache=False)``: the plain
middleware of notebook 02), which shows the cost of a full ``jwt.decode`` on every request: the "before".

``--callgrind`` counts instead of timing: it runs the server under Valgrind's callgrind (``apt-get install
valgrind``), sends ``--requests`` requests one after the other on one keep-alive connection to each route in
turn (``--rounds`` times, 2 by default), and prints the instructions the server executed per request and their
ratio public / protected - requests per instruction, the counterpart of the requests-per-second ratio. Callgrind
switches its counting on just before a route's requests and off just after (``callgrind_control``), so start-up,
log-in and warm-up are not counted. Instruction counts do not depend on the neighbours: on a shared machine this
is the number that repeats (to a few thousandths), while the requests-per-second ratio swings by several hundredths
from run to run. It ignores memory stalls, which a real run pays, and the kernel's share of the work.

The machine is shared and noisy: read the ratio, not the absolute numbers, and run it more than once.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

from tutorial_src.auth import parse_bearer
from tutorial_src.demo import DEMO_USERS
from tutorial_src.models import UserStore
from tutorial_src.passwords import password_hasher
from tutorial_src.revocation import Revocations
from tutorial_src.settings import Settings
from tutorial_src.token_cache import TokenCache, VerifiedToken
from tutorial_src.tokens import create_access_token, decode_access_token

HERE = Path(__file__).resolve().parent
PUBLIC_TWIN, PROTECTED = "/bench/public-user", "/get-user"


def parse_wrk(output: str) -> tuple[int, float, int]:
    """``(requests, requests per second, non-2xx/3xx answers)`` from ``wrk``'s report."""
    requests_done = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if requests_done is None or rps is None:
        raise RuntimeError(f"wrk printed no request count:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return int(requests_done.group(1)), float(rps.group(1)), int(bad.group(1)) if bad else 0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` in seconds (``/proc/<pid>/stat``), ``None`` off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One load run: requests per second, and the server's CPU time per request in µs (``None`` if unknown)."""

    rps: float
    cpu_us: float | None


def load(tool: str, url: str, token: str | None, connections: int, duration: int, server_pid: int) -> Run:
    """Load ``url`` for ``duration`` seconds from ``connections`` connections; what the server achieved.

    Raises:
        RuntimeError: the load generator failed, or some answers were not 2xx.
    """
    before = cpu_seconds(server_pid)
    if tool == "wrk":
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url]
        if token:
            command[1:1] = ["-H", f"Authorization: Bearer {token}"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        count, rps, bad = parse_wrk(done.stdout)
    else:
        command = [
            sys.executable,
            str(HERE / "loadgen.py"),
            url,
            "--connections",
            str(connections),
            "--duration",
            str(duration),
        ]
        if token:
            command += ["--token", token]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        count, rps, bad = result["requests"], result["rps"], result["non_2xx"]
    after = cpu_seconds(server_pid)
    if bad:
        raise RuntimeError(f"{bad} answers from {url} were not 2xx; the numbers would mean nothing")
    cpu_us = None if before is None or after is None or not count else (after - before) / count * 1e6
    return Run(rps, cpu_us)


def best_time(action: Callable[[], object], number: int) -> float:
    """Seconds per call of ``action``: the best of 5 ``timeit`` runs of ``number`` calls (least disturbed)."""
    return min(timeit.repeat(action, number=number, repeat=5)) / number


def per_operation_costs(secret: str) -> list[tuple[str, float]]:
    """``[(operation, seconds per call), …]`` measured in this process, with the server's settings."""
    settings = Settings(jwt_secret=secret)
    hasher = password_hasher(settings)
    users = UserStore(hasher)
    alice = users.create(DEMO_USERS[0][0], DEMO_USERS[0][1])
    token = create_access_token(alice, settings)
    cache = TokenCache()
    claims = decode_access_token(token, settings)
    cache.put(token, VerifiedToken.from_claims(alice.id, claims, settings))
    password_hash = alice.password_hash
    password = DEMO_USERS[0][1]
    header = f"Bearer {token}"
    cache.parse_bearer(header)  # now remembered

    def warm() -> object:  # what the token-cache layer does on a hit
        verified = cache.get(token, settings)
        return verified and users.get_by_id(verified.user_id)

    revocations = Revocations()  # a denylist of 1000 access tokens and 1000 sessions, none of them this one
    for number in range(1000):
        revocations.revoke_token(settings.issuer, f"jti-{number}", 2e9)
        revocations.revoke_session(f"sid-{number}", 2e9)
    claims_with_sid = {**claims, "sid": "this-session"}

    return [
        ("header parse (parse_bearer's regex)", best_time(lambda: parse_bearer(header), 20000)),
        ("header parse (remembered, lru_cache hit)", best_time(lambda: cache.parse_bearer(header), 20000)),
        ("token create (jwt.encode)", best_time(lambda: create_access_token(alice, settings), 2000)),
        ("token verify cold (full jwt.decode)", best_time(lambda: decode_access_token(token, settings), 2000)),
        ("token verify warm (cache hit)", best_time(warm, 20000)),
        ("revocation check (denylist of 2000)", best_time(lambda: revocations.check(claims_with_sid), 20000)),
        ("password verify (argon2id, default cost)", best_time(lambda: hasher.verify(password_hash, password), 3)),
    ]


def start_server(
    secret: str, no_cache: bool, db: Path, wrapper: list[str] | None = None, stderr: int | None = None
) -> tuple[subprocess.Popen[str], str]:
    """The demo app in its own process (run by ``wrapper``, such as valgrind, if given), its users and sessions
    in the SQLite file ``db``; it and its base URL."""
    command = (wrapper or []) + [sys.executable, str(HERE / "serve.py")] + (["--no-cache"] if no_cache else [])
    env = {**os.environ, "JWT_SECRET": secret, "JWT_TUTORIAL_DB": str(db)}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("port "):
        stop_server(server, timeout=10)
        raise RuntimeError(f"the server did not start (it printed {line!r})")
    return server, f"http://127.0.0.1:{int(line.split()[1])}"


def stop_server(server: subprocess.Popen[str], timeout: float) -> None:
    """Stop the server (SIGTERM: it closes its site and exits), wait for it, close its stdout pipe."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # hung: do not leave it running behind the benchmark
        server.kill()
        server.wait()
    if server.stdout is not None:
        server.stdout.close()


def log_in(base: str, public: str) -> str:
    """Alice's access token from ``POST /login``, after checking that both routes answer 200."""
    email, password, _ = DEMO_USERS[0]
    response = requests.post(f"{base}/login", json={"email": email, "password": password}, timeout=30)
    response.raise_for_status()
    token = response.json()["access_token"]
    for path, headers in ((public, {}), (PROTECTED, {"Authorization": f"Bearer {token}"})):
        requests.get(base + path, headers=headers, timeout=30).raise_for_status()
    return token


def session_latencies(base: str, sessions: int) -> tuple[list[float], list[float]]:
    """Log alice in ``sessions`` times, refresh each session once and log it out: the seconds each ``POST
    /refresh`` and each ``POST /logout`` took. The denylist then holds those sessions and access tokens."""
    email, password, _ = DEMO_USERS[0]
    refreshes, logouts = [], []
    with requests.Session() as http:
        for _ in range(sessions):
            tokens = http.post(f"{base}/login", json={"email": email, "password": password}, timeout=60)
            tokens.raise_for_status()
            started = time.perf_counter()
            refreshed = http.post(
                f"{base}/refresh", json={"refresh_token": tokens.json()["refresh_token"]}, timeout=60
            )
            refreshes.append(time.perf_counter() - started)
            refreshed.raise_for_status()
            headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
            started = time.perf_counter()
            http.post(f"{base}/logout", headers=headers, timeout=60).raise_for_status()
            logouts.append(time.perf_counter() - started)
    return refreshes, logouts


def latency_text(name: str, seconds: list[float]) -> str:
    """``name``: the median and the 90th percentile, in milliseconds."""
    p90 = statistics.quantiles(seconds, n=10)[-1] if len(seconds) > 1 else seconds[0]
    return f"  {name:<42} median {statistics.median(seconds) * 1e3:6.2f} ms   p90 {p90 * 1e3:6.2f} ms"


def callgrind_totals(dump: Path) -> int:
    """The instruction count (``Ir``) of one callgrind dump file: its ``totals:`` line.

    Raises:
        RuntimeError: the file has no ``totals:`` line.
    """
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"{dump} has no 'totals:' line; is it a callgrind output file?")


def callgrind_control(pid: int, *options: str) -> None:
    """Send ``options`` (``--zero``, ``--instr=on``, ``--dump=<reason>`` …) to the callgrind run ``pid``.

    Raises:
        RuntimeError: callgrind_control said it did not reach the run (it exits 0 even then).
    """
    done = subprocess.run(["callgrind_control", *options, str(pid)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or "Error" in done.stdout + done.stderr:
        raise RuntimeError(f"callgrind_control {' '.join(options)} failed: {(done.stdout + done.stderr).strip()}")


def callgrind_dumps(out: Path) -> list[Path]:
    """The dump files of a run writing to ``out``: ``out.1``, ``out.2`` … in the order they were written."""
    return sorted(out.parent.glob(f"{out.name}.*"), key=lambda path: int(path.suffix[1:]))


def run_under_callgrind(
    args: argparse.Namespace, secret: str, public: str, rounds: int, out: Path, log: IO[str]
) -> dict[str, list[float]]:
    """Serve under callgrind (writing to ``out``, stderr to ``log``); instructions per request of each route."""
    # --instr-atstart=no: start-up, log-in and warm-up run uncounted (and faster).
    wrapper = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    server, base = start_server(secret, args.no_cache, out.parent / "bench.db", wrapper, stderr=log.fileno())
    try:
        session_latencies(base, args.sessions)  # fills the denylist; valgrind's times mean nothing
        token = log_in(base, public)
        routes: tuple[tuple[str, dict[str, str]], ...] = (
            (public, {}),
            (PROTECTED, {"Authorization": f"Bearer {token}"}),
        )
        per_request: dict[str, list[float]] = {public: [], PROTECTED: []}
        with requests.Session() as session:
            for path, headers in routes:  # warm-up: caches filled, code paths run once, not counted
                for _ in range(20):
                    session.get(base + path, headers=headers, timeout=60).raise_for_status()
            print(f"{'round':>6}  {'public instructions':>19}  {'protected instructions':>22}  {'ratio':>5}")
            for round_number in range(1, rounds + 1):
                for path, headers in routes:
                    callgrind_control(server.pid, "--zero")
                    callgrind_control(server.pid, "--instr=on")
                    for _ in range(args.requests):
                        session.get(base + path, headers=headers, timeout=60).raise_for_status()
                    callgrind_control(server.pid, "--instr=off")
                    dumped = len(callgrind_dumps(out))
                    callgrind_control(server.pid, f"--dump=round{round_number}")
                    dumps = callgrind_dumps(out)
                    if len(dumps) != dumped + 1:  # an old dump would give an old count
                        raise RuntimeError(f"callgrind wrote {len(dumps) - dumped} dump files, not one")
                    per_request[path].append(callgrind_totals(dumps[-1]) / args.requests)
                pub, pro = per_request[public][-1], per_request[PROTECTED][-1]
                print(f"{round_number:>6}  {pub:>19,.0f}  {pro:>22,.0f}  {pub / pro:>5.3f}")
    finally:
        stop_server(server, timeout=120)
    return per_request


def count_instructions(args: argparse.Namespace, secret: str, public: str) -> int:
    """The ``--callgrind`` mode: instructions per request of each route under callgrind, and their ratio."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("--callgrind needs Valgrind: apt-get install valgrind (as root)", file=sys.stderr)
        return 2
    rounds = args.rounds or 2
    print(
        f"Authentication cost in instructions: {public} (public) vs {PROTECTED} (bearer token); one server "
        f"process under callgrind, {rounds} round{'s' if rounds != 1 else ''} x {args.requests} sequential "
        f"requests per route, token cache {'OFF' if args.no_cache else 'on'}, revocation on (SQLite store, "
        f"denylist checked on every request)"
    )
    with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "valgrind.log", "w+") as log:
        out = Path(scratch) / "callgrind.out"
        try:
            per_request = run_under_callgrind(args, secret, public, rounds, out, log)
        except Exception:
            log.seek(0)
            print(f"valgrind and the server said:\n{log.read()[-2000:]}", file=sys.stderr)
            raise
    pub, pro = statistics.median(per_request[public]), statistics.median(per_request[PROTECTED])
    print(
        f"ratio protected/public (requests per instruction, median of rounds): {pub / pro:.3f}"
        f"{'  (token cache OFF)' if args.no_cache else ''}"
    )
    print(f"authentication adds {pro - pub:,.0f} instructions per request ({pro / pub - 1:.1%})")
    return 0


def positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds",
        type=positive,
        default=None,
        help="ABBA rounds: public, protected, protected, public (default 16: the machine is "
        "noisy; 2 with --callgrind)",
    )
    parser.add_argument(
        "--duration", type=int, default=2, help="whole seconds per run, 4 runs a round (default 2)"
    )
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument(
        "--tool",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk if installed (auto), or the aiohttp client script",
    )
    parser.add_argument(
        "--public",
        default=PUBLIC_TWIN,
        help=f"the public route to compare with (default {PUBLIC_TWIN}; '/' is the index)",
    )
    parser.add_argument("--no-cache", action="store_true", help="serve with the verified-token cache off")
    parser.add_argument(
        "--sessions",
        type=positive,
        default=None,
        help="logins refreshed once and logged out before the load, timed (default 30; 3 with --callgrind)",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count the server's instructions per request under valgrind instead of timing",
    )
    parser.add_argument(
        "--requests",
        type=positive,
        default=1000,
        help="with --callgrind: sequential requests per route and round (default 1000); "
        "--duration, --connections and --tool do not apply there",
    )
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # rounds show as they finish, also under make
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    secret = secrets.token_urlsafe(32)
    public = args.public
    if args.callgrind:
        args.sessions = args.sessions or 3
        return count_instructions(args, secret, public)
    args.sessions = args.sessions or 30
    args.rounds = args.rounds or 16

    print(
        f"Authentication cost: {public} (public) vs {PROTECTED} (bearer token); one server process, load from "
        f"{tool} ({args.connections} connections), {args.rounds} ABBA round{'s' if args.rounds != 1 else ''} "
        f"x 2 x {args.duration} s per route, "
        f"token cache {'OFF' if args.no_cache else 'on'}"
    )
    scratch = tempfile.TemporaryDirectory()
    server, base = start_server(secret, args.no_cache, Path(scratch.name) / "bench.db")
    try:
        refreshes, logouts = session_latencies(base, args.sessions)
        token = log_in(base, public)
        for path, auth in ((public, None), (PROTECTED, token)):  # warm-up, not counted
            load(tool, base + path, auth, args.connections, 1, server.pid)
        print(f"{'round':>6}  {'public rps':>10}  {'protected rps':>13}  {'ratio':>5}   server CPU per request")
        runs: dict[str, list[Run]] = {public: [], PROTECTED: []}
        ratios = []
        for round_number in range(1, args.rounds + 1):
            # ABBA: public, protected, protected, public (flipped every other round). The machine's load drifts
            # on the scale of seconds; in an ABBA round a linear drift hits both routes alike and cancels out.
            order = [(public, None), (PROTECTED, token), (PROTECTED, token), (public, None)]
            if round_number % 2 == 0:
                order = [*order[1:3], order[0], order[3]]
            measured: dict[str, list[Run]] = {public: [], PROTECTED: []}
            for path, auth in order:
                measured[path].append(load(tool, base + path, auth, args.connections, args.duration, server.pid))
            for path in (public, PROTECTED):
                runs[path].append(mean_run(measured[path]))
            pub, pro = runs[public][-1], runs[PROTECTED][-1]
            ratios.append(pro.rps / pub.rps)
            print(
                f"{round_number:>6}  {pub.rps:>10.0f}  {pro.rps:>13.0f}  {ratios[-1]:>5.2f}   {cpu_text(pub, pro)}"
            )
    finally:
        stop_server(server, timeout=10)
        scratch.cleanup()
    median_pub = Run(statistics.median(r.rps for r in runs[public]), median_cpu(runs[public]))
    median_pro = Run(statistics.median(r.rps for r in runs[PROTECTED]), median_cpu(runs[PROTECTED]))
    median_cpu_text = cpu_text(median_pub, median_pro)
    print(f"{'median':>6}  {median_pub.rps:>10.0f}  {median_pro.rps:>13.0f}  {'':>5}   {median_cpu_text}")
    print(
        f"ratio protected/public (requests per second, median of rounds): {statistics.median(ratios):.2f}"
        f"{'  (token cache OFF)' if args.no_cache else ''}"
    )
    if median_pub.cpu_us and median_pro.cpu_us:
        print(
            f"ratio protected/public (requests per server CPU-second, medians): "
            f"{median_pub.cpu_us / median_pro.cpu_us:.2f}"
        )

    print("per-operation costs (this process, timeit, best of 5):")
    for name, seconds in per_operation_costs(secret):
        shown = f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"
        print(f"  {name:<42} {shown:>10}")
    print(f"session operations (one client, one request at a time, SQLite store, {args.sessions} each):")
    print(latency_text("POST /refresh", refreshes))
    print(latency_text("POST /logout", logouts))
    return 0


def mean_run(runs: list[Run]) -> Run:
    """The two runs of a route within an ABBA round as one: mean requests per second, mean CPU per request."""
    cpu = [run.cpu_us for run in runs if run.cpu_us is not None]
    return Run(statistics.fmean(run.rps for run in runs), statistics.fmean(cpu) if len(cpu) == len(runs) else None)


def median_cpu(runs: list[Run]) -> float | None:
    """The median server CPU µs per request of ``runs``, ``None`` when it was not measured."""
    values = [run.cpu_us for run in runs if run.cpu_us is not None]
    return statistics.median(values) if values else None


def cpu_text(public: Run, protected: Run) -> str:
    """``"61 µs vs 66 µs"``, or ``"n/a"`` without ``/proc``."""
    if public.cpu_us is None or protected.cpu_us is None:
        return "n/a"
    return f"{public.cpu_us:.0f} µs vs {protected.cpu_us:.0f} µs"


if __name__ == "__main__":
    sys.exit(main())
