"""Real ``chat`` (Debian's ppp package) dialing and answering through the simulator,
the way pppd's connect script and mgetty's answer chat drive a modem."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.system.serial import open_port
from tests.support.modem import Terminal

CHAT = shutil.which("chat") or "/usr/sbin/chat"
pytestmark = pytest.mark.skipif(not os.path.exists(CHAT), reason="chat (package ppp) is not installed")

# pppd's usual connect script; exit 4, 5, 6 for the 1st, 2nd, 3rd ABORT string.
DIAL = ["ABORT", "BUSY", "ABORT", "NO CARRIER", "ABORT", "NO DIALTONE", "", "ATZ", "OK"]
ANSWER = ["", "ATZ", "OK", "ATS0=0", "OK", "\\c", "RING", "ATA", "CONNECT", "\\c"]  # mgetty-like


@pytest.fixture
def line(tmp_path: Path) -> Iterator[PhoneLine]:
    with PhoneLine({"11": tmp_path / "ttyV0", "12": tmp_path / "ttyV1"}, ring_interval=0.3) as pl:
        yield pl


def chat(port: str, script: list[str], timeout: int = 15) -> subprocess.Popen[bytes]:
    """Run chat with the port on its stdin and stdout, as pppd does."""
    fd = open_port(port)
    try:
        return subprocess.Popen([CHAT, "-s", "-v", "-t", str(timeout), *script], stdin=fd, stdout=fd, stderr=subprocess.PIPE)
    finally:
        os.close(fd)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode(errors="replace")


def test_chat_dials_chat_answers_connect(line: PhoneLine) -> None:
    n = len(line.events)
    server = chat(line.port("11"), ANSWER)
    line.wait_for("11 port opened", since=n)
    time.sleep(0.3)
    client = chat(line.port("12"), [*DIAL, "ATDT11", "CONNECT", "\\c"])
    rc_client, log_client = finish(client)
    rc_server, log_server = finish(server)
    assert rc_client == 0, log_client
    assert rc_server == 0, log_server
    assert "CONNECT" in log_client and "RING" in log_server
    # Both chats have exited: the first port closed hangs up, the other side gets NO CARRIER.
    line.wait_for("NO CARRIER", since=n)


def test_chat_connects_then_data_flows(line: PhoneLine) -> None:
    with Terminal(line.port("11")) as server:
        server.command("ATS0=1")
        fd = open_port(line.port("12"))
        try:
            proc = subprocess.Popen(
                [CHAT, "-s", "-v", "-t", "15", *DIAL, "ATDT11", "CONNECT", "\\c"], stdin=fd, stdout=fd, stderr=subprocess.PIPE
            )
            rc, log = finish(proc)
            assert rc == 0, log
            server.expect("CONNECT 33600")
            os.write(fd, b"\x7e\xff\x7d\x23 PPP frame\x7e")  # what pppd sends next
            server.expect(rb"\x7e\xff\x7d\x23 PPP frame\x7e")
        finally:
            os.close(fd)
        server.expect("NO CARRIER")


def test_chat_gets_busy(line: PhoneLine) -> None:
    rc, log = finish(chat(line.port("12"), [*DIAL, "ATDT11", "CONNECT"]))  # 11's port is not open
    assert rc == 4, log
    assert "BUSY" in log


def test_chat_gets_no_carrier(line: PhoneLine) -> None:
    line.set_dead("12")
    rc, log = finish(chat(line.port("12"), [*DIAL, "ATX3", "OK", "ATDT11", "CONNECT"]))  # blind dial, dead line
    assert rc == 5, log


def test_chat_gets_no_dialtone(line: PhoneLine) -> None:
    line.set_dead("12")
    rc, log = finish(chat(line.port("12"), [*DIAL, "ATDT11", "CONNECT"]))
    assert rc == 6, log


def test_chat_times_out_on_a_silent_port(tmp_path: Path) -> None:
    from tests.support.modem import silent_port

    with silent_port() as port:
        rc, log = finish(chat(port, ["", "AT", "OK"], timeout=1))
    assert rc == 3, log
