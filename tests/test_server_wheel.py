"""The built wheel carries the top-level templates: installed in a fresh venv, it renders."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tool import REPO


@pytest.mark.slow
def test_wheel_renders_from_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
                   cwd=REPO, check=True, capture_output=True)
    wheel = next(dist.glob("dialup_admin-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    # The dependencies (click, jinja2, pexpect) come from where the suite gets them (Debian's
    # dist-packages under the Makefile's venv), not dialup_admin itself: a plain path in a .pth
    # does not run the dev venv's editable-install hook.
    deps = {str(Path(importlib.import_module(m).__file__ or "").parent.parent)
            for m in ("click", "jinja2", "markupsafe", "pexpect", "ptyprocess")}
    (Path(site) / "deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    root = tmp_path / "root"
    root.mkdir()
    out = subprocess.run(
        [str(venv / "bin" / "dialup-admin"), "--root", str(root), "setup-server", "--tty", "ttyS1", "--init", "none"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    where = subprocess.run([str(py), "-c", "from dialup_admin.render import templates_dir; print(templates_dir())"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(site), where
    assert "/AutoPPP/" in (root / "etc/mgetty/login.config").read_text()
