"""Bad input to setup-server: one clear line, a non-zero exit, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

BAD = [
    (["--tty", "../etc/passwd"], "bad tty name"),
    (["--tty", "tty/S1"], "bad tty name"),
    (["--tty", "ttyS1;rm"], "bad tty name"),
    (["--tty", ""], "empty tty name"),
    (["--tty", "ttyS1", "--tty", "ttyS1"], "given twice"),
    (["--tty", "ttyS1=192.168.32.1"], "ttyS1=LOCAL:REMOTE"),
    (["--tty", "ttyS1=192.168.32.1:192.168.32.300"], "bad remote address"),
    (["--tty", "ttyS1=192.168.32.1:192.168.32.1"], "are the same"),
    (["--tty", "ttyS1=10.0.0.1:10.0.0.2"], "outside the pool"),
    (["--tty", "ttyS1=192.168.32.1:192.168.32.2", "--tty", "ttyS3=192.168.32.2:192.168.32.5"], "already used"),
    (["--tty", "ttyS1", "--pool", "192.168.32.0/31"], "too small"),
    (["--tty", "ttyS1", "--tty", "ttyS2", "--pool", "192.168.32.0/30"], "too small"),
    (["--tty", "ttyS1", "--pool", "not-a-net"], "bad pool"),
    (["--tty", "ttyS1", "--dns", "8.8.8"], "bad DNS address"),
    (["--tty", "ttyS1", "--speed", "12345"], "unknown speed"),
    (["--tty", "ttyS1", "--debug", "12"], "debug level"),
    (["--tty", "ttyS1", "--mgetty", "/nonexistent/mgetty"], "does not exist"),
    (["--tty", "ttyS1:dierct"], "the only kind of line is ':direct'"),
    (["--tty", "ttyS1", "--dial-tone", "425"], "--dial-tone: only for direct lines"),
    (["--tty", "ttyS1:direct", "--dial-tone", "50"], "outside the telephone band"),
    (["--tty", "ttyS1:direct", "--dial-tone", "425", "--no-dial-tone"], "exclude each other"),
    (["--tty", "ttyS1:direct", "--number", "55a"], "bad --number '55a'"),
    (["--tty", "ttyS1:direct", "--tty", "ttyS1"], "given twice"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input(root: Path, args: list[str], message: str) -> None:
    before = snapshot(root)
    proc = run_tool("--root", str(root), "setup-server", *args, "--init", "inittab")
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert snapshot(root) == before


def test_missing_tty_on_the_host(run: RunCli) -> None:
    res = run("setup-server", "--tty", "ttyNOSUCH9", "--dry-run", use_root=False)
    assert res.exit_code == 1
    assert "/dev/ttyNOSUCH9 does not exist" in res.output


def test_not_root_without_root_dir(run: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    res = run("setup-server", "--tty", "ttyS0", use_root=False)
    assert res.exit_code == 1
    assert "run it as root" in res.output


def test_root_dir_must_exist(tmp_path: Path) -> None:
    proc = run_tool("--root", str(tmp_path / "nope"), "setup-server", "--tty", "ttyS1")
    assert proc.returncode == 2 and b"is not a directory" in proc.stderr
