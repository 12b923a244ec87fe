"""The server under abuse, as deployed: ``python -m tutorial_src`` and gunicorn, in their own processes.

Hostile requests go through a real socket; the server's log (a file) is read after it stops. No log line may
hold a bearer token, a refresh token, a password or a URL's ``access_token``; a client hanging up mid-body is
one INFO line, never a traceback or a 500; slow bodies and slow headers are closed by both servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from test_main import free_port, wait_until_ready

from tutorial_src.demo import DEMO_USERS

ALICE_EMAIL, ALICE_PASSWORD, _ = DEMO_USERS[0]
REFRESH_TOKEN = "rt-opaque-refresh-token-value-0123456789"
PASSWORD = "a-password-that-must-never-reach-a-log"
GONE = "POST /login: the client closed the connection before the answer"
SECRET = "a-shared-secret-for-the-abuse-tests-0123456789"


def stop(process: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def slow(port: int, head: bytes) -> bytes:
    """Send ``head``, then one byte a second until the server closes; what it answered."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        sock.settimeout(1.0)
        for _ in range(120):  # a bound, not a timing: the default timeouts are 10 s
            try:
                sock.send(b"x")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return answer
            if not chunk:
                return answer
            answer += chunk
    raise AssertionError("the server never closed a connection sending one byte a second")


def slow_body_and_headers(port: int) -> dict[str, bytes]:
    """A body and, at the same time on another connection, headers at one byte a second."""
    heads = {
        "body": b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n",
        "headers": b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ",
    }
    answers: dict[str, bytes] = {}
    threads = [
        threading.Thread(target=lambda k=k, head=head: answers.update({k: slow(port, head)}))
        for k, head in heads.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def assert_slow_clients_were_closed(answers: dict[str, bytes]) -> None:
    assert answers["body"].startswith(b"HTTP/1.1 408 "), answers["body"]
    assert b'"error": "request_timeout"' in answers["body"]
    assert answers["headers"] == b""  # closed without an answer


def wait_for_line(log: Path, text: str) -> None:
    for _ in range(600):
        if text in log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in the log")


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "JWT_SECRET": SECRET}
    log = tmp_path_factory.mktemp("abuse") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tutorial_src", "--port", str(port)], stdout=out, stderr=out, env=env
        )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process)
        yield port, process, log
    finally:
        if process.poll() is None:
            stop(process)


def hostile_requests(port: int) -> str:
    """Send every way a credential could reach a log; the access token they carry."""
    url = f"http://127.0.0.1:{port}"
    login = requests.post(f"{url}/login", json={"email": ALICE_EMAIL, "password": ALICE_PASSWORD}, timeout=30)
    token = login.json()["access_token"]
    # One illegal byte in the Authorization line: aiohttp's parser refuses it and logs the raw header.
    for credential in (token, REFRESH_TOKEN):
        answer = exchange(
            port,
            b"GET /get-user HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\x01\r\n\r\n" % credential.encode(),
        )
        assert answer.startswith(b"HTTP/1.")
    answer = exchange(port, b"GET / HTTP/1.1\r\nHost: t\r\nX-Note: password=%s\x01\r\n\r\n" % PASSWORD.encode())
    assert answer.startswith(b"HTTP/1.")
    # Credentials in the URL: refused on a protected route, ignored on a public one; both access-logged.
    assert requests.get(f"{url}/get-user", params={"access_token": token}, timeout=30).status_code == 400
    assert requests.get(f"{url}/", params={"access_token": token}, timeout=30).status_code == 200
    assert requests.get(f"{url}/", params={"refresh_token": REFRESH_TOKEN}, timeout=30).status_code == 200
    assert requests.get(f"{url}/", params={"password": PASSWORD}, timeout=30).status_code == 200
    # A valid token in the header, and a login with a stale one.
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{url}/get-user", headers=headers, timeout=30).status_code == 200
    stale = requests.post(
        f"{url}/login",
        json={"email": ALICE_EMAIL, "password": ALICE_PASSWORD},
        headers=headers | {"Authorization": "Bearer a.b.c"},
        timeout=30,
    )
    assert stale.status_code == 200
    # A wrong password, and a client that hangs up in the middle of its body.
    wrong = requests.post(f"{url}/login", json={"email": ALICE_EMAIL, "password": PASSWORD}, timeout=30)
    assert wrong.status_code == 401
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
            b'{"email": "alice@example.com", "password": "%s' % PASSWORD.encode()
        )
        time.sleep(0.5)  # not a timing assertion: lets the server start reading the body first
    return token


def test_the_standalone_server_logs_no_credential_and_a_disconnect_once(standalone):
    port, process, log = standalone
    token = hostile_requests(port)
    wait_for_line(log, GONE)
    stop(process)
    text = log.read_text()
    for secret in (token, token.split(".")[2], REFRESH_TOKEN, PASSWORD):
        assert secret not in text
    assert "[redacted]" in text
    assert text.count(GONE) == 1
    assert "unhandled error" not in text
    access = [line for line in text.splitlines() if '" 5' in line]
    assert access == []  # no 5xx in the access log
    # The only tracebacks are aiohttp's own, for the requests its parser refused (scrubbed above).
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            assert lines[index - 1].startswith("Error handling request from"), lines[index - 1]


@pytest.fixture(scope="module")
def standalone_for_timeouts(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path_factory.mktemp("timeouts") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tutorial_src", "--port", str(port)], stdout=out, stderr=out, env=env
        )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process)
        yield port
    finally:
        stop(process)


def test_the_standalone_server_closes_slow_bodies_and_slow_headers(standalone_for_timeouts):
    assert_slow_clients_were_closed(slow_body_and_headers(standalone_for_timeouts))


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX systems only")
def test_gunicorn_closes_slow_clients_and_logs_no_credential(tmp_path):
    pytest.importorskip("gunicorn")
    port = free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "JWT_SECRET": SECRET, "XDG_RUNTIME_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tutorial_src.app:create_app()",
            "--worker-class",
            "aiohttp.GunicornWebWorker",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--error-logfile",
            str(error_log),
            "--graceful-timeout",
            "10",
        ],
        env=env,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process, timeout=120)
        token = hostile_requests(port)
        assert_slow_clients_were_closed(slow_body_and_headers(port))
    finally:
        stop(process, signal.SIGTERM)
    text = access_log.read_text() + error_log.read_text()
    assert "GET /?access_token=[redacted] HTTP/1.1" in text
    for secret in (token, token.split(".")[2], REFRESH_TOKEN, PASSWORD):
        assert secret not in text
    assert "unhandled error" not in text
    assert not [line for line in access_log.read_text().splitlines() if '" 5' in line]
