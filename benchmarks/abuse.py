"""The server under abuse (issue 16): what hostile clients cost ``python -m tutorial_src``, measured.

``make abuse`` (or ``python benchmarks/abuse.py``) starts the standalone server with its default settings on a
free port, then:

1. sends four 1 GiB-inflating gzip bodies (about 1 MiB each) to ``POST /login`` at once, while another thread
   calls ``GET /`` every 20 ms: the server's CPU time over the phase (from ``/proc``, Linux) and the slowest
   ``GET /``;
2. sends 300 ``POST /login`` requests and closes each connection at once, each from its own loopback address
   and for its own unknown email (so the attempt limits do not turn them away: only the login gate and the
   cancellation of abandoned handlers protect the server), then one real login: its latency, and the server's
   CPU time spent on the abandoned ones (the phase's CPU minus one real login's);
3. sends a body at 1 byte/s and, on another connection, headers at 1 byte/s: seconds until the server closes
   each, against ``Settings.body_timeout`` and ``Settings.header_timeout``;
4. checks the attempt limits and the stale header: the 20th wrong password for alice, and for an unknown
   email, within a minute; a login with valid credentials and an expired bearer header.

Each figure is printed beside the issue's threshold. The machine is shared: run it more than once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# After the sys.path line above, which makes the checkout's package importable when run as a script.
from tutorial_src.demo import DEMO_USERS  # noqa: E402
from tutorial_src.settings import Settings  # noqa: E402

ALICE_EMAIL, ALICE_PASSWORD, _ = DEMO_USERS[0]
GIB = 1 << 30
MIB = 1 << 20


def parse_proc_stat(text: str, ticks_per_second: int) -> float:
    """User + system CPU seconds of a process from the text of ``/proc/<pid>/stat``.

    The command name (field 2) is in parentheses and may hold spaces; utime and stime are the 14th and 15th
    fields, counted from the pid, in clock ticks.
    """
    after_name = text[text.rindex(")") + 2 :].split()
    # after_name[0] is field 3 (state): field n is after_name[n - 3].
    return (int(after_name[11]) + int(after_name[12])) / ticks_per_second


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    return parse_proc_stat(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


def gzip_bomb(inflated: int, chunk: int = 4 * MIB) -> bytes:
    """A gzip member of ``inflated`` zero bytes (1 GiB of zeros compresses to about 1 MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(chunk)
    parts = []
    left = inflated
    while left > 0:
        parts.append(packer.compress(zeros[: min(chunk, left)]))
        left -= chunk
    parts.append(packer.flush())
    return b"".join(parts)


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP/1.x answer, or ``None`` when there is none (connection closed first)."""
    first = answer.split(b"\r\n", 1)[0].split()
    if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
        return int(first[1])
    return None


def verdict(value: float, limit: float) -> str:
    """``ok`` when ``value`` is under ``limit``, else ``OVER``."""
    return "ok" if value < limit else "OVER"


def figure(name: str, value: float, unit: str, limit: float) -> str:
    """One report line: the figure, the issue's threshold and the verdict."""
    return f"  {name:<58} {value:9.3f} {unit:<3} (threshold < {limit:g} {unit}: {verdict(value, limit)})"


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(log_path: Path) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tutorial_src", "--port", str(port)], stdout=log, stderr=log, env=env, cwd=ROOT
    )
    server = Server(process, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log_path}")
        try:
            requests.get(server.url, timeout=2).close()
            return server
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within 60 s")


