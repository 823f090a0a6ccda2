"""The phone-line simulator over real ptys: minicom-like sessions, calls, hang-ups."""

from __future__ import annotations

import os
import random
import termios
import threading
from pathlib import Path

import pytest

from dialup_admin.errors import UserError
from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal

GUIDE_INIT = "AT S7=45 S0=0 L1 V1 X4 &c1 E1 Q0"


@pytest.fixture
def line(tmp_path: Path):  # type: ignore[no-untyped-def]
    with PhoneLine({"11": tmp_path / "ttyV0", "12": tmp_path / "ttyV1", "13": None}, ring_interval=0.3) as pl:
        yield pl


def call(line: PhoneLine, caller: Terminal, callee: Terminal) -> None:
    """12 dials 11, 11 answers: both get CONNECT."""
    caller.type("ATDT11")
    callee.expect("RING")
    callee.command("ATA", "CONNECT 33600")
    caller.expect("CONNECT 33600")


def test_ports_are_symlinks_to_ptys_and_go_away(tmp_path: Path) -> None:
    with PhoneLine({"11": tmp_path / "ttyV0", "12": None}) as pl:
        assert os.readlink(tmp_path / "ttyV0") == pl.pty("11")
        assert pl.port("12") == pl.pty("12") and pl.pty("12").startswith("/dev/pts/")
        assert pl.ports == {"11": str(tmp_path / "ttyV0"), "12": pl.pty("12")}
    assert not os.path.lexists(tmp_path / "ttyV0")


def test_refuses_to_replace_a_real_file(tmp_path: Path) -> None:
    (tmp_path / "ttyV0").write_text("mine")
    with pytest.raises(UserError, match="not a symlink"):
        PhoneLine({"11": tmp_path / "ttyV0"}).start()
    assert (tmp_path / "ttyV0").read_text() == "mine"


def test_minicom_session_from_the_guide(line: PhoneLine) -> None:
    with Terminal(line.port("11")) as t:
        got = t.command(GUIDE_INIT)
        assert got.startswith(GUIDE_INIT.encode() + b"\r")  # E1: echoed as typed
        t.command("ATX")
        t.command("ATDT0123456789", "NO CARRIER")  # not on our line; X0 reports BUSY as NO CARRIER
        t.command("ATX4")
        t.command("ATDT0123456789", "BUSY")
        assert b"simulated modem" in t.command("ATI3")
        t.command("ATS7?")
        t.command("ATV0", "0")
        t.command("AT+NOPE", "4")
        t.command("ATV1")
        t.command("ATE0")
        t.type("AT")
        assert t.expect(rb"OK\r\n").strip() == b"OK"  # no echo any more


