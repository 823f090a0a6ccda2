"""Fixtures only: a temporary --root tree and the CLI run in-process on it.

The helpers the tests share live in ``tests/support/`` (see its ``__init__``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from dialup_admin.cli import cli
from tests.support.tool import RunCli, cli_runner


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def lock_dir(root: Path) -> Path:
    """ROOT/var/lock, where UUCP lock files go."""
    d = root / "var" / "lock"
    d.mkdir(parents=True)
    return d


@pytest.fixture
def run(root: Path) -> RunCli:
    """Run ``dialup-admin --root ROOT ARGS...`` in-process; returns click's Result."""

    def _run(*args: str, input: str | None = None, use_root: bool = True) -> Result:
        runner = cli_runner()
        argv = (["--root", str(root)] if use_root else []) + list(args)
        return runner.invoke(cli, argv, input=input, catch_exceptions=False)

    return _run
