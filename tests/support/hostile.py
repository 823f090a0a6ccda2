"""Helpers for the hostile-input tests (issue 11): run the real command, check a clean refusal."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.accounts import make_db
from tests.support.tool import run_tool
from tests.support.trees import snapshot

MGETTY = "/sbin/mgetty"
PW = b"s3cret-Pw\n"  # the hostile tests' password (--password-stdin)


def refusal(*args: str, watch: tuple[Path, ...] = (), input: bytes | None = None, timeout: float = 60,
            expect: str = "", max_lines: int = 1, env: dict[str, str] | None = None) -> str:
    """Run ``dialup-admin ARGS``: it must refuse in one line (at most ``max_lines``), with a
    non-zero status that is not 70, no traceback, within ``timeout`` (no hang), and change
    nothing below any of ``watch``. Returns stderr."""
    before = [snapshot(w) for w in watch]
    try:
        proc = run_tool(*args, input=input if input is not None else b"", timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"dialup-admin {' '.join(args)} hung for {timeout} s") from None
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode not in (0, 70), (proc.returncode, err, proc.stdout)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= max_lines, err
    assert expect in err, err
    for w, b in zip(watch, before):
        assert snapshot(w) == b, f"{w} changed"
    return err.strip()


def ok(*args: str, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    proc = run_tool(*args, input=input if input is not None else b"", timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


def server(root: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """setup-server --root ROOT with one line, Debian's mgetty, no init system."""
    return ok("--root", str(root), "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY, *extra)


def server_tree(root: Path, *users: str) -> Path:
    """A --root tree with an account database, :func:`server`'s line and ``users`` added (password PW)."""
    make_db(root)
    server(root)
    for name in users:
        ok("--root", str(root), "adduser", name, "--password-stdin", input=PW)
    return root


def copy_tree(base: Path, tmp_path: Path) -> Path:
    """``base`` copied (links as links) to ``tmp_path/root``: a tree each test may damage."""
    root = tmp_path / "root"
    shutil.copytree(base, root, symlinks=True)
    return root
