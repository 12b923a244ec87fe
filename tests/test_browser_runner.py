"""The parts of tests/browser/run_notebooks.py (``make test-browser``) that run without a browser.

The browser run itself is ``make test-browser``; here: finding chromium, choosing notebooks, the JupyterLab
command and settings, judging what the page showed, and the check that no process is left behind.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "browser" / "run_notebooks.py"


def _load():
    spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


rn = _load()


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------------------------- find_chromium


def test_chromium_from_the_environment_variable(tmp_path):
    browser = executable(tmp_path / "my-chromium")
    assert rn.find_chromium({"CHROMIUM": str(browser), "PATH": ""}) == str(browser)


def test_chromium_from_path(tmp_path):
    browser = executable(tmp_path / "chromium")
    assert rn.find_chromium({"PATH": str(tmp_path)}) == str(browser)


@pytest.mark.parametrize("environ", [{"PATH": ""}, {"CHROMIUM": "/nonexistent/chromium", "PATH": ""}])
def test_missing_chromium_says_how_to_install_it(environ):
    with pytest.raises(rn.SetupError) as caught:
        rn.find_chromium(environ)
    message = str(caught.value)
    assert "apt-get install chromium" in message
    assert "\n" not in message


def test_a_chromium_that_is_not_executable_is_missing(tmp_path):
    (tmp_path / "chromium").write_text("", encoding="utf-8")
    with pytest.raises(rn.SetupError, match="apt-get install chromium"):
        rn.find_chromium({"CHROMIUM": str(tmp_path / "chromium"), "PATH": ""})


# ----------------------------------------------------------------------------------------- collect_notebooks


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", encoding="utf-8")
    return path


def test_a_directory_gives_its_numbered_notebooks_in_order(tmp_path):
    second, first = touch(tmp_path / "02-b.ipynb"), touch(tmp_path / "01-a.ipynb")
    touch(tmp_path / "scratch.ipynb")
    touch(tmp_path / "03-notes.md")
    assert rn.collect_notebooks([str(tmp_path)]) == [first, second]


def test_named_files_are_taken_as_given(tmp_path):
    notebook = touch(tmp_path / "scratch.ipynb")
    assert rn.collect_notebooks([str(notebook)]) == [notebook]


def test_no_arguments_read_the_default_directory(tmp_path):
    notebook = touch(tmp_path / "notebooks" / "01-login.ipynb")
    assert rn.collect_notebooks([], default_dir=tmp_path / "notebooks") == [notebook]


@pytest.mark.parametrize("make_dir", [True, False])
def test_no_notebooks_is_an_error(tmp_path, make_dir):
    if make_dir:
        (tmp_path / "notebooks").mkdir()
    with pytest.raises(rn.SetupError, match="no notebooks to run"):
        rn.collect_notebooks([], default_dir=tmp_path / "notebooks")


def test_a_path_that_is_no_notebook_is_an_error(tmp_path):
    with pytest.raises(rn.SetupError, match="not a notebook or a directory"):
        rn.collect_notebooks([str(touch(tmp_path / "notes.md"))])


def test_two_notebooks_with_one_name_are_an_error(tmp_path):
    # They are copied into one directory for JupyterLab.
    first, second = touch(tmp_path / "a" / "01-x.ipynb"), touch(tmp_path / "b" / "01-x.ipynb")
    with pytest.raises(rn.SetupError, match=r"share a file name: 01-x\.ipynb"):
        rn.collect_notebooks([str(first), str(second)])


# ------------------------------------------------------------------------------------- JupyterLab set-up


def test_free_port_can_be_bound():
    import socket

    port = rn.free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_lab_settings_show_every_cell_and_save_nothing(tmp_path):
    rn.write_lab_settings(tmp_path)
    tracker = json.loads((tmp_path / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").read_text())
    docmanager = json.loads((tmp_path / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings").read_text())
    assert tracker["windowingMode"] == "none"
    assert docmanager["autosave"] is False


@pytest.mark.parametrize("is_root", [True, False])
def test_lab_command_listens_on_loopback_with_the_token(tmp_path, is_root):
    command = rn.lab_command(
        "python", port=8123, token="secret", root_dir=tmp_path / "nb", state_dir=tmp_path, is_root=is_root
    )
    assert command[:3] == ["python", "-m", "jupyterlab"]
    for option in (
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=8123",
        "--IdentityProvider.token=secret",
        f"--ServerApp.root_dir={tmp_path / 'nb'}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
    ):
        assert option in command
    assert ("--allow-root" in command) is is_root


def test_lab_starts_answers_and_leaves_no_process(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "state").mkdir()
    marker = f"pytest-{os.getpid()}"
    with rn.Lab(tmp_path / "nb", tmp_path / "state", marker, tmp_path / "lab.log") as lab:
        assert lab.url.startswith("http://127.0.0.1:")
        assert lab.api("GET", "/api/status")["kernels"] == 0
        assert lab.kernel_states() == {}
        pid = lab.process.pid
        assert pid in rn.marked_processes(marker, exclude=set())
    assert not rn.alive(pid)
    assert rn.marked_processes(marker, exclude=set()) == []
    assert "127.0.0.1" in (tmp_path / "lab.log").read_text()


def test_lab_that_cannot_start_is_a_setup_error(tmp_path, monkeypatch):
    (tmp_path / "state").mkdir()
    monkeypatch.setattr(rn, "lab_command", lambda *args, **kwargs: [sys.executable, "-c", "raise SystemExit(3)"])
    lab = rn.Lab(tmp_path, tmp_path / "state", "x", tmp_path / "lab.log")
    with pytest.raises(rn.SetupError, match="JupyterLab exited with status 3"), lab:
        pass
    assert lab.process is None


def test_lab_that_does_not_answer_is_a_setup_error(tmp_path, monkeypatch):
    (tmp_path / "state").mkdir()
    monkeypatch.setattr(rn, "lab_command", lambda *args, **kwargs: ["sleep", "60"])
    monkeypatch.setattr(rn, "LAB_START_TIMEOUT", 1.0)
    lab = rn.Lab(tmp_path, tmp_path / "state", "x", tmp_path / "lab.log")
    with pytest.raises(rn.SetupError, match="did not answer /api/status within 1 s"), lab:
        pass
    assert lab.process is None


# ---------------------------------------------------------------------------------- judging the page


COLOURS = {"header": "rgb(251, 1, 91)", "payload": "rgb(214, 58, 255)", "signature": "rgb(0, 185, 241)"}


def view(*, missing=(), **changes):
    """A token view as COLLECT_JS reports it: three visible parts in jwt.io's colours, then ``changes``."""
    parts = {name: {"text": "abc", "visible": True, "color": colour} for name, colour in COLOURS.items()}
    for name, change in changes.items():
        parts[name].update(change)
    for name in missing:
        parts[name] = None
    return {"problem": False, "parts": parts}


