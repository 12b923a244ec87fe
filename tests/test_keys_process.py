"""Real processes: ``python -m tutorial_src --alg ES256`` issues tokens that PyJWT verifies with the published
JWKS alone, and ``python -m tutorial_src.resource`` (a second process, no key of its own) accepts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
from test_main import free_port, wait_until_ready

from tutorial_src.demo import DEMO_USERS
from tutorial_src.keyset import directory_step


def start(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, object]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("JWT_SECRET", None)
    log = (tmp_path / f"{name}.log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=log, env=env)
    return process, log


def stop(process: subprocess.Popen, log) -> str:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.seek(0)
    text = log.read()
    log.close()
    return text


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("issuer")
    port = free_port()
    process, log = start(tmp_path, "issuer", "tutorial_src", "--port", str(port), "--alg", "ES256")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url, log
    finally:
        stop(process, log)


def log_in(url: str) -> str:
    email, password, _ = DEMO_USERS[0]
    body = requests.post(f"{url}/login", json={"email": email, "password": password}, timeout=30).json()
    return body["access_token"]


def test_the_banner_says_the_keys_are_ephemeral_and_names_the_kid(issuer):
    url, log = issuer
    log.seek(0)
    text = log.read()
    kid = requests.get(f"{url}/.well-known/jwks.json", timeout=10).json()["keys"][0]["kid"]
    assert f"Signing keys: ES256, ephemeral, made for this process; current kid {kid}" in text
    assert f"Public keys: {url}/.well-known/jwks.json" in text


def test_a_token_verifies_with_pyjwt_against_the_published_jwks_alone(issuer):
    url, _ = issuer
    token = log_in(url)
    discovery = requests.get(f"{url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery == {"issuer": url, "jwks_uri": f"{url}/.well-known/jwks.json"}
    jwks = jwt.PyJWKSet.from_dict(requests.get(discovery["jwks_uri"], timeout=10).json())
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token, jwks[header["kid"]], algorithms=["ES256"], audience="jwt-tutorial-api", issuer=discovery["issuer"]
    )
    assert (header["alg"], claims["sub"]) == ("ES256", "1")


def test_the_resource_service_process_accepts_the_issuers_token(issuer, tmp_path):
    url, _ = issuer
    port = free_port()
    process, log = start(tmp_path, "resource", "tutorial_src.resource", "--issuer", url, "--port", str(port))
    service = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(service, process)
        token = log_in(url)
        response = requests.get(f"{service}/resource", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert (response.status_code, response.json()["subject"]) == (200, 1)
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        response = requests.get(f"{service}/resource", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
        assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
    finally:
        output = stop(process, log)
    assert f"keys from {url}/.well-known/jwks.json" in output
    assert token not in output


def test_a_server_with_a_key_directory_reloads_it_on_sighup(tmp_path):
    keys = tmp_path / "keys"
    directory_step(keys, "init", "EdDSA")
    port = free_port()
    process, log = start(
        tmp_path, "issuer", "tutorial_src", "--port", str(port), "--alg", "EdDSA", "--keys", str(keys)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        first = [jwk["kid"] for jwk in requests.get(f"{url}/.well-known/jwks.json", timeout=10).json()["keys"]]
        directory_step(keys, "publish-next")
        process.send_signal(signal.SIGHUP)
        for _ in range(300):  # the signal is handled asynchronously: poll, up to 30 s
            published = [
                jwk["kid"] for jwk in requests.get(f"{url}/.well-known/jwks.json", timeout=10).json()["keys"]
            ]
            if len(published) == 2:
                break
            time.sleep(0.1)
        assert published[0] == first[0] and len(published) == 2
    finally:
        output = stop(process, log)
    assert f"Signing keys: EdDSA, from {keys} (reloaded on SIGHUP)" in output
    assert "keys reloaded" in output


def test_keys_without_alg_and_a_mismatched_directory_are_refused(tmp_path):
    keys = tmp_path / "keys"
    directory_step(keys, "init", "EdDSA")
    for args, message in (
        (["--keys", str(keys)], "--keys needs --alg"),
        (["--keys", str(keys), "--alg", "ES256"], "current signing key is EdDSA"),
        (["--keys", str(tmp_path / "none"), "--alg", "ES256"], "current.pem does not exist"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tutorial_src", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1 and message in result.stderr
