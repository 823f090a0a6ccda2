"""Issue 11 items 4, 6 and 7: no hash in /etc/passwd; FIFOs never block; junk state files.

Every refusal: one line, a non-zero status (not 70), no traceback, within the time limit,
and the tree unchanged.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.hostile import MGETTY, PW, copy_tree, ok, refusal, server_tree
from tests.support.tool import run_tool
from tests.support.trees import snapshot

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server with one user and one recorded call."""
    root = server_tree(tmp_path_factory.mktemp("files") / "root", "dreamcast")
    log = root / "var/log/dialup-admin"
    log.mkdir(parents=True)
    (log / "sessions.log").write_text(
        "dialup-admin/1\tup\t1700000000\t4242\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2\n")
    return root


@pytest.fixture
def tree(base: Path, tmp_path: Path) -> Path:
    return copy_tree(base, tmp_path)


# --- item 4 ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["adduser", "passwd"])
def test_no_hash_ever_lands_in_passwd(tree: Path, command: str) -> None:
    (tree / "etc/shadow").unlink()
    name = "newcomer" if command == "adduser" else "dreamcast"
    err = refusal("--root", str(tree), command, name, "--password-stdin", input=PW, watch=(tree,),
                  expect="no /etc/shadow")
    assert f"pwconv --root {tree}" in err
    assert "$6$" not in (tree / "etc/passwd").read_text()


def test_after_pwconv_adduser_works_and_passwd_holds_no_hash(tree: Path) -> None:
    (tree / "etc/shadow").unlink()
    import subprocess

    subprocess.run(["pwconv", "--root", str(tree)], check=True)
    ok("--root", str(tree), "adduser", "newcomer", "--password-stdin", input=PW)
    assert "$6$" not in (tree / "etc/passwd").read_text()
    assert "newcomer:$6$" in (tree / "etc/shadow").read_text()


# --- item 6 ---------------------------------------------------------------------------


