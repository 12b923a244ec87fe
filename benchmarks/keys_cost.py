"""What do asymmetric keys cost? Sign and verify per algorithm, and the resource service's protected/public ratio.

``make bench`` runs it after ``auth_cost.py`` (or ``python benchmarks/keys_cost.py [--callgrind]``):

1. per algorithm (HS256, ES256, EdDSA, RS256), in this process with ``timeit`` (best of 5): ``jwt.encode`` of
   an access token's claims (sign) and ``jwt.decode`` with every check of the resource service (verify);
2. with ``--callgrind``: the resource service (``benchmarks/serve_resource.py``, its own process under
   Valgrind's callgrind, ``apt-get install valgrind``) fetches the keys from an ES256 issuer served by this
   process, then answers ``--requests`` sequential requests on one keep-alive connection to each route in turn:
   ``/bench/public-resource`` (public, the same body) and ``GET /resource`` with an ES256 token. It prints the
   instructions per request and their ratio public / protected (requests per instruction), as ``auth_cost.py
   --callgrind`` does for the app. The verified-token cache means the ES256 verification runs once; every
   later request pays for a header parse, a cache lookup and the time checks.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import requests
from jwt.types import Options

from tutorial_src.app import create_app
from tutorial_src.keyset import ASYMMETRIC_ALGORITHMS, KeyRing, SigningKey
from tutorial_src.lab.server import BackgroundServer
from tutorial_src.models import User, UserStore
from tutorial_src.settings import Settings
from tutorial_src.tokens import REQUIRED_CLAIMS, create_access_token

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("auth_cost", HERE / "auth_cost.py")
assert _spec is not None and _spec.loader is not None
auth_cost = importlib.util.module_from_spec(_spec)
sys.modules["auth_cost"] = auth_cost
_spec.loader.exec_module(auth_cost)

ALGORITHMS = ("HS256", *ASYMMETRIC_ALGORITHMS)
PUBLIC, PROTECTED = "/bench/public-resource", "/resource"


def keys_for(algorithm: str) -> tuple[Any, Any]:
    """``(signing key, verification key)``: a 64-byte secret twice for HS256, else a new key pair."""
    if algorithm == "HS256":
        return "s" * 64, "s" * 64
    key = SigningKey.generate(algorithm)
    return key.private_key, key.verification_key


def sign_verify_costs() -> list[tuple[str, float, float]]:
    """``[(algorithm, seconds per sign, seconds per verify), …]``, measured in this process."""
    now = datetime.now(timezone.utc)
    claims = {"sub": "1", "iat": now, "exp": now + timedelta(minutes=15), "iss": "i", "aud": "a", "jti": "j" * 32}
    options: Options = {"require": REQUIRED_CLAIMS}
    rows = []
    for algorithm in ALGORITHMS:
        signing_key, verify_key = keys_for(algorithm)
        token = jwt.encode(claims, signing_key, algorithm=algorithm)
        number = 200 if algorithm == "RS256" else 1000
        sign = auth_cost.best_time(functools.partial(jwt.encode, claims, signing_key, algorithm=algorithm), number)
        verify = auth_cost.best_time(
            functools.partial(
                jwt.decode, token, verify_key, algorithms=[algorithm], audience="a", issuer="i", options=options
            ),
            number,
        )
        rows.append((algorithm, sign, verify))
    return rows


def shown(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def resource_instructions(requests_per_route: int, rounds: int) -> tuple[float, float]:
    """Median instructions per request of the public twin and of ``/resource`` with an ES256 token."""
    settings = Settings(jwt_algorithm="ES256", signing_keys=KeyRing.generate("ES256"))
    token = create_access_token(User(1, "alice@example.com", "-", False), settings)
    per_request: dict[str, list[float]] = {PUBLIC: [], PROTECTED: []}
    issuer_app = create_app(settings, UserStore.from_settings(settings))
    with BackgroundServer(issuer_app) as issuer, tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        # Not a with-block: valgrind writes to it until the server stops, in the finally below.
        log = open(Path(scratch) / "valgrind.log", "w+")  # noqa: SIM115
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        command += [sys.executable, str(HERE / "serve_resource.py"), "--issuer", settings.issuer]
        command += ["--jwks-uri", f"{issuer.url}/.well-known/jwks.json"]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log.fileno(), text=True)
        try:
            assert server.stdout is not None  # stdout=PIPE
            line = server.stdout.readline()
            if not line.startswith("port "):
                raise RuntimeError(f"the resource service did not start (it printed {line!r})")
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            routes: tuple[tuple[str, dict[str, str]], ...] = (
                (PUBLIC, {}),
                (PROTECTED, {"Authorization": f"Bearer {token}"}),
            )
            with requests.Session() as session:
                for path, headers in routes:  # warm-up: keys fetched, token verified and cached, not counted
                    for _ in range(20):
                        session.get(base + path, headers=headers, timeout=120).raise_for_status()
                print(f"{'round':>6}  {'public instructions':>19}  {'protected instructions':>22}  {'ratio':>5}")
                for round_number in range(1, rounds + 1):
                    for path, headers in routes:
                        auth_cost.callgrind_control(server.pid, "--zero")
                        auth_cost.callgrind_control(server.pid, "--instr=on")
                        for _ in range(requests_per_route):
                            session.get(base + path, headers=headers, timeout=120).raise_for_status()
                        auth_cost.callgrind_control(server.pid, "--instr=off")
                        auth_cost.callgrind_control(server.pid, f"--dump=round{round_number}")
                        dump = auth_cost.callgrind_dumps(out)[-1]
                        per_request[path].append(auth_cost.callgrind_totals(dump) / requests_per_route)
                    pub, pro = per_request[PUBLIC][-1], per_request[PROTECTED][-1]
                    print(f"{round_number:>6}  {pub:>19,.0f}  {pro:>22,.0f}  {pub / pro:>5.3f}")
        except Exception:
            log.seek(0)
            print(f"valgrind and the server said:\n{log.read()[-2000:]}", file=sys.stderr)
            raise
        finally:
            auth_cost.stop_server(server, timeout=120)
            log.close()
    return statistics.median(per_request[PUBLIC]), statistics.median(per_request[PROTECTED])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callgrind", action="store_true", help="also count the resource service's instructions")
    parser.add_argument("--requests", type=auth_cost.positive, default=1000, help="per route and round")
    parser.add_argument("--rounds", type=auth_cost.positive, default=2, help="callgrind rounds (default 2)")
    args = parser.parse_args(argv)
    # sys.stdout is a TextIOWrapper when run as a script; typeshed types it as TextIO.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print("Sign and verify per algorithm (this process, PyJWT, timeit best of 5):")
    print(f"  {'algorithm':<10} {'sign':>10} {'verify':>10}")
    for algorithm, sign, verify in sign_verify_costs():
        print(f"  {algorithm:<10} {shown(sign):>10} {shown(verify):>10}")
    if not args.callgrind:
        print("The resource service's protected/public ratio: make bench BENCH_ARGS=--callgrind")
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("--callgrind needs Valgrind: apt-get install valgrind (as root)", file=sys.stderr)
        return 2
    print(
        f"Resource service in instructions: {PUBLIC} (public) vs {PROTECTED} (ES256 token, verified-token "
        f"cache on); {args.rounds} round(s) x {args.requests} sequential requests per route"
    )
    pub, pro = resource_instructions(args.requests, args.rounds)
    print(f"ratio protected/public (requests per instruction, median of rounds): {pub / pro:.3f}")
    print(f"authentication adds {pro - pub:,.0f} instructions per request ({pro / pub - 1:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
