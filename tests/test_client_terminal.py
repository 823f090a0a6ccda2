"""terminal: a raw session over the port, driven with pexpect against the modem
simulator; the far end is a pexpect-driven fake login prompt (the guide's minicom check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pexpect.fdpexpect
import pytest

from tests.support.client import CALLER, SERVER, phone_line
from tests.support.tool import REPO


def spawn_terminal(root: Path, port: str) -> pexpect.spawn:
    (root / "var/lock").mkdir(parents=True, exist_ok=True)
    return pexpect.spawn(sys.executable, ["-m", "dialup_admin", "--root", str(root), "terminal", port],
                         cwd=str(REPO), timeout=20)


def test_at_ok_dial_and_log_in(root: Path) -> None:
    with phone_line() as line:
        assert line.server_fd is not None
        far = pexpect.fdpexpect.fdspawn(line.server_fd, timeout=20)
        term = spawn_terminal(root, line.caller_port)
        try:
            term.expect("Ctrl-] leaves")
            lock = root / "var/lock" / f"LCK..{os.path.basename(line.caller_port)}"
            assert int(lock.read_text()) == term.pid  # the UUCP lock, as mgetty/pppd take it
            term.send("AT\r")
            term.expect("OK")
            term.send("ATDT11\r")
            far.expect("CONNECT")  # the server's modem answered (S0=1)
            term.expect("CONNECT 33600")
            far.send(b"\r\n Welcome to Linux\r\n\r\nppp01!login: ")
            term.expect("login: ")
            term.send("ppp\r")
            far.expect("ppp\r")
            far.send(b"Password: ")
            term.expect("Password: ")
            term.send("secret\r")
            far.expect("secret\r")
            far.send(b"\r\nppp@ppp01:~$ ")
            term.expect(r"ppp@ppp01:~\$ ")
            term.send("id\r")
            far.expect("id\r")
            far.send(b"uid=3000(ppp) gid=3000(ppp)\r\n")
            term.expect(r"uid=3000\(ppp\) gid=3000\(ppp\)")
            term.send("\x1d")  # Ctrl-]
            term.expect("Left the terminal")
            term.expect(pexpect.EOF)
            term.close()
            assert term.exitstatus == 0
            assert not lock.exists()
            # Closing the port dropped DTR: the modem hung up, the far side got NO CARRIER.
            line.line.wait_for(f"{CALLER} port closed")
            far.expect("NO CARRIER")
            assert line.line.state(SERVER) == "idle"
        finally:
            term.close(force=True)


def test_refuses_a_port_in_use(root: Path) -> None:
    with phone_line(server_open=False) as line:
        (root / "var/lock").mkdir(parents=True)
        holder = subprocess.Popen(["sleep", "30"])
        try:
            name = os.path.basename(line.caller_port)
            (root / "var/lock" / f"LCK..{name}").write_text(f"{holder.pid:10d}\n")
            proc = subprocess.run([sys.executable, "-m", "dialup_admin", "--root", str(root), "terminal",
                                   line.caller_port], capture_output=True, text=True, timeout=30, cwd=REPO,
                                  stdin=subprocess.DEVNULL)
            assert proc.returncode == 1
            assert f"is locked by pid {holder.pid} (sleep)" in proc.stderr and proc.stderr.count("\n") == 1
        finally:
            holder.kill()
            holder.wait()


def test_missing_port_is_one_line(root: Path) -> None:
    (root / "var/lock").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "dialup_admin", "--root", str(root), "terminal", "/dev/ttyNOPE9"],
                          capture_output=True, text=True, timeout=30, cwd=REPO, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and proc.stderr.startswith("dialup-admin: error: /dev/ttyNOPE9: no such port")


@pytest.mark.parametrize("port", ["/dev/../etc/passwd", "ttyS0;id"])
def test_bad_port_name(root: Path, port: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "dialup_admin", "--root", str(root), "terminal", port],
                          capture_output=True, text=True, timeout=30, cwd=REPO, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "bad device" in proc.stderr