def raw_request(port: int, head: bytes, body: bytes = b"", source: str = "127.0.0.1") -> bytes:
    """Send a request on a new connection, read the answer until the server closes (or 30 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0)) as sock:
        with contextlib.suppress(OSError):  # the server answered and closed before the whole body went out
            sock.sendall(head + body)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer


def login_head(length: int, extra: str = "") -> bytes:
    return (
        f"POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


class Poller(threading.Thread):
    """``GET /`` every ``period`` seconds on a new connection, keeping the slowest latency."""

    def __init__(self, url: str, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.url, self.period = url, period
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            requests.get(self.url, timeout=30).raise_for_status()
            self.latencies.append(time.perf_counter() - start)
            self.stop.wait(self.period)


def phase_bombs(server: Server, bombs: int = 4) -> list[str]:
    bomb = gzip_bomb(GIB)
    head = login_head(len(bomb), "Content-Encoding: gzip\r\n")
    poller = Poller(server.url + "/")
    answers: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: answers.append(raw_request(server.port, head, bomb))) for _ in range(bombs)
    ]
    before = server.cpu()
    poller.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1.0)  # aiohttp's lingering close, when on, goes on inflating after the answer
    poller.stop.set()
    poller.join()
    spent = server.cpu() - before
    statuses = sorted(str(status_of(answer)) for answer in answers)
    return [
        f"1. {bombs} parallel gzip bodies of {len(bomb) / MIB:.2f} MiB inflating to 1 GiB (answers: "
        f"{', '.join(statuses)}), {len(poller.latencies)} GET / meanwhile:",
        figure("server CPU, whole phase", spent, "s", 0.2),
        figure("GET / max latency", max(poller.latencies) * 1000, "ms", 100),
    ]


def real_login(url: str, headers: dict[str, str] | None = None) -> tuple[int, float]:
    start = time.perf_counter()
    response = requests.post(
        url + "/login", json={"email": ALICE_EMAIL, "password": ALICE_PASSWORD}, headers=headers, timeout=60
    )
    return response.status_code, time.perf_counter() - start


def abandon_login(port: int, index: int) -> None:
    body = f'{{"email": "nobody{index}@example.com", "password": "guess {index}"}}'.encode()
    source = f"127.0.{1 + index // 250}.{1 + index % 250}"
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as sock:
        sock.sendall(login_head(len(body)) + body)


def phase_abandoned(server: Server, count: int = 300) -> list[str]:
    before = server.cpu()
    for _ in range(3):
        real_login(server.url)
    one_login = (server.cpu() - before) / 3
    time.sleep(0.5)
    before = server.cpu()
    start = time.perf_counter()

    def abandon_all(part: range) -> None:
        for i in part:
            abandon_login(server.port, i)

    threads = [threading.Thread(target=abandon_all, args=(range(k, count, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent_in = time.perf_counter() - start
    status, latency = real_login(server.url)
    time.sleep(2.0)  # whatever was still hashing finishes
    on_abandoned = server.cpu() - before - one_login
    return [
        f"2. {count} logins sent and abandoned in {sent_in:.2f} s, then one real login (status {status}); "
        f"one login costs the server {one_login * 1000:.0f} ms of CPU:",
        figure("real login latency", latency, "s", 1.0),
        figure("server CPU on the abandoned logins", max(on_abandoned, 0.0), "s", 1.0),
    ]


def slowly(port: int, head: bytes, drip: bytes) -> tuple[float, int | None]:
    """Send ``head`` then ``drip`` one byte a second; seconds until the server closes, and its status."""
    start = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sock.settimeout(1.0)
        for byte in drip:
            try:
                sock.send(bytes([byte]))
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            answer += chunk
            if not chunk:
                break
        else:
            raise RuntimeError("the server never closed the slow connection")
    return time.monotonic() - start, status_of(answer)


def phase_slow(server: Server, settings: Settings) -> list[str]:
    results: dict[str, tuple[float, int | None]] = {}
    body_head = login_head(1000)
    header_head = b"GET / HTTP/1.1\r\nHost: bench\r\n"
    runs = {
        "body": lambda: slowly(server.port, body_head, b" " * 1000),
        "headers": lambda: slowly(server.port, header_head, b"X" * 1000),
    }
    threads = [threading.Thread(target=lambda k=k, run=run: results.update({k: run()})) for k, run in runs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    body_seconds, body_status = results["body"]
    header_seconds, header_status = results["headers"]
    return [
        f"3. a body and headers at 1 byte/s (body_timeout {settings.body_timeout:g} s, header_timeout "
        f"{settings.header_timeout:g} s; the threshold adds the 1 s between two bytes):",
        figure(
            f"1 byte/s body closed after (status {body_status})",
            body_seconds,
            "s",
            settings.body_timeout + 1,
        ),
        figure(
            f"1 byte/s headers closed after (status {header_status})",
            header_seconds,
            "s",
            settings.header_timeout + 1,
        ),
    ]


def phase_limits(server: Server) -> list[str]:
    # The stale header first: ten wrong passwords for alice lock her account for the window, right one or not.
    expired = jwt.encode({"sub": "1", "exp": 1}, "x" * 32, algorithm="HS256")
    status, _ = real_login(server.url, {"Authorization": f"Bearer {expired}"})
    lines = [
        "4. stale headers and attempt limits:",
        f"  POST /login with valid credentials and an expired bearer header: {status}",
    ]
    for index, email in enumerate((ALICE_EMAIL, "nobody@example.com")):
        source = f"127.0.9.{index + 1}"
        body = f'{{"email": "{email}", "password": "wrong password"}}'.encode()
        answers = [raw_request(server.port, login_head(len(body)), body, source) for _ in range(20)]
        retry = [line for line in answers[-1].split(b"\r\n") if line.lower().startswith(b"retry-after:")]
        first_429 = next((n for n, answer in enumerate(answers, 1) if status_of(answer) == 429), None)
        lines.append(
            f"  20th wrong password for {email}: {status_of(answers[-1])}, "
            f"{retry[0].decode() if retry else 'no Retry-After'} (the first 429 was attempt {first_429})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", type=Path, default=Path("build/abuse-server.log"), help="the server's log")
    args = parser.parse_args(argv)
    if not Path("/proc/self/stat").exists():
        sys.exit("make abuse reads CPU times from /proc: Linux only")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    server = start_server(args.log)
    try:
        print(f"python -m tutorial_src on port {server.port}, {os.cpu_count()} CPUs; server log: {args.log}")
        for phase in (phase_bombs, phase_abandoned, lambda s: phase_slow(s, settings), phase_limits):
            print("\n".join(phase(server)), flush=True)
    finally:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
    log = args.log.read_text()
    print(f"server log: {len(log.splitlines())} lines, 'Traceback' {log.count('Traceback')} times")


if __name__ == "__main__":
    main()