def test_three_visible_parts_in_three_colours_pass():
    assert rn.token_view_problems(view()) == []


def test_token_parts_in_one_colour_fail():
    problems = rn.token_view_problems(view(signature={"color": "rgb(251, 1, 91)"}))
    assert problems == ["the parts are not in three colours (rgb(251, 1, 91), rgb(214, 58, 255), rgb(251, 1, 91))"]


def test_missing_or_hidden_token_parts_fail():
    assert rn.token_view_problems(view(missing=["signature"])) == ["no signature part"]
    assert rn.token_view_problems(view(payload={"visible": False})) == ["the payload part is not visible"]


def test_an_empty_signature_may_be_invisible():
    # alg "none" tokens end with "." : their signature part is empty.
    assert rn.token_view_problems(view(signature={"text": "", "visible": False})) == []


def test_a_malformed_token_shown_on_purpose_passes():
    assert rn.token_view_problems({"problem": True, "parts": {"header": None}}) == []


def test_last_line_is_ename_and_evalue():
    traceback = "------\nValueError    Traceback\nCell In[2], line 1\n\nValueError: broken on purpose\n\n"
    assert rn.last_line(traceback) == "ValueError: broken on purpose"
    assert rn.last_line("  \n") == "(empty error output)"


def code(source, *, tags=()):
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}


