"""pyproject.toml and environment.yml (conda, Binder) install the same packages."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which pyproject.toml still allows
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ENVIRONMENT = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))

#: What a pip extra pulls in, spelled as the conda packages that provide it.
EXTRAS_AS_PACKAGES = {("pyjwt", "crypto"): {"cryptography"}}
#: Entries of environment.yml that are the environment itself, not a dependency of the project.
CONDA_ONLY = {"python", "pip"}
#: "name", then an optional version spec; conda's match-spec is a superset of what we use.
CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")
#: Extras that environment.yml (the learners' and Binder's environment) leaves out: the website's build tools.
NOT_IN_ENVIRONMENT = {"site"}


def pip_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for name, extra in project.get("optional-dependencies", {}).items():
        if name not in NOT_IN_ENVIRONMENT:
            lines += extra
    return [Requirement(line) for line in lines]


def pip_packages() -> dict[str, str]:
    """``{normalized name: version specifier}`` of the runtime dependencies and every extra."""
    found: dict[str, str] = {}
    for requirement in pip_requirements():
        name = canonicalize_name(requirement.name)
        found.setdefault(name, str(requirement.specifier))
        for extra in requirement.extras:
            for package in EXTRAS_AS_PACKAGES.get((name, extra), set()):
                found.setdefault(package, "")
    return found


def conda_entries() -> list[str]:
    return [entry for entry in ENVIRONMENT["dependencies"] if isinstance(entry, str)]


def conda_packages() -> dict[str, str]:
    """``{normalized name: version spec}`` of environment.yml, without python, pip and the ``pip:`` list."""
    found: dict[str, str] = {}
    for entry in conda_entries():
        match = CONDA_SPEC.match(entry)
        assert match, f"cannot read the conda spec {entry!r}"
        name = canonicalize_name(match.group(1))
        if name not in CONDA_ONLY:
            found[name] = match.group(2).replace(" ", "")
    return found


def pip_section() -> list[str]:
    sections = [entry for entry in ENVIRONMENT["dependencies"] if isinstance(entry, dict)]
    assert len(sections) <= 1
    return sections[0].get("pip", []) if sections else []


def test_both_files_name_the_same_packages():
    pip, conda = set(pip_packages()), set(conda_packages())
    assert pip - conda == set(), "in pyproject.toml, missing from environment.yml"
    assert conda - pip == set(), "in environment.yml, missing from pyproject.toml"


def test_minimum_versions_agree():
    pip, conda = pip_packages(), conda_packages()
    for name in sorted(set(pip) & set(conda)):
        pip_min = re.findall(r">=([\w.]+)", pip[name])
        conda_min = re.findall(r">=([\w.]+)", conda[name])
        if pip_min and conda_min:
            assert pip_min == conda_min, (
                f"{name}: pyproject.toml says >={pip_min[0]}, environment.yml >={conda_min[0]}"
            )


def test_the_comparison_sees_the_crypto_extra():
    # PyJWT[crypto] in pyproject.toml is pyjwt plus cryptography in conda.
    assert {"pyjwt", "cryptography"} <= set(pip_packages())
    assert {"aiohttp", "argon2-cffi", "requests"} <= set(pip_packages())


def test_environment_pins_python_312_from_conda_forge():
    assert ENVIRONMENT["channels"] == ["conda-forge"]
    pythons = [entry for entry in conda_entries() if CONDA_SPEC.match(entry).group(1) == "python"]
    assert pythons == ["python=3.12"]
    assert "pip" in conda_entries()


def test_environment_installs_the_project_itself_with_pip():
    assert pip_section() == ["-e ."]


def test_pyproject_python_floor_admits_the_environment_python():
    assert PYPROJECT["project"]["requires-python"] == ">=3.10"


def test_every_extra_the_makefile_installs_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installed = re.search(r"-e '\.\[([\w,-]+)\]'", makefile)
    assert installed, "the Makefile installs the project with extras"
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    assert set(installed.group(1).split(",")) <= extras


def test_pytest_turns_warnings_into_errors():
    assert PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"][0] == "error"
