"""tutorial_src.lab.setupcheck: notebook 00's checks say what is wrong and what to run, and never raise."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from tutorial_src.errors import ServerError
from tutorial_src.lab import server as lab_server
from tutorial_src.lab import setupcheck
from tutorial_src.lab.setupcheck import (
    DEAD_PROXY,
    INSTALL,
    PROXY_VARIABLES,
    Finding,
    check_environment,
    check_imports,
    check_python,
    check_requirement,
    check_server,
    dead_proxy,
    learner_requirements,
    report,
    summary,
)


def failures(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if not finding.ok]


def test_this_environment_passes_every_check():
    findings = check_environment() + check_server()
    assert failures(findings) == []
    assert summary(findings) == "✅ Ready: open 01-login.ipynb and start the series."


def test_passing_lines_name_no_installed_version():
    # Stored notebook outputs must be the same on every machine: only the project's own floors appear.
    lines = report(check_environment()).splitlines()
    assert lines[0] == "✅ Python >=3.10"
    assert lines[1:-1] == [f"✅ {line}" for line in learner_requirements()]


def test_the_learner_requirements_are_the_runtime_ones_and_the_notebooks_extra():
    names = {line.split(">")[0].split("[")[0].lower() for line in learner_requirements()}
    assert {"aiohttp", "pyjwt", "argon2-cffi", "requests", "jupyterlab"} <= names
    assert "pytest" not in names, "the test extra is not the learner's"
    assert all(";" not in line for line in learner_requirements()), "markers are dropped"


def test_a_missing_package_is_named_with_the_command_that_installs_it():
    [finding] = check_requirement("surely-not-an-installed-package>=1.0", python="/opt/py/bin/python")
    assert not finding.ok
    assert finding.what == "surely-not-an-installed-package>=1.0: surely-not-an-installed-package is not installed"
    assert '/opt/py/bin/python -m pip install -e ".[notebooks]"' in finding.fix
    assert str(finding).splitlines()[1].startswith("   Fix: in the repository's folder run")


def test_a_python_path_with_spaces_is_quoted_in_the_fix():
    [finding] = check_requirement("surely-not-an-installed-package", python=r"C:\Program Files\Python\python.exe")
    assert r'"C:\Program Files\Python\python.exe" -m pip install' in finding.fix


def test_an_old_package_says_which_version_is_installed():
    [finding] = check_requirement("requests>=999")
    assert not finding.ok
    from importlib.metadata import version

    assert finding.what == f"requests>=999: requests {version('requests')} is installed"


def test_the_packages_an_extra_pulls_in_are_checked_too():
    # requests[socks] needs PySocks, which this environment does not have: the extra's need is reported.
    if importlib.util.find_spec("socks") is not None:
        pytest.skip("PySocks is installed here")
    findings = check_requirement("requests[socks]>=2.32")
    assert [f.what.split(":")[1].strip() for f in failures(findings)] == ["PySocks is not installed"]
    assert check_requirement("PyJWT[crypto]>=2.11") == [Finding(True, "PyJWT[crypto]>=2.11")]


@pytest.mark.parametrize(
    ("minimum", "version", "ok"),
    [(">=3.10", (3, 10, 0), True), (">=3.10", (3, 9, 18), False), (">=3.10", (3, 14, 0), True)],
)
def test_python_is_checked_against_requires_python(minimum, version, ok):
    finding = check_python(minimum, version)
    assert finding.ok is ok
    if not ok:
        assert finding.what.startswith(f"Python >=3.10 is needed; this is Python {'.'.join(map(str, version))}")
        assert "python.org" in finding.fix and INSTALL in finding.fix


def test_a_module_that_does_not_import_is_reported():
    finding = check_imports(["json", "surely_not_a_module"])
    assert not finding.ok
    assert (
        finding.what
        == "import surely_not_a_module fails: ModuleNotFoundError: No module named 'surely_not_a_module'"
    )


def test_main_reports_a_missing_package_and_fails(monkeypatch, capsys):
    real = learner_requirements()
    monkeypatch.setattr(setupcheck, "learner_requirements", lambda: [*real, "surely-not-an-installed-package>=1"])
    assert setupcheck.main() == 1
    out = capsys.readouterr().out
    assert "❌ surely-not-an-installed-package>=1: surely-not-an-installed-package is not installed" in out
    assert "a background server" not in out, "the server check waits until the packages are right"
    assert out.rstrip().endswith(
        "❌ 1 check(s) failed: apply each fix above, from the top, then run this notebook "
        "again (Kernel ▸ Restart Kernel and Run All Cells)."
    )


BLOCK_ARGON2 = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class Blocker(MetaPathFinder):
        # What a learner has when argon2-cffi's compiled part is missing or built for another Python.
        def find_spec(self, name, path=None, target=None):
            if name == "argon2" or name.startswith("argon2."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    from tutorial_src.lab import setupcheck
    sys.exit(setupcheck.main())
    """
)


def test_the_command_line_reports_a_package_that_does_not_load():
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_ARGON2], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "❌ import tutorial_src.app fails: ModuleNotFoundError: No module named 'argon2'" in result.stdout
    assert "Fix: in the repository's folder run" in result.stdout
    assert result.stderr == ""


def test_the_command_line_passes_here():
    result = subprocess.run(
        [sys.executable, "-m", "tutorial_src.lab.setupcheck"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "✅ Ready: open 01-login.ipynb and start the series."


def test_the_server_check_passes_through_a_dead_proxy(dead_proxy_env):
    assert failures(check_server()) == []


def test_a_request_sent_to_the_proxy_is_reported_with_the_no_proxy_fix(dead_proxy_env, monkeypatch):
    # As before the fix: nothing exempts 127.0.0.1, so requests goes to the dead proxy.
    monkeypatch.setattr(lab_server, "bypass_proxies_for_loopback", lambda: None)
    [started, direct, proxied] = check_server()
    assert started.ok and not direct.ok and not proxied.ok
    assert direct.what.startswith("requests does not reach the server: ProxyError")
    assert "NO_PROXY=127.0.0.1,localhost,::1" in direct.fix


def test_a_server_that_does_not_start_is_reported(monkeypatch):
    def refuse(self):
        raise ServerError("the server did not start within 10.0 s")

    monkeypatch.setattr(lab_server.BackgroundServer, "start", refuse)
    [finding] = check_server()
    assert finding.what == "a background server does not start: the server did not start within 10.0 s"
    assert "Restart Kernel" in finding.fix


def test_a_short_jwt_secret_is_reported(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "short")
    [finding] = check_server()
    assert finding.what.startswith("the demo app cannot be built: ")
    assert "JWT_SECRET" in finding.what


def test_dead_proxy_puts_the_variables_back(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("https_proxy", raising=False)
    with dead_proxy():
        assert all(os.environ[name] == DEAD_PROXY for name in PROXY_VARIABLES)
    assert os.environ["HTTP_PROXY"] == "http://proxy.example:3128"
    assert "https_proxy" not in os.environ


def test_summary_counts_failures():
    findings = [Finding(True, "a"), Finding(False, "b", "fix b"), Finding(False, "c", "fix c")]
    assert summary(findings).startswith("❌ 2 check(s) failed")
    assert report(findings) == "✅ a\n❌ b\n   Fix: fix b\n❌ c\n   Fix: fix c"
