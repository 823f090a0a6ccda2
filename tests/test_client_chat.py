"""The chat script setup-client renders, run by the real /usr/sbin/chat against the
modem simulator: it dials and gets CONNECT; BUSY, NO CARRIER, NO ANSWER, NO DIALTONE
end it with chat's exit code for that ABORT string; the parser reads its transcript."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from client_helpers import CALLER, SERVER, Line, phone_line
from dialup_admin.core.client import ABORTS, Client, render_files
from dialup_admin.formats import pppd_log
from dialup_admin.system import ppp

CHAT = shutil.which("chat") or "/usr/sbin/chat"
pytestmark = pytest.mark.skipif(not os.path.exists(CHAT), reason="chat is not installed (apt-get install ppp)")


def script(tmp_path: Path, **kw: object) -> Path:
    c = Client(peer="dialup", device="/dev/ttyS0", number="11", user="ppp", **kw)  # type: ignore[arg-type]
    p = tmp_path / "chat-dialup"
    p.write_text(render_files(c)["/etc/ppp/chat-dialup"])
    return p


def run_chat(port: str, path: Path) -> tuple[int, pppd_log.Follower]:
    """chat on the port as pppd runs it (port on stdin/stdout, transcript on stderr)."""
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    try:
        proc = subprocess.run([CHAT, "-v", "-s", "-f", str(path)], stdin=fd, stdout=fd, stderr=subprocess.PIPE,
                              timeout=90)
    finally:
        os.close(fd)
    f = pppd_log.Follower()
    for line in proc.stderr.decode(errors="replace").splitlines():
        f.feed(line)
    return proc.returncode, f


def abort_code(word: str) -> int:
    return 4 + ABORTS.index(word)


def test_dials_and_gets_connect(tmp_path: Path) -> None:
    with phone_line() as line:
        # Held open as pppd holds it after chat: the port's last close would hang the call up
        # (as a real line drops with DTR), racing the state check below.
        held = os.open(line.caller_port, os.O_RDWR | os.O_NOCTTY)
        try:
            code, f = run_chat(line.caller_port, script(tmp_path))
            assert code == 0, f.lines
            assert f.connected
            line.line.wait_for(f"{CALLER} CONNECT")
            assert f"{CALLER} DIAL {SERVER}" in line.line.events
            assert line.line.state(CALLER) == "online"
        finally:
            os.close(held)


def test_busy_when_the_other_side_is_busy(tmp_path: Path) -> None:
    with phone_line(server_open=False) as line:  # no one on the server's line: busy
        code, f = run_chat(line.caller_port, script(tmp_path))
        assert code == abort_code("BUSY") and f.modem_said == "BUSY"
        assert "the number is busy" in pppd_log.explain(8, f, ppp.kernel_ppp)


def test_no_carrier_when_the_other_side_hangs_up(tmp_path: Path) -> None:
    with phone_line(on_answer=Line.close_server) as line:
        code, f = run_chat(line.caller_port, script(tmp_path))
        assert code == abort_code("NO CARRIER") and f.modem_said == "NO CARRIER"
        assert f"{SERVER} port closed" in line.line.events


def test_no_answer(tmp_path: Path) -> None:
    with phone_line(answer=False) as line:
        code, f = run_chat(line.caller_port, script(tmp_path, init="AT S7=1 S0=0 L1 V1 X4 &c1 E1 Q0"))
        assert code == abort_code("NO ANSWER") and f.modem_said == "NO ANSWER"


def test_no_dialtone(tmp_path: Path) -> None:
    with phone_line(dead=(CALLER,)) as line:
        code, f = run_chat(line.caller_port, script(tmp_path))
        assert code == abort_code("NO DIALTONE")
        assert "no dial tone" in pppd_log.explain(8, f, ppp.kernel_ppp)
