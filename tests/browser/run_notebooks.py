"""Run every notebook in JupyterLab, in headless Chromium, the way a learner does: open, Run All, read the page.

``make test-browser`` calls this script. For each notebook it checks what nbval cannot see: the kernel starts
from the browser, "Run All" finishes, no output area holds an error (except in cells tagged
``raises-exception``), every ```` ```mermaid ```` block rendered as SVG, and every ``show_token`` call rendered
its header, payload and signature in three colours. It saves a full-page screenshot of each notebook.

JupyterLab runs from this environment on 127.0.0.1 (a free port, a random token) over a temporary COPY of the
notebooks, so Run All never changes the committed files. Playwright drives Debian's ``chromium`` through its
executable (no browser download). Every process started here carries a marker in its environment; at the end
the script looks for that marker in ``/proc`` and fails if any process is left behind.

Usage: ``python tests/browser/run_notebooks.py [NOTEBOOK_OR_DIR ...] [--screenshots DIR] [--timeout SECONDS]``.
Exit status 0 when every notebook passes, 1 when one fails, 2 when it cannot run (no chromium, no notebooks).
The module is not collected by ``make test`` (its name does not start with ``test_``); its pure helpers are
tested by ``tests/test_browser_runner.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GLOB = "[0-9][0-9]-*.ipynb"
MARKER_VARIABLE = "TUTORIAL_BROWSER_TEST_RUN"
LAB_START_TIMEOUT = 180.0  # seconds; JupyterLab starts in 5-20 s on a loaded 2-core machine
INSTALL_HINT = "chromium not found: install Debian's browser with `apt-get install chromium` (as root), then rerun"

# Chromium flags that let headless Chromium start on this kind of machine: no sandbox (root in a container),
# no GPU, and no background requests to Google services (refused connections otherwise stall start-up).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# User settings of the JupyterLab under test (files in a temporary ``user_settings_dir``).
LAB_SETTINGS = {
    # Attach every cell to the DOM: with the default windowing only cells near the viewport are rendered.
    # No blank page after the last cell: the screenshot ends with the notebook.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "scrollPastEnd": False,
    },
    # The notebooks are copies, but nothing is saved anyway.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # No "get notified about Jupyter news?" toast over the screenshot, no request to the internet.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

MERMAID_FENCE = re.compile(r"^\s*(```|~~~)\s*mermaid\s*$", re.MULTILINE)
SHOW_TOKEN_CALL = re.compile(r"(?<!def )\bshow_token\(")


class SetupError(Exception):
    """The test cannot run at all (no chromium, no notebooks, JupyterLab does not start)."""


# ----------------------------------------------------------------------------------------------- pure helpers


def find_chromium(environ: Mapping[str, str] | None = None) -> str:
    """The chromium executable: ``$CHROMIUM`` if set, else ``chromium`` on ``PATH``; else SetupError."""
    env = os.environ if environ is None else environ
    candidate = env.get("CHROMIUM") or shutil.which("chromium", path=env.get("PATH"))
    if not candidate or not (Path(candidate).is_file() and os.access(candidate, os.X_OK)):
        raise SetupError(INSTALL_HINT)
    return candidate


def collect_notebooks(arguments: list[str], default_dir: Path = ROOT / "notebooks") -> list[Path]:
    """Notebook files from files and directories (``NN-*.ipynb`` inside a directory); SetupError when none."""
    sources = [Path(argument) for argument in arguments] or [default_dir]
    notebooks: list[Path] = []
    for source in sources:
        if source.is_dir() or (source == default_dir and not source.exists()):
            notebooks += sorted(source.glob(DEFAULT_GLOB))
        elif source.suffix == ".ipynb" and source.is_file():
            notebooks.append(source)
        else:
            raise SetupError(f"not a notebook or a directory: {source}")
    if not notebooks:
        where = ", ".join(str(source) for source in sources)
        raise SetupError(f"no notebooks to run (looked for {DEFAULT_GLOB} in {where})")
    names = [path.name for path in notebooks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SetupError(f"two notebooks share a file name: {', '.join(duplicates)}")
    return notebooks


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_lab_settings(settings_dir: Path) -> None:
    """Write ``LAB_SETTINGS`` as JupyterLab user settings files under ``settings_dir``."""
    for relative, values in LAB_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")


def lab_command(
    python: str, *, port: int, token: str, root_dir: Path, state_dir: Path, is_root: bool
) -> list[str]:
    """The ``jupyter lab`` command line: loopback only, no browser of its own, settings kept in ``state_dir``."""
    command = [
        python, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={state_dir / 'settings'}",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if is_root:  # CI runs as root; Jupyter refuses that without this flag
        command.append("--allow-root")
    return command


@dataclass
class CellReport:
    """What the page shows for one cell (collected by ``COLLECT_JS``)."""

    index: int
    kind: str
    prompt: str
    errors: list[str] = field(default_factory=list)
    mermaid_total: int = 0
    mermaid_svg: int = 0
    mermaid_problems: list[str] = field(default_factory=list)
    tokens: list[dict] = field(default_factory=list)


def last_line(text: str) -> str:
    """The last non-blank line of a traceback, ``ename: evalue`` for a Python error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(empty error output)"


