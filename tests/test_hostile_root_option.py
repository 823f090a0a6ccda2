"""Issue 11 item 15: --root '' is refused; --root after the command name works like before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.accounts import make_db
from tests.support.hostile import MGETTY, PW, ok, refusal
from tests.support.tool import run_tool
from tests.support.trees import snapshot

def test_empty_root_is_refused(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    for args in (("--root", "", "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY),
                 ("setup-server", "--tty", "ttyS1", "--root", "", "--init", "none", "--mgetty", MGETTY),
                 ("--root", "", "users")):
        proc = run_tool(*args)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "--root needs a directory" in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(tmp_path) == before


def test_root_after_the_command_name(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_db(root)
    ok("setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY, "--root", str(root))
    assert (root / "etc/ppp/options.ttyS1").is_file()
    ok("adduser", "dreamcast", "--password-stdin", "--root", str(root), input=PW)
    assert b"dreamcast" in (root / "etc/ppp/pap-secrets").read_bytes()
    out = ok("users", "--json", "--root", str(root)).stdout
    assert b'"dreamcast"' in out
    ok("rollback", "--root", str(root))
    assert b"dreamcast" not in (root / "etc/passwd").read_bytes()


def test_root_twice_must_agree(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    refusal("--root", str(a), "users", "--root", str(b), watch=(tmp_path,), expect="given twice")
    ok("--root", str(a), "users", "--root", str(a))


@pytest.mark.parametrize("value", ["/nonexistent/dir", "/etc/passwd"])
def test_root_must_be_a_directory_after_the_command_too(tmp_path: Path, value: str) -> None:
    refusal("users", "--root", value, watch=(tmp_path,), expect="is not a directory")
