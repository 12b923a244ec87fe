"""Is this Python ready for the series? The Python version, the packages, a background server, a request to it.

Notebook 00 runs these checks, and so does ``python -m tutorial_src.lab.setupcheck`` (exit status 1 when one
fails). Each result is one line, ``✅ …`` or ``❌ …`` followed by the fix. A passing line names no installed
version, only what the project asks for: a notebook's stored output must be the same on every machine.

The requirements are read from the installed project's metadata (``pyproject.toml`` as pip installed it): the
runtime dependencies and the learner's extra, ``notebooks``. Only the standard library is imported at the top,
so a missing package is reported, not raised.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata

#: The distribution whose requirements are checked, and the extra that holds the learner's packages.
DISTRIBUTION = "tutorial-src"
LEARNER_EXTRA = "notebooks"
#: What a learner runs in the repository's folder to install (or repair) everything the series needs.
INSTALL = 'python -m pip install -e ".[notebooks]"'
#: The modules a lesson imports first; importing them proves the compiled parts (argon2, cryptography) load.
LESSON_MODULES = ("tutorial_src.app", "tutorial_src.lab.server", "jwt", "requests")
#: A proxy nobody listens on (port 9, discard): a request sent through it fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
OK, FAILED = "✅", "❌"


@dataclass(frozen=True)
class Finding:
    """One check: ``ok``, what was checked (or found), and what to do when it failed."""

    ok: bool
    what: str
    fix: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"{OK} {self.what}"
        return f"{FAILED} {self.what}\n   Fix: {self.fix}"


def install_fix(python: str = sys.executable) -> str:
    """The install command, spelled with this interpreter, so it lands in the environment of this kernel."""
    command = INSTALL.replace("python", f'"{python}"' if " " in python else python, 1)
    return f"in the repository's folder run  {command}  then restart the kernel (Kernel ▸ Restart Kernel)"


def report(findings: Iterable[Finding]) -> str:
    """One line per finding (two for a failure: what, then the fix)."""
    return "\n".join(map(str, findings))


def summary(findings: Iterable[Finding]) -> str:
    """The last line of the check: ready, or how many checks failed and what to do."""
    failed = sum(not finding.ok for finding in findings)
    if not failed:
        return f"{OK} Ready: open 01-login.ipynb and start the series."
    return (
        f"{FAILED} {failed} check(s) failed: apply each fix above, from the top, then run this notebook again "
        "(Kernel ▸ Restart Kernel and Run All Cells)."
    )


def _project_metadata() -> metadata.PackageMetadata:
    return metadata.metadata(DISTRIBUTION)


def check_python(minimum: str | None = None, version: tuple[int, int, int] | None = None) -> Finding:
    """The Python running this check against the project's ``requires-python`` (``minimum``, e.g. ``>=3.10``)."""
    from packaging.specifiers import SpecifierSet

    minimum = minimum if minimum is not None else _project_metadata()["Requires-Python"]
    running = ".".join(map(str, version or sys.version_info[:3]))
    if SpecifierSet(minimum).contains(running, prereleases=True):
        return Finding(True, f"Python {minimum}")
    return Finding(
        False,
        f"Python {minimum} is needed; this is Python {running} ({sys.executable})",
        "install a newer Python from https://www.python.org/downloads/ (or your package manager), make the "
        f"virtual environment again with it (python -m venv .venv), and then run {INSTALL} in it",
    )


def learner_requirements(extra: str = LEARNER_EXTRA) -> list[str]:
    """The requirement strings of the project: its runtime dependencies and those of ``extra``."""
    from packaging.requirements import Requirement

    selected = []
    for line in metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
            requirement.marker = None
            selected.append(str(requirement))
    return selected


def check_requirement(line: str, python: str = sys.executable) -> list[Finding]:
    """Whether ``line`` (e.g. ``PyJWT[crypto]>=2.11``) is met: installed, recent enough, with its extras' needs."""
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    requirement = Requirement(line)
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return [Finding(False, f"{line}: {requirement.name} is not installed", install_fix(python))]
    try:
        recent_enough = requirement.specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        recent_enough = False
    if not recent_enough:
        return [Finding(False, f"{line}: {requirement.name} {installed} is installed", install_fix(python))]
    findings = [Finding(True, line)]
    # An extra, as in PyJWT[crypto], pulls in more packages: check those too (one level is all PyJWT needs).
    for needed in metadata.requires(requirement.name) or []:
        inner = Requirement(needed)
        if inner.marker is not None and any(inner.marker.evaluate({"extra": e}) for e in requirement.extras):
            inner.marker = None
            findings.extend(f for f in check_requirement(str(inner), python) if not f.ok)
    return findings


