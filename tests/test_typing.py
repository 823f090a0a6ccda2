"""The package stays `mypy --strict` clean (DESIGN.md: typed code)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.tool import REPO


@pytest.mark.slow
def test_mypy_strict() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
