"""The server a notebook starts runs that notebook's code: edit the central function of notebooks 01 and 03, run
the notebook, and every answer of its server that depends on that function changes (and no other)."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_helpers import NOTEBOOK_DIR, code_cells

from authoring.lesson import output_text
from authoring.nbtools import CurrentEnvKernelManager
from authoring.student import BEGIN_SOLUTION, END_SOLUTION, EXERCISE_TAG

REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN_SOLUTION)}\n.*?^[ \t]*{re.escape(END_SOLUTION)}$", re.M | re.S
)


def edited(name: str, bodies: dict[str, str]) -> nbformat.NotebookNode:
    """Notebook ``name`` with the solution region of the exercise defining each function of ``bodies``
    replaced by that body (what a learner's edit does), run top to bottom."""
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    for function, body in bodies.items():
        [cell] = [
            c
            for c in code_cells(nb)
            if EXERCISE_TAG in c.metadata.get("tags", [])
            and re.search(rf"^(async )?def {function}\(", c.source, re.M)
        ]
        indented = "\n".join(f"    {line}" if line else "" for line in body.strip("\n").splitlines())
        # The region of that function: a cell may define several (signed_in_user, then login_required).
        definition = re.search(rf"^(async )?def {function}\(", cell.source, re.M)
        assert definition is not None
        start = definition.start()
        cell.source = cell.source[:start] + REGION.sub(
            indented.replace("\\", "\\\\"), cell.source[start:], count=1
        )
    NotebookClient(
        nb, timeout=300, allow_errors=True, kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    ).execute()  # fmt: skip
    return nb


def output_of(nb: nbformat.NotebookNode, marker: str) -> str:
    [cell] = [c for c in code_cells(nb) if marker in c.source]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    return output_text(cell)


@pytest.fixture(scope="module")
def shipped():
    return {
        name: nbformat.read(NOTEBOOK_DIR / name, as_version=4) for name in ("01-login.ipynb", "03-decorator.ipynb")
    }


CLOSED_LOGIN = """
raise json_error(web.HTTPUnauthorized, "login_disabled", "no logins today")
"""


def test_editing_login_changes_every_login_answer_of_notebook_01(shipped):
    nb = edited("01-login.ipynb", {"login": CLOSED_LOGIN})
    before = shipped["01-login.ipynb"]
    assert "❌ Not yet" in output_of(nb, "check.login_lab(login)")
    json_login = output_of(nb, 'print(response.headers.get("Cache-Control"))')
    assert json_login.splitlines()[0] == "401" and "login_disabled" in json_login
    assert output_of(before, 'print(response.headers.get("Cache-Control"))').startswith("200")
    assert output_of(nb, "form_response = requests.post(").startswith("401 application/x-www-form-urlencoded")
    assert output_of(nb, "show_token(token)").startswith("no access_token in the answer")
    credentials = output_of(nb, "def call_login(")
    assert "login_disabled" in credentials and "invalid_credentials" not in credentials
    assert "WWW-Authenticate   None" in credentials
    rows = {
        line[:18].strip(): line[18:].split()[:2] for line in output_of(nb, "bad_requests = [").splitlines()[1:9]
    }
    login_rows = [
        "missing field",
        "number field",
        "invalid JSON",
        "JSON array",
        "text/plain body",
        "body over 16 KiB",
    ]
    # A body no login can use is refused before login runs: the login guard (abuse.login_guard) reads the
    # credentials first, with read_credentials, which notebook 01 gives rather than asks for.
    before_rows = {
        line[:18].strip(): line[18:].split()[:2]
        for line in output_of(before, "bad_requests = [").splitlines()[1:9]
    }
    assert all(rows[label] == before_rows[label] != ["401", "login_disabled"] for label in login_rows), rows
    # The answers that never reach login stay too: the router's 405 and 404.
    assert rows["GET /login"] == ["405", "method_not_allowed"] and rows["unknown path"] == ["404", "not_found"]


OPEN_LOGIN_REQUIRED = """
_require_coroutine(handler, "login_required")
return handler
"""
SIGNED_IN_IS_ENOUGH = """
return login_required(handler)
"""


def test_editing_the_decorators_changes_every_guarded_answer_of_notebook_03(shipped):
    nb = edited(
        "03-decorator.ipynb", {"login_required": OPEN_LOGIN_REQUIRED, "admin_required": SIGNED_IN_IS_ENOUGH}
    )
    assert "❌ Not yet" in output_of(nb, "check.login_required_lab(login_required)")
    assert "❌ Not yet" in output_of(nb, "check.admin_required_lab(admin_required)")
    answers = {
        tuple(line.split()[:3]): line.split()[4]
        for line in output_of(nb, "def token_for(").splitlines()
        if " -> " in line
    }
    shipped_answers = {
        tuple(line.split()[:3]): line.split()[4]
        for line in output_of(shipped["03-decorator.ipynb"], "def token_for(").splitlines()
        if " -> " in line
    }
    assert shipped_answers == {
        ("anonymous", "GET", "/profile"): "401",
        ("anonymous", "GET", "/get-user"): "401",
        ("alice", "GET", "/profile"): "200",
        ("alice", "GET", "/get-user"): "200",
        ("anonymous", "GET", "/admin/users"): "401",
        ("alice", "GET", "/admin/users"): "403",
        ("admin", "GET", "/admin/users"): "200",
    }
    # Strangers reach the handlers (which crash on a missing user, or list every user); alice becomes an admin.
    assert answers == {
        ("anonymous", "GET", "/profile"): "500",
        ("anonymous", "GET", "/get-user"): "500",
        ("alice", "GET", "/profile"): "200",
        ("alice", "GET", "/get-user"): "200",
        ("anonymous", "GET", "/admin/users"): "200",
        ("alice", "GET", "/admin/users"): "200",
        ("admin", "GET", "/admin/users"): "200",
    }
    situations = output_of(nb, "situations = [")
    assert "no token                     -> 200 OK" in situations
    assert "a valid token, not an admin  -> 200 OK" in situations
    # A route whose guard lets strangers in serves a stale token as a stranger (abuse.ignore_stale_credentials).
    assert "an expired token             -> 200 OK" in situations