def test_call_data_escape_online_and_hangup(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        caller.command("ATZ")
        callee.command("ATZ")
        call(line, caller, callee)
        assert line.state("11") == line.state("12") == "online"
        caller.send(b"hello server\r\n")
        callee.expect("hello server\r\n")
        callee.send(b"login: ")
        caller.expect("login: ")
        # +++ with guard times: command mode, the call stays up.
        threading.Event().wait(1.1)
        caller.send(b"+++")
        caller.expect(rb"\r\nOK\r\n", timeout=5)
        assert line.state("12") == "online-command"
        caller.command("ATI0")  # commands work in the middle of a call
        caller.command("ATO", "CONNECT 33600")
        caller.send(b"back")
        callee.expect("back")
        threading.Event().wait(1.1)
        caller.send(b"+++")
        caller.expect(rb"\r\nOK\r\n", timeout=5)
        caller.command("ATH0")
        callee.expect("NO CARRIER")
        assert line.state("11") == line.state("12") == "idle"
        callee.command("AT")  # back in command mode


def test_binary_data_passes_unchanged_both_ways(line: PhoneLine) -> None:
    payload = random.Random(4).randbytes(200_000)
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        call(line, caller, callee)
        # The whole byte range, including '+', CR, XON/XOFF and 0x7e (PPP flags).
        for src, dst in ((caller, callee), (callee, caller)):
            writer = threading.Thread(target=lambda s=src: os.write(s.fd, payload) and None)
            writer.start()
            assert dst.read_exactly(len(payload)) == payload
            writer.join()


def test_auto_answer_after_s0_rings(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        callee.command("ATS0=2")
        caller.type("ATDT11")
        callee.expect("RING")
        callee.expect("RING")
        callee.expect("CONNECT 33600")
        caller.expect("CONNECT 33600")
        assert "11 RING 2" in line.events


def test_no_answer_after_s7(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        caller.command("ATS7=1")
        caller.type("ATDT11")
        callee.expect("RING")
        caller.expect("NO ANSWER", timeout=5)
        line.wait_for("11 ringing stopped")
        assert line.state("11") == "idle"
        callee.command("ATA", "NO CARRIER")  # too late


def test_busy_when_in_a_call_or_not_there(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        caller.command("ATDT13", "BUSY")  # nobody has 13's port open
        caller.command("ATDT99", "BUSY")  # no such number
        caller.command("ATDT12", "BUSY")  # ourselves
        call(line, caller, callee)
        with Terminal(line.port("13")) as third:
            third.command("ATDT11", "BUSY")


def test_no_dialtone_on_a_dead_line(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")):
        line.set_dead("12")
        caller.command("ATDT11", "NO DIALTONE")
        caller.command("ATX3")
        caller.command("ATDT11", "NO CARRIER")  # blind dialing: no dial tone check
        line.set_dead("12", False)
        caller.command("ATS7=1")
        caller.command("ATDT11", "NO ANSWER", timeout=5)


def test_closing_the_port_hangs_up_and_the_other_side_gets_no_carrier(line: PhoneLine) -> None:
    callee = Terminal(line.port("11"))
    with Terminal(line.port("12")) as caller:
        call(line, caller, callee)
        n = len(line.events)
        callee.close()  # mgetty's pppd exits: the port closes
        caller.expect("NO CARRIER")
        line.wait_for("11 port closed", since=n)
        # mgetty is respawned: the port is opened again and the modem answers.
        with Terminal(line.port("11")) as again:
            again.command("AT")
            assert line.state("11") == "idle"
            call(line, caller, again)


def test_characters_while_dialing_abort_the_call(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        caller.type("ATDT11")
        callee.expect("RING")
        caller.send(b"x")
        caller.expect("NO CARRIER")
        line.wait_for("11 ringing stopped")


def test_dtr_drop_with_speed_b0_hangs_up(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        call(line, caller, callee)
        attrs = termios.tcgetattr(caller.fd)
        low = list(attrs)
        low[4] = low[5] = termios.B0
        termios.tcsetattr(caller.fd, termios.TCSANOW, low)  # how mgetty toggles DTR
        callee.expect("NO CARRIER")
        termios.tcsetattr(caller.fd, termios.TCSANOW, attrs)
        caller.command("AT")


def test_numeric_connect_code_with_v0(line: PhoneLine) -> None:
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        caller.command("ATV0", "0")
        caller.type("ATDT11")
        callee.expect("RING")
        callee.command("ATA", "CONNECT 33600")
        caller.expect(rb"84\r")


def test_pppd_style_open_close_reopen(line: PhoneLine) -> None:
    """pppd opens O_NONBLOCK, sets its termios, closes and reopens the port; the simulator
    follows every open and close without losing or inventing bytes."""
    port = line.port("11")
    for _ in range(5):
        n = len(line.events)
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        attrs = termios.tcgetattr(fd)
        attrs[2] |= termios.CRTSCTS | termios.HUPCL | termios.CLOCAL
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        line.wait_for("11 port opened", since=n)
        os.write(fd, b"AT\r")  # answered, but the answer is not left for the next user
        os.close(fd)
        line.wait_for("11 port closed", since=n)
    with Terminal(port) as t:
        got = t.command("AT")
        assert got == b"AT\r\r\nOK\r"  # nothing left over from the earlier opens


def test_throttled_line_delivers_everything(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 8
    with PhoneLine({"11": None, "12": None}, bps=57600, ring_interval=0.2) as pl:
        with Terminal(pl.port("12")) as caller, Terminal(pl.port("11")) as callee:
            caller.type("ATDT11")
            callee.expect("RING")
            callee.command("ATA", "CONNECT 57600")
            caller.expect("CONNECT 57600")
            os.write(caller.fd, payload)
            assert callee.read_exactly(len(payload)) == payload


def test_a_cooked_port_with_echo_does_not_start_an_echo_war(line: PhoneLine) -> None:
    """A login session on the answering port leaves ECHO on: the carrier-loss message
    the simulator writes is echoed back to it; it must not answer that forever."""
    with Terminal(line.port("12")) as caller, Terminal(line.port("11")) as callee:
        call(line, caller, callee)
        attrs = termios.tcgetattr(callee.fd)
        attrs[3] |= termios.ECHO | termios.ICANON
        termios.tcsetattr(callee.fd, termios.TCSANOW, attrs)
        caller.close()
        line.wait_for("11 NO CARRIER")
        threading.Event().wait(0.5)
        n = len(line.events)
        threading.Event().wait(0.5)
        assert line.events[n:] == []
        assert line._modems["11"].bytes_out < 200  # noqa: SLF001 - no endless echo traffic


def test_carrier_loss_hangs_up_the_session_like_a_serial_port(line: PhoneLine, tmp_path: Path) -> None:
    """pppd on the answering side (no 'local': CLOCAL off, the port its controlling tty)
    gets SIGHUP when the caller hangs up, as the kernel does on a real DCD drop."""
    import subprocess
    import sys

    script = tmp_path / "session.py"
    script.write_text(
        "import os, signal, sys, termios, time, tty\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)  # no O_NOCTTY: becomes our controlling tty\n"
        "tty.setraw(fd)\n"
        "a = termios.tcgetattr(fd); a[2] &= ~termios.CLOCAL; termios.tcsetattr(fd, termios.TCSANOW, a)\n"
        "signal.signal(signal.SIGHUP, lambda *_: (print('SIGHUP', flush=True), os._exit(0)))\n"
        "os.write(fd, b'ATS0=1\\r')\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script), line.port("11")], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        with Terminal(line.port("12")) as caller:
            caller.type("ATDT11")
            caller.expect("CONNECT 33600")
        assert proc.stdout.readline() == b"SIGHUP\n"
        assert proc.wait(10) == 0
        line.wait_for("11 SIGHUP to the port's session")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
