"""Requests to the kernel's own server never go through a proxy, whatever HTTP_PROXY/HTTPS_PROXY/ALL_PROXY say.

The proxy here is dead (port 9, discard, where nothing listens): any request sent through it fails with
``ProxyError``, so a request that succeeds went directly to 127.0.0.1.
"""

from __future__ import annotations

import nbformat
import pytest
import requests
from conftest import ALICE
from nbclient import NotebookClient
from notebook_helpers import NOTEBOOK_DIR, code_cells

from authoring.nbtools import CurrentEnvKernelManager
from tutorial_src.app import create_app
from tutorial_src.lab.server import LOOPBACK_HOSTS, BackgroundServer, bypass_proxies_for_loopback


def test_requests_reach_the_background_server_despite_a_dead_proxy(dead_proxy_env, settings, users, monkeypatch):
    with BackgroundServer(create_app(settings, users)) as server, requests.Session() as http:
        assert http.get(server.url + "/", timeout=10).status_code == 200
        login = http.post(server.url + "/login", json={"email": ALICE[0], "password": ALICE[1]}, timeout=10)
        assert login.status_code == 200
        assert requests.get(server.url + "/", timeout=10).status_code == 200
        # The proxy is real and dead: without the exemption the same request fails.
        monkeypatch.delenv("no_proxy")
        monkeypatch.delenv("NO_PROXY")
        with pytest.raises(requests.exceptions.ProxyError):
            requests.get(server.url + "/", timeout=10)


def test_a_socks_proxy_is_skipped_too(dead_proxy_env, settings, users, monkeypatch):
    # Without the exemption requests would need PySocks for this, and fail with InvalidSchema.
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    monkeypatch.setenv("all_proxy", "socks5://127.0.0.1:9")
    with BackgroundServer(create_app(settings, users)) as server:
        assert requests.get(server.url + "/", timeout=10).status_code == 200


LOOPBACK = "127.0.0.1,localhost,::1"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {"no_proxy": LOOPBACK, "NO_PROXY": LOOPBACK}),
        ({"no_proxy": "example.com, .corp"}, {"no_proxy": f"example.com,.corp,{LOOPBACK}", "NO_PROXY": LOOPBACK}),
        ({"NO_PROXY": "localhost,127.0.0.1,::1"}, {"no_proxy": LOOPBACK, "NO_PROXY": "localhost,127.0.0.1,::1"}),
        ({"no_proxy": "", "NO_PROXY": "*"}, {"no_proxy": LOOPBACK, "NO_PROXY": f"*,{LOOPBACK}"}),
    ],
    ids=["unset", "lowercase set", "uppercase complete", "empty and star"],
)
def test_the_exemption_keeps_what_the_variables_listed(before, after):
    environ = dict(before)
    bypass_proxies_for_loopback(environ)
    assert environ == after
    bypass_proxies_for_loopback(environ)
    assert environ == after, "a second call changes nothing"


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_requests_agrees_that_each_loopback_name_is_exempt(dead_proxy_env, host):
    url = f"http://{'[::1]' if host == '::1' else host}:8080/"
    assert requests.utils.get_environ_proxies(url) != {}, "the dead proxy applies before the exemption"
    bypass_proxies_for_loopback()
    assert requests.utils.get_environ_proxies(url) == {}


# --- whole notebooks, in a kernel that inherits the dead proxy ---------------------------------------------------

RAISES_TAGS = {"raises-exception"}


@pytest.mark.parametrize("name", ["00-setup.ipynb", "01-login.ipynb"])
def test_a_notebook_runs_with_a_dead_proxy_in_the_environment(dead_proxy_env, name):
    # The kernel is a new process: it gets the dead proxy from this environment, as a learner's kernel would.
    path = NOTEBOOK_DIR / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        allow_errors=True,
        kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    errors = [
        f"{output.ename}: {output.evalue} in:\n{cell.source[:200]}"
        for cell in code_cells(nb)
        if not set(cell.metadata.get("tags", [])) & RAISES_TAGS
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