def _fifo(path: Path) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def _journal_manifest(root: Path) -> Path:
    jdir = root / "var/lib/dialup-admin/journal"
    return max((p for p in jdir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) / "manifest.json"


SETUP = ("setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY)
ADD = ("adduser", "other", "--password-stdin")

# (file made a FIFO, command) pairs from the campaign, and a few more readers.
FIFO_CASES = [
    ("etc/ppp/options", SETUP),
    ("etc/ppp/pap-secrets", SETUP),
    ("etc/ppp/pap-secrets", ADD),
    ("etc/ppp/pap-secrets", ("users",)),
    ("etc/ppp/pap-secrets", ("doctor",)),
    ("etc/passwd", ADD),
    ("etc/login.defs", ADD),
    ("etc/inittab", ("setup-server", "--tty", "ttyS1", "--init", "inittab", "--mgetty", MGETTY)),
    ("etc/dialup-admin/server.json", ("doctor",)),
    ("etc/dialup-admin/server.json", SETUP),
    ("etc/dialup-admin/client.json", ("setup-client", "--device", "ttyS0", "--number", "11", "--user", "ppp",
                                      "--password-stdin")),
    ("var/log/dialup-admin/sessions.log", ("sessions",)),
    ("var/log/dialup-admin/sessions.log", ("doctor",)),
    ("var/lib/dialup-admin/lock", ADD),
    ("JOURNAL", ("rollback",)),
    ("JOURNAL", ("rollback", "--dry-run")),
    ("JOURNAL", ADD),
]


@pytest.mark.parametrize("where,command", FIFO_CASES, ids=[f"{w}-{c[0]}" for w, c in FIFO_CASES])
def test_fifos_are_refused_never_waited_on(tree: Path, where: str, command: tuple[str, ...]) -> None:
    target = _journal_manifest(tree) if where == "JOURNAL" else tree / where
    _fifo(target)
    if command[0] == "doctor":  # doctor reports what it cannot read as a finding, and fails
        before = snapshot(tree)
        proc = run_tool("--root", str(tree), "doctor", timeout=60)
        out = (proc.stdout + proc.stderr).decode()
        assert proc.returncode not in (0, 70) and "Traceback" not in out and "internal error" not in out, out
        assert "not a regular file" in out, out
        assert snapshot(tree) == before
        return
    err = refusal("--root", str(tree), *command, input=PW, watch=(tree,), timeout=60)
    assert "not a regular file" in err, err


def test_a_directory_in_place_of_options_is_refused(tree: Path) -> None:
    (tree / "etc/ppp/options").unlink()
    (tree / "etc/ppp/options").mkdir()
    refusal("--root", str(tree), *SETUP, watch=(tree,), expect="is a directory, not a regular file")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_in_place_of_pap_secrets_is_refused(tree: Path) -> None:
    (tree / "etc/ppp/pap-secrets").unlink()
    os.mknod(tree / "etc/ppp/pap-secrets", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    refusal("--root", str(tree), *ADD, input=PW, watch=(tree,), expect="is a device node, not a regular file")


# --- item 7 ---------------------------------------------------------------------------

JUNK = {"binary": bytes(range(256)), "list": b"[]", "null": b"null", "text": b"not json", "empty": b"",
        "deep": b"[" * 100000, "lines-not-list": b'{"lines": 5, "pool": "192.168.32.0/24"}',
        "tty-escape": b'{"lines": [{"tty": "../../etc/passwd", "local": "192.168.32.1", "remote": "192.168.32.2"}],'
                      b' "pool": "192.168.32.0/24"}'}


@pytest.mark.parametrize("junk", sorted(JUNK))
@pytest.mark.parametrize("command", ["setup-server", "adduser"])
def test_junk_server_json_is_refused_naming_the_file(tree: Path, junk: str, command: str) -> None:
    (tree / "etc/dialup-admin/server.json").write_bytes(JUNK[junk])
    args = SETUP if command == "setup-server" else ("adduser", "other", "--password-stdin", "--ip", "192.168.32.9")
    err = refusal("--root", str(tree), *args, input=PW, watch=(tree,), expect="/etc/dialup-admin/server.json")
    assert "mv /etc/dialup-admin/server.json /etc/dialup-admin/server.json.bad" in err


@pytest.mark.parametrize("junk", sorted(JUNK))
def test_junk_server_json_is_a_doctor_finding(tree: Path, junk: str) -> None:
    (tree / "etc/dialup-admin/server.json").write_bytes(JUNK[junk])
    before = snapshot(tree)
    proc = run_tool("--root", str(tree), "doctor", timeout=60)
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 2 and "Traceback" not in out and "internal error" not in out, out
    assert "/etc/dialup-admin/server.json" in out and "server.json.bad" in out, out
    assert snapshot(tree) == before


CLIENT_JUNK = {"binary": bytes(range(256)), "list": b"[]", "peers-list": b'{"peers": []}',
               "peer-not-object": b'{"peers": {"dialup": 5}}', "default-number": b'{"peers": {}, "default": 7}'}


@pytest.mark.parametrize("junk", sorted(CLIENT_JUNK))
@pytest.mark.parametrize("command", ["setup-client", "dial", "hangup"])
def test_junk_client_json_is_refused_naming_the_file(tree: Path, junk: str, command: str) -> None:
    (tree / "etc/dialup-admin/client.json").write_bytes(CLIENT_JUNK[junk])
    args = {"setup-client": ("setup-client", "--device", "ttyS0", "--number", "11", "--user", "ppp",
                             "--password-stdin"),
            "dial": ("dial",), "hangup": ("hangup",)}[command]
    err = refusal("--root", str(tree), *args, input=PW, watch=(tree,), expect="/etc/dialup-admin/client.json")
    assert "client.json.bad" in err or "rerun setup-client" in err
