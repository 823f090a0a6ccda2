"""Shared fixtures: a temporary --root tree, running the CLI, snapshots of trees."""

from __future__ import annotations

import inspect
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dialup_admin.cli import cli

REPO = Path(__file__).resolve().parent.parent
TOOL = [sys.executable, "-m", "dialup_admin"]

Snapshot = dict[str, tuple[str, int, int, int, bytes]]


def snapshot(root: Path) -> Snapshot:
    """Every path below ``root`` with its kind, mode, owner and bytes (or link target)."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, st.st_uid, st.st_gid, os.readlink(p).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, b"")
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, p.read_bytes())
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


RunCli = Callable[..., Result]


class _BothStreams(Result):
    """click 8.1's result with stderr apart, whose ``output`` is both streams, as click 8.2's is."""

    @property
    def output(self) -> str:
        return self.stdout + (self.stderr if self.stderr_bytes is not None else "")


def cli_runner() -> CliRunner:
    """A runner that keeps stderr apart on every click: 8.1 (Debian 12) mixes it in unless told."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return _SeparateRunner(**{"mix_stderr": False})
    return CliRunner()


class _SeparateRunner(CliRunner):
    def invoke(self, *args: Any, **kwargs: Any) -> Result:
        res = super().invoke(*args, **kwargs)
        res.__class__ = _BothStreams
        return res


@pytest.fixture
def run(root: Path) -> RunCli:
    """Run ``dialup-admin --root ROOT ARGS...`` in-process; returns click's Result."""

    def _run(*args: str, input: str | None = None, use_root: bool = True) -> Result:
        runner = cli_runner()
        argv = (["--root", str(root)] if use_root else []) + list(args)
        return runner.invoke(cli, argv, input=input, catch_exceptions=False)

    return _run


def run_tool(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
             preexec: Callable[[], None] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the real command in a subprocess (stderr separate, real exit status)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([*TOOL, *args], input=input, capture_output=True, env=full_env,
                          preexec_fn=preexec, timeout=timeout, cwd=REPO)
