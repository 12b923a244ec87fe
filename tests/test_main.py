"""``python -m tutorial_src``: the standalone server serves the README's curl session as shown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tutorial_src.__main__ import banner, parse_args
from tutorial_src.demo import DEMO_USERS

READY_TIMEOUT = 60  # seconds; a loaded 2-core CI machine can be slow to start Python


def free_port() -> int:
    """A port nobody listens on right now (``--port 0`` would work but could not be printed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = READY_TIMEOUT) -> None:
    """Poll ``url`` until it answers; fail if the process exits first or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2).close()
            return
        # A timeout too: under load the listening socket accepts before a worker is there to answer.
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer within {timeout} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("JWT_SECRET", None)
    # A file, not a pipe, for the access log: a full pipe would block the server.
    log = (tmp_path_factory.mktemp("server") / "log.txt").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "tutorial_src", "--port", str(port)], stdout=log, stderr=log, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# The README session, request by request: (method, path, JSON body, Authorization, status, expected body).
ALICE_EMAIL, ALICE_PASSWORD, _ = DEMO_USERS[0]
MISSING = "this route needs an access token: 'Authorization: Bearer <token>' from POST /login"
SESSION = [
    (
        "GET",
        "/get-user",
        None,
        "Bearer {token}",
        200,
        {
            "user": "User id=1: <alice@example.com, is_admin=False>",
            "id": 1,
            "email": "alice@example.com",
            "is_admin": False,
        },
    ),
    ("GET", "/get-user", None, None, 401, {"error": "authentication_required", "message": MISSING}),
    (
        "GET",
        "/admin/users",
        None,
        "Bearer {token}",
        403,
        {"error": "insufficient_scope", "message": "this route is for admins only"},
    ),
    (
        "GET",
        "/get-user",
        None,
        "{token}",
        401,
        {
            "error": "authentication_required",
            "message": "this server reads Bearer credentials, not a bare token; "
            "send 'Authorization: Bearer <token>' with the token from POST /login",
        },
    ),
]


def test_readme_curl_session(server):
    url, _ = server
    with requests.Session() as http:
        response = http.post(f"{url}/login", json={"email": ALICE_EMAIL, "password": ALICE_PASSWORD}, timeout=30)
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token"]
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900
        token = body["access_token"]
        for method, path, json_body, authorization, status, expected in SESSION:
            headers = {"Authorization": authorization.format(token=token)} if authorization else {}
            response = http.request(method, f"{url}{path}", json=json_body, headers=headers, timeout=30)
            assert (path, response.status_code) == (path, status)
            assert response.json() == expected
            assert response.text == json.dumps(expected)  # the exact text curl prints


def test_the_challenges_of_the_session(server):
    url, _ = server
    with requests.Session() as http:
        anonymous = http.get(f"{url}/get-user", timeout=30)
        assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'


def test_rfc_6750_in_the_real_server(server):
    # Issue 14's acceptance: another scheme gets 401 and a bare challenge (§3.1); "Bearer  <token>" (1*SP) is 200.
    url, _ = server
    with requests.Session() as http:
        other = http.get(f"{url}/get-user", headers={"Authorization": "Token x"}, timeout=30)
        assert other.status_code == 401
        assert other.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'
        assert other.json()["error"] == "authentication_required"
        login = http.post(f"{url}/login", json={"email": ALICE_EMAIL, "password": ALICE_PASSWORD}, timeout=30)
        token = login.json()["access_token"]
        for _ in range(2):  # the second request is a hit of the app's token cache
            two_spaces = http.get(f"{url}/get-user", headers={"Authorization": f"Bearer  {token}"}, timeout=30)
            assert two_spaces.status_code == 200 and two_spaces.json()["id"] == 1


def test_admin_can_list_users(server):
    url, _ = server
    email, password, _ = DEMO_USERS[1]
    with requests.Session() as http:
        login = http.post(f"{url}/login", json={"email": email, "password": password}, timeout=30)
        token = login.json()["access_token"]
        response = http.get(f"{url}/admin/users", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200
    assert [user["email"] for user in response.json()["users"]] == ["alice@example.com", "admin@example.com"]


def test_the_server_prints_url_and_demo_users_then_stops_cleanly():
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("JWT_SECRET", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tutorial_src", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert stdout == banner("127.0.0.1", port) + "\n"
    assert f"http://127.0.0.1:{port}" in stdout
    for email, password, _ in DEMO_USERS:
        assert email in stdout and password in stdout
    assert "Traceback" not in stderr


def test_parse_args_defaults():
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8080)
    args = parse_args(["--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)


def test_banner_says_where_the_secret_comes_from(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    assert "from JWT_SECRET" in banner("127.0.0.1", 8080)
    monkeypatch.delenv("JWT_SECRET")
    assert "random for this process" in banner("127.0.0.1", 8080)


def test_parse_args_db_from_the_option_or_the_environment(monkeypatch):
    monkeypatch.delenv("JWT_TUTORIAL_DB", raising=False)
    assert parse_args([]).db is None
    assert parse_args(["--db", "x.db"]).db == Path("x.db")
    monkeypatch.setenv("JWT_TUTORIAL_DB", "from-env.db")
    assert parse_args([]).db == Path("from-env.db")
    assert parse_args(["--db", "x.db"]).db == Path("x.db")


def test_banner_says_where_users_and_sessions_live():
    assert "Database: none, in memory" in banner("127.0.0.1", 8080)
    assert "Database: /tmp/users.db (SQLite" in banner("127.0.0.1", 8080, db=Path("/tmp/users.db"))