def token_view_problems(view: dict) -> list[str]:
    """Why a rendered token view (as collected by ``COLLECT_JS``) is not three visible parts in three colours."""
    if view["problem"]:  # a malformed token shown on purpose: rendered, nothing more to ask
        return []
    problems = []
    colours = {}
    for part in ("header", "payload", "signature"):
        span = view["parts"].get(part)
        if span is None:
            problems.append(f"no {part} part")
            continue
        if span["text"] and not span["visible"]:
            problems.append(f"the {part} part is not visible")
        colours[part] = span["color"]
    if len(colours) == 3 and len(set(colours.values())) < 3:
        problems.append(f"the parts are not in three colours ({', '.join(colours.values())})")
    return problems


def check_notebook(cells: list[dict], page_cells: list[CellReport]) -> list[str]:
    """Compare the notebook's cells (nbformat dicts) with what the page shows; one message per problem."""
    if len(cells) != len(page_cells):
        return [f"the page shows {len(page_cells)} cells, the notebook has {len(cells)}"]
    failures = []
    not_run: list[tuple[int, str]] = []  # (cell number, prompt) of code cells without an execution count
    for number, (cell, shown) in enumerate(zip(cells, page_cells, strict=True), start=1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        tags = cell.get("metadata", {}).get("tags", [])
        where = f"cell {number}"
        if cell["cell_type"] == "code":
            expects_error = "raises-exception" in tags
            if source.strip() and not re.fullmatch(r"\[\d+\]:", shown.prompt):
                not_run.append((number, shown.prompt))
            if shown.errors and not expects_error:
                failures += [f"{where}: {last_line(error)}" for error in shown.errors]
            calls = any(SHOW_TOKEN_CALL.search(line.split("#")[0]) for line in source.splitlines())
            if calls and not expects_error and not shown.tokens:
                failures.append(f"{where}: calls show_token but no token display rendered")
        if cell["cell_type"] == "markdown":
            expected = len(MERMAID_FENCE.findall(source))
            if shown.mermaid_total < expected or shown.mermaid_svg < expected:
                detail = "; ".join(shown.mermaid_problems) or "not rendered"
                failures.append(
                    f"{where}: {shown.mermaid_svg} of {expected} Mermaid diagrams rendered as SVG ({detail})"
                )
        for view in shown.tokens:
            failures += [f"{where}: token display: {problem}" for problem in token_view_problems(view)]
    if not_run:  # after an error Run All stops: one line for all the cells it left, not one per cell
        listed = ", ".join(f"{number} {prompt}".strip() for number, prompt in not_run[:5])
        more = f" and {len(not_run) - 5} more" if len(not_run) > 5 else ""
        failures.append(f"not executed: {len(not_run)} code cell(s), cells {listed}{more}")
    return failures


def marked_processes(marker: str, *, exclude: set[int]) -> list[int]:
    """PIDs of live processes whose environment holds ``MARKER_VARIABLE=marker`` (read from ``/proc``)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is no zombie (a zombie has ended, its parent has not reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def end_processes(pids: list[int], *, grace: float = 5.0) -> None:
    """SIGTERM each pid, then SIGKILL whatever is still there after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ JupyterLab


class Lab:
    """A JupyterLab server for the test: ``with Lab(root_dir, marker) as lab: lab.url``; always shut down."""

    def __init__(self, root_dir: Path, state_dir: Path, marker: str, log_path: Path) -> None:
        self.root_dir = root_dir
        self.state_dir = state_dir
        self.marker = marker
        self.log_path = log_path
        self.port = free_port()
        self.token = secrets.token_urlsafe(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def api(self, method: str, path: str, *, timeout: float = 10.0):
        """Call the Jupyter Server REST API; the decoded JSON body, or None for an empty one."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def __enter__(self) -> Lab:
        write_lab_settings(self.state_dir / "settings")
        environ = dict(os.environ)
        environ[MARKER_VARIABLE] = self.marker
        environ["JUPYTER_RUNTIME_DIR"] = str(self.state_dir / "runtime")  # connection files die with the run
        command = lab_command(
            sys.executable,
            port=self.port,
            token=self.token,
            root_dir=self.root_dir,
            state_dir=self.state_dir,
            is_root=os.geteuid() == 0,
        )
        self._log = open(self.log_path, "w", encoding="utf-8")
        try:
            # A session of its own: a Ctrl-C in the terminal reaches this script, which shuts the server down.
            self.process = subprocess.Popen(
                command, env=environ, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            self._wait_ready(timeout=LAB_START_TIMEOUT)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self.process
        if process is None:
            raise SetupError("JupyterLab was not started")
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SetupError(f"JupyterLab exited with status {process.returncode}; see {self.log_path}")
            try:
                self.api("GET", "/api/status", timeout=5)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise SetupError(f"JupyterLab did not answer /api/status within {timeout:.0f} s; see {self.log_path}")

    def kernel_states(self) -> dict[str, str]:
        """``{notebook path: kernel execution_state}`` for the running sessions."""
        sessions = self.api("GET", "/api/sessions")
        return {s["path"]: s["kernel"]["execution_state"] for s in sessions if s.get("kernel")}

    def shut_down_sessions(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}", timeout=60)

    def __exit__(self, *exc_info) -> None:
        if self.process is None:
            self._log.close()
            return
        if self.process.poll() is None:
            try:  # the clean way: the server stops its kernels, then itself
                self.api("POST", "/api/shutdown", timeout=30)
                self.process.wait(timeout=60)
            except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        self.process = None


# ------------------------------------------------------------------------------------------------ the browser

# Reads every cell of the open notebook from the DOM (all cells are attached: windowingMode "none").
COLLECT_JS = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
  .map((cell, index) => {
    const visible = (element) => {
      const box = element.getBoundingClientRect();
      const style = getComputedStyle(element);
      return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    };
    const part = (view, name) => {
      const span = view.querySelector('.jwt-' + name);
      return span && {text: span.textContent, visible: visible(span), color: getComputedStyle(span).color};
    };
    // JupyterLab 4 renders a diagram as <img src="data:image/svg+xml,..."> inside .jp-RenderedMermaid.
    const svgOf = (m) => m.querySelector('svg, img[src^="data:image/svg+xml"]');
    const drawn = (m) => {
      const s = svgOf(m);
      return s && visible(s) && (s.tagName !== 'IMG' || s.naturalWidth > 0);  // an <img> that has loaded
    };
    const mermaid = Array.from(cell.querySelectorAll('.jp-RenderedMermaid'));
    return {
      index,
      kind: cell.classList.contains('jp-CodeCell') ? 'code'
        : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
      prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim(),
      errors: Array.from(cell.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map(e => e.innerText),
      mermaid_total: mermaid.length,
      mermaid_svg: mermaid.filter(drawn).length,
      mermaid_problems: mermaid.filter(m => !drawn(m))
        .map(m => (m.innerText || '').trim().split('\\n')[0].slice(0, 200)),
      tokens: Array.from(cell.querySelectorAll('.jp-OutputArea .jwt-token-view')).map(view => ({
        problem: !!view.querySelector('.jwt-problem'),
        parts: {header: part(view, 'header'), payload: part(view, 'payload'),
                signature: part(view, 'signature')},
      })),
    };
  })
"""

PROMPTS_JS = """
() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
  .map(e => e.textContent.trim())
"""

# How tall the page must be for the notebook's scrolling area to show every cell at once.
FULL_HEIGHT_JS = """
() => {
  const scroller = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  return scroller ? window.innerHeight + scroller.scrollHeight - scroller.clientHeight : window.innerHeight;
}
"""


SCROLL_TOP_JS = """
() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')?.scrollTo(0, 0)
"""


def run_notebook(page, lab: Lab, name: str, cells: list[dict], screenshot: Path, timeout: float) -> list[str]:
    """Open ``name`` in JupyterLab, Run All, and return the problems found (empty when it passes)."""
    deadline = time.monotonic() + timeout

    def remaining() -> float:  # milliseconds, for Playwright
        return max(1000.0, (deadline - time.monotonic()) * 1000)

    page.set_viewport_size({"width": 1280, "height": 900})
    # ``reset`` starts from an empty workspace: only this notebook open, nothing restored from before.
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}", timeout=remaining())
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=remaining())
    # The learner's first step: wait for the kernel to be started and idle.
    while lab.kernel_states().get(name) != "idle":
        dialog = page.locator(".jp-Dialog")
        if time.monotonic() > deadline or dialog.count():
            # e.g. "Select Kernel" when the notebook names a kernel this environment does not have
            said = dialog.first.inner_text().replace("\n", " ")[:300] if dialog.count() else "no dialog"
            return [f"the kernel did not start within {timeout:.0f} s ({said})"]
        time.sleep(0.5)
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})  # focus the notebook

    # Run > Run All Cells, through the menu bar as a learner clicks it.
    page.get_by_role("menuitem", name="Run", exact=True).click(timeout=remaining())
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click(timeout=remaining())

    # Finished when the kernel is idle and no cell shows [*], twice in a row; first wait for the run to start
    # (a cell shows [*] or a number) so an idle kernel before the run is not taken for the end.
    started = False
    settled = 0
    failures = []
    while settled < 2:
        if time.monotonic() > deadline:
            return [f"Run All did not finish within {timeout:.0f} s"]
        time.sleep(0.5)
        prompts = page.evaluate(PROMPTS_JS)
        running = any("*" in prompt for prompt in prompts)
        started = started or running or any(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts)
        state = lab.kernel_states().get(name)
        if state in (None, "dead", "restarting", "autorestarting"):
            failures = [f"the kernel died during Run All (state {state})"]
            break
        idle = state == "idle"
        settled = settled + 1 if started and idle and not running else 0

    # Mermaid renders asynchronously: give the diagrams time to appear as SVG (a diagram that never does is left
    # for the screenshot to show; the run goes on).
    expected = sum(len(MERMAID_FENCE.findall(_source(cell))) for cell in cells if cell["cell_type"] == "markdown")
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "(n) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid :is("
            'svg, img[src^="data:image/svg+xml"])\').length >= n',
            arg=expected,
            timeout=min(remaining(), 60_000),
        )

    page_cells = [CellReport(**cell) for cell in page.evaluate(COLLECT_JS)]
    failures += check_notebook(cells, page_cells)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():  # e.g. "Kernel Restarting": the learner would see it over the notebook
        failures.append("a dialog is open: " + " ".join(dialog.first.inner_text().split())[:300])
        page.keyboard.press("Escape")

    # Screenshot: fold the file browser away, make the page as tall as the notebook and scroll to its top, so
    # that the whole notebook is on one picture.
    current_tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current_tab.count():
        current_tab.first.click(timeout=10_000)
    page.wait_for_timeout(300)
    page.set_viewport_size({"width": 1280, "height": min(int(page.evaluate(FULL_HEIGHT_JS)) + 40, 30_000)})
    page.evaluate(SCROLL_TOP_JS)
    page.wait_for_timeout(500)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True, timeout=remaining())
    return failures


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _run_one(browser, lab: Lab, path: Path, screenshots: Path, timeout: float) -> tuple[list[str], float]:
    """Run one notebook in a fresh page, then shut its kernel down; the problems found and the seconds taken."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    began = time.monotonic()
    page = browser.new_page()
    try:
        failures = run_notebook(page, lab, path.name, cells, screenshots / f"{path.stem}.png", timeout)
    except Exception as error:
        failures = [f"{type(error).__name__}: {str(error).splitlines()[0]}"]
    finally:
        page.close()
    try:  # one kernel at a time: the notebooks start servers and hash passwords
        lab.shut_down_sessions()
    except (urllib.error.URLError, OSError) as error:
        failures.append(f"could not shut its kernel down: {error}")
    return failures, time.monotonic() - began


def run(notebooks: list[Path], screenshots: Path, timeout: float, chromium: str) -> int:
    """Run every notebook; print one line per notebook and a summary; 0 when all pass, 1 otherwise."""
    from playwright.sync_api import sync_playwright  # the `browser` extra; `make test` does not need it

    marker = secrets.token_hex(8)
    os.environ[MARKER_VARIABLE] = marker  # inherited by the Playwright driver and chromium
    passed, failed = [], []
    with tempfile.TemporaryDirectory(prefix="browser-test-") as tmp:
        tmp_path = Path(tmp)
        root_dir = tmp_path / "notebooks"
        root_dir.mkdir()
        for path in notebooks:
            shutil.copy2(path, root_dir / path.name)
        (tmp_path / "state").mkdir()
        start = time.monotonic()
        try:
            lab_log = screenshots.parent / "test-browser-jupyterlab.log"  # kept: the place to look when it fails
            lab_log.parent.mkdir(parents=True, exist_ok=True)
            with Lab(root_dir, tmp_path / "state", marker, lab_log) as lab, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
                try:
                    for path in notebooks:
                        failures, took = _run_one(browser, lab, path, screenshots, timeout)
                        if failures:
                            failed.append(path.name)
                            print(f"FAILED {path.name} ({took:.0f} s):", flush=True)
                            for failure in failures:
                                print(f"  {path.name}: {failure}", flush=True)
                        else:
                            passed.append(path.name)
                            print(f"ok     {path.name} ({took:.0f} s)", flush=True)
                finally:
                    browser.close()
        finally:
            leftovers = marked_processes(marker, exclude={os.getpid()})
            if leftovers:
                end_processes(leftovers)
                failed.append("process check")
                print(f"FAILED processes left behind and ended: {leftovers}", flush=True)
            del os.environ[MARKER_VARIABLE]
        print(f"screenshots in {screenshots} ({time.monotonic() - start:.0f} s in all)")
    print(f"browser: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks", nargs="*", help=f"notebooks or directories (default: notebooks/{DEFAULT_GLOB})"
    )
    parser.add_argument("--screenshots", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per notebook (default 600)")
    args = parser.parse_args(argv)
    # make, CI or a terminal may stop the run with SIGTERM: exit through the `finally` blocks that shut
    # JupyterLab and chromium down instead of dying on the spot.
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        chromium = find_chromium()
        notebooks = collect_notebooks(args.notebooks)
        return run(notebooks, args.screenshots, args.timeout, chromium)
    except SetupError as error:
        print(f"test-browser: {error}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


if __name__ == "__main__":
    sys.exit(main())