def check_imports(modules: Iterable[str] = LESSON_MODULES) -> Finding:
    """Whether the modules the lessons import load (a broken compiled wheel fails here, not in lesson 01)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # any failure to import is the learner's to fix, so say it, don't raise
            return Finding(False, f"import {name} fails: {type(error).__name__}: {error}", install_fix())
    return Finding(True, "the series' modules import (tutorial_src, aiohttp, PyJWT, argon2, requests)")


def check_environment() -> list[Finding]:
    """Python, every package the series needs, and that the lessons' modules import."""
    try:
        project = _project_metadata()
        import packaging  # noqa: F401  (pip's own copy is vendored; the environment's is needed here)
    except metadata.PackageNotFoundError:
        return [Finding(False, f"{DISTRIBUTION} (the series' package) is not installed here", install_fix())]
    except ImportError:
        return [Finding(False, "packaging (needed by JupyterLab and by this check) is missing", install_fix())]
    findings = [check_python(project["Requires-Python"])]
    for line in learner_requirements():
        findings.extend(check_requirement(line))
    findings.append(check_imports())
    return findings


@contextlib.contextmanager
def dead_proxy() -> Iterator[None]:
    """Point every proxy variable at ``DEAD_PROXY`` for the block, then put them back as they were."""
    saved = {name: os.environ.get(name) for name in PROXY_VARIABLES}
    try:
        os.environ.update(dict.fromkeys(PROXY_VARIABLES, DEAD_PROXY))
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _request_fix(error: Exception) -> str:
    import requests

    if isinstance(error, requests.exceptions.ProxyError):
        return (
            "requests sent the call to 127.0.0.1 to a proxy: set NO_PROXY=127.0.0.1,localhost,::1 in the "
            "environment JupyterLab starts from, restart JupyterLab, and tell the course authors"
        )
    return (
        "something on this computer blocks connections to 127.0.0.1 (a firewall or security tool): allow "
        "Python to accept local connections, then restart the kernel and run this notebook again"
    )


def check_server() -> list[Finding]:
    """Start the demo app in the background, call it with ``requests``, then again with a dead proxy set."""
    try:
        import requests

        from ..app import create_app
        from ..errors import TutorialError
        from .server import BackgroundServer

        app = create_app()
    except ImportError as error:
        return [Finding(False, f"the server cannot be built: {error}", install_fix())]
    except TutorialError as error:  # e.g. a JWT_SECRET that is too short
        return [Finding(False, f"the demo app cannot be built: {error}", "fix the setting named above")]
    try:
        server = BackgroundServer(app).start()
    except TutorialError as error:
        return [
            Finding(
                False,
                f"a background server does not start: {error}",
                "restart the kernel (Kernel ▸ Restart Kernel) and run this notebook again; if it fails again, "
                "a firewall or security tool may stop Python from listening on 127.0.0.1",
            )
        ]
    findings = [Finding(True, "a background server starts on 127.0.0.1")]
    try:
        for label, proxies in (("", contextlib.nullcontext()), (" with a proxy set", dead_proxy())):
            with proxies:
                try:
                    response = requests.get(server.url + "/", timeout=10)
                except requests.exceptions.RequestException as error:
                    what = f"requests does not reach the server{label}: {type(error).__name__}: {error}"
                    findings.append(Finding(False, what, _request_fix(error)))
                    continue
            if response.status_code == 200 and "message" in response.json():
                findings.append(Finding(True, f"requests reaches the server{label}"))
            else:
                what = f"the server{label} answered {response.status_code} {response.text[:200]!r}"
                findings.append(Finding(False, what, "restart the kernel and run this notebook again"))
    finally:
        server.stop()
    return findings


def main(argv: list[str] | None = None) -> int:
    """Print every check and the verdict; exit status 1 when a check failed."""
    findings = check_environment()
    if all(finding.ok for finding in findings):
        findings += check_server()
    print(report(findings))
    print(summary(findings))
    return 0 if all(finding.ok for finding in findings) else 1


if __name__ == "__main__":
    sys.exit(main())