def markdown(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def shown(index, kind="code", prompt="[1]:", **fields):
    return rn.CellReport(index=index, kind=kind, prompt=prompt, **fields)


def test_a_clean_run_passes():
    cells = [markdown(["# Title\n", "```mermaid\n", "graph LR\n", "```\n"]), code("x = 1"), code("")]
    page = [shown(0, "markdown", "", mermaid_total=1, mermaid_svg=1), shown(1), shown(2, prompt="[ ]:")]
    assert rn.check_notebook(cells, page) == []


def test_an_error_names_the_cell_and_the_exception():
    cells = [code("x = 1"), code("raise ValueError('broken')"), code("print(x)")]
    page = [shown(0), shown(1, prompt="[2]:", errors=["Traceback\nValueError: broken"]), shown(2, prompt="[ ]:")]
    assert rn.check_notebook(cells, page) == [
        "cell 2: ValueError: broken",
        "not executed: 1 code cell(s), cells 3 [ ]:",
    ]


def test_an_error_in_a_cell_tagged_raises_exception_passes():
    cells = [code("1 / 0", tags=["raises-exception"])]
    assert rn.check_notebook(cells, [shown(0, errors=["ZeroDivisionError: division by zero"])]) == []


def test_a_cell_left_running_fails():
    failures = rn.check_notebook([code("x = 1")], [shown(0, prompt="[*]:")])
    assert failures == ["not executed: 1 code cell(s), cells 1 [*]:"]


def test_cells_left_by_run_all_make_one_line():
    cells = [code("raise ValueError('broken')")] + [code(f"x = {n}") for n in range(7)]
    page = [shown(0, errors=["ValueError: broken"])] + [shown(n, prompt="[ ]:") for n in range(1, 8)]
    assert rn.check_notebook(cells, page) == [
        "cell 1: ValueError: broken",
        "not executed: 7 code cell(s), cells 2 [ ]:, 3 [ ]:, 4 [ ]:, 5 [ ]:, 6 [ ]: and 2 more",
    ]


def test_a_mermaid_block_that_is_no_svg_fails():
    cells = [markdown("```mermaid\ngraph LR\n  A --> B\n```\n\n~~~mermaid\nsequenceDiagram\n~~~")]
    page = [shown(0, "markdown", "", mermaid_total=2, mermaid_svg=1, mermaid_problems=["Syntax error in text"])]
    assert rn.check_notebook(cells, page) == [
        "cell 1: 1 of 2 Mermaid diagrams rendered as SVG (Syntax error in text)"
    ]
    assert rn.check_notebook(cells, [shown(0, "markdown", "")]) == [
        "cell 1: 0 of 2 Mermaid diagrams rendered as SVG (not rendered)"
    ]


def test_show_token_must_render_where_it_is_called():
    cells = [code("show_token(token)")]
    assert rn.check_notebook(cells, [shown(0)]) == ["cell 1: calls show_token but no token display rendered"]
    assert rn.check_notebook(cells, [shown(0, tokens=[view()])]) == []
    broken = rn.check_notebook(cells, [shown(0, tokens=[view(missing=["signature"])])])
    assert broken == ["cell 1: token display: no signature part"]


@pytest.mark.parametrize(
    "source",
    [
        "def show_token(token):\n    return token",
        "# show_token(token) would draw it",
        "from tutorial_src.lab.display import show_token",
    ],
)
def test_mentions_of_show_token_that_are_no_call_ask_for_nothing(source):
    assert rn.check_notebook([code(source)], [shown(0)]) == []


def test_a_different_number_of_cells_fails():
    assert rn.check_notebook([code("x = 1")], []) == ["the page shows 0 cells, the notebook has 1"]


# -------------------------------------------------------------------------------- processes left behind


def test_marked_processes_are_found_and_ended():
    marker = f"pytest-{os.getpid()}-{time.monotonic_ns()}"
    environ = dict(os.environ, **{rn.MARKER_VARIABLE: marker})
    sleeper = subprocess.Popen(["sleep", "60"], env=environ)
    try:
        assert rn.marked_processes(marker, exclude=set()) == [sleeper.pid]
        assert rn.marked_processes(marker, exclude={sleeper.pid}) == []
        rn.end_processes([sleeper.pid], grace=5)
        assert sleeper.wait(timeout=5) == -15
    finally:
        sleeper.kill()
        sleeper.wait()
    assert rn.marked_processes(marker, exclude=set()) == []


def test_end_processes_kills_what_ignores_sigterm():
    ignores_sigterm = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    )
    sleeper = subprocess.Popen([sys.executable, "-c", ignores_sigterm], stdout=subprocess.PIPE)
    sleeper.stdout.readline()  # the handler is in place
    rn.end_processes([sleeper.pid], grace=0.5)
    assert sleeper.wait(timeout=5) == -9
    sleeper.stdout.close()


# ------------------------------------------------------------------------------------------------- main


def test_main_without_chromium_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert rn.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "apt-get install chromium" in err


def test_main_without_notebooks_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(executable(tmp_path / "chromium")))
    (tmp_path / "empty").mkdir()
    assert rn.main([str(tmp_path / "empty")]) == 2
    assert "no notebooks to run" in capsys.readouterr().err
