"""The tool runs on Debian 12's own libraries: its floors accept them, and the suite runs on them.

The .deb depends on python3-click, python3-jinja2 and python3-pexpect; the Makefile's venv sees
exactly those (``--system-site-packages``), so what the suite proves is what the package runs on.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.tool import REPO

# Debian 12 (bookworm) versions: the tool's libraries and the wheel's build backend.
DEBIAN_12 = {"click": "8.1.3", "jinja2": "3.1.2", "pexpect": "4.8.0", "hatchling": "1.12.2"}
DEBIAN_PACKAGE = {"click": "python3-click", "jinja2": "python3-jinja2", "pexpect": "python3-pexpect"}
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")


def test_floors_accept_debian_12() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    reqs = [Requirement(r) for r in project["project"]["dependencies"]]
    reqs += [Requirement(r) for r in project["build-system"]["requires"]]
    assert {r.name.lower() for r in reqs} >= set(DEBIAN_12)
    for r in reqs:
        if r.name.lower() in DEBIAN_12:
            assert r.specifier.contains(Version(DEBIAN_12[r.name.lower()])), f"{r} refuses Debian 12's {DEBIAN_12[r.name.lower()]}"


def upstream(debian_version: str) -> str:
    """``2:8.1.3-2+deb12u1`` -> ``8.1.3``."""
    v = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
    return re.split(r"[+~]", v)[0]


def test_makefile_venv_runs_on_debians_libraries() -> None:
    venv = REPO / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        pytest.skip(f"not running from the Makefile's venv ({sys.prefix})")
    assert (venv / "pyvenv.cfg").read_text().count("include-system-site-packages = true") == 1
    assert Path(sys.base_prefix) == Path("/usr"), "the venv is not made from Debian's /usr/bin/python3"
    for module, package in DEBIAN_PACKAGE.items():
        mod = importlib.import_module(module)
        where = Path(mod.__file__ or "")
        assert where.is_relative_to(DIST_PACKAGES), f"{module} comes from {where}, not from {package}"
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True)
        assert importlib.metadata.version(module) == upstream(deb.stdout), (module, deb.stdout)


def test_upstream_version() -> None:
    assert upstream("8.1.3-2") == "8.1.3"
    assert upstream("3.1.2-1+deb12u3") == "3.1.2"
    assert upstream("1:4.8.0-4") == "4.8.0"
