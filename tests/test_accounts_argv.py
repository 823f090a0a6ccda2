"""No child process ever gets a password in its argv: traced for real with strace -f -e execve."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.accounts import make_db, shadow_hash, verify
from tests.support.tool import REPO, TOOL

pytestmark = [
    pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="useradd --prefix needs root"),
]


def traced(log: Path, root: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run the real tool under strace, recording every execve with its full argv."""
    cmd = ["strace", "-f", "-qq", "-s", "4096", "-e", "trace=execve", "-o", str(log),
           *TOOL, "--root", str(root), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, cwd=REPO, timeout=120)


def execs(log: Path) -> list[str]:
    return [ln for ln in log.read_text(errors="replace").splitlines() if "execve(" in ln]


def test_no_password_in_any_argv(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make_db(root)
    log = tmp_path / "trace"
    p = traced(log, root, "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty")
    assert p.returncode == 0, p.stderr
    secrets = {"stdin": "Stdin-Secret-1", "prompt": "Prompt-Secret-2", "passwd": "Passwd-Secret-3"}
    runs = [
        (["adduser", "alpha", "--password-stdin"], secrets["stdin"] + "\n"),
        (["adduser", "beta"], f"{secrets['prompt']}\n{secrets['prompt']}\n"),
        (["passwd", "alpha", "--password-stdin"], secrets["passwd"] + "\n"),
    ]
    seen: list[str] = []
    for i, (args, stdin) in enumerate(runs):
        lg = tmp_path / f"trace{i}"
        p = traced(lg, root, *args, stdin=stdin.encode())
        assert p.returncode == 0, p.stderr
        seen += execs(lg)
    lg = tmp_path / "trace-gen"
    p = traced(lg, root, "adduser", "gamma", "--generate-password")
    assert p.returncode == 0, p.stderr
    generated = [ln.split(": ", 1)[1] for ln in p.stdout.decode().splitlines() if ln.startswith("Password for gamma")]
    seen += execs(lg)
    # The trace is real: it saw the shadow-utils children and their arguments.
    assert any('"chpasswd"' in ln or "/chpasswd" in ln for ln in seen)
    assert any("useradd" in ln and '"alpha"' in ln for ln in seen)
    for pw in [*secrets.values(), *generated]:
        assert not [ln for ln in seen if pw in ln], f"{pw} appeared in an argv"
    # And the passwords did arrive, through stdin.
    assert verify(secrets["passwd"], shadow_hash(root, "alpha") or "")
    assert verify(secrets["prompt"], shadow_hash(root, "beta") or "")
    assert verify(generated[0], shadow_hash(root, "gamma") or "")
